export { createConsoleApp, type ConsoleApp, type ConsoleOptions } from './console-app.js';
export { loadConsoleKey } from './auth/console-key.js';
export { signLoginToken, userNameSchema, LOGIN_TOKEN_TTL_MS } from './auth/login-token.js';
