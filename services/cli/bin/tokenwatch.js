#!/usr/bin/env node
// The Node.js entry point, compiled by `npm install` at the repository root (the prepare script).
// The `tokenwatch` command is bin/tokenwatch, which gives the always-on commands their memory
// settings and then runs this file; `node tokenwatch.js` directly runs without them.
import '../dist/main.js';
