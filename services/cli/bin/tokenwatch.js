#!/usr/bin/env node
// The compiled entry point; `npm install` at the repository root builds it (the prepare script).
import '../dist/main.js';
