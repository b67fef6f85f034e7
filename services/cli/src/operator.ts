import { hostname, userInfo } from 'node:os';

/** The operating-system user running the command, or undefined without a passwd entry (a container with an arbitrary uid). */
export function osUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Who runs the command, as the watch list records it: the operating-system user and host. */
export function operator(): string {
  return `${osUserName() ?? 'unknown'}@${hostname()}`.slice(0, 256);
}
