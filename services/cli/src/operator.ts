import { hostname, userInfo } from 'node:os';

/** The operating-system user running the command, or undefined without a passwd entry (a container with an arbitrary uid). */
export function osUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Who runs the command, as watches and triage actions record it: the operating-system user and host. */
export function operatorName(): string {
  return `${osUserName() ?? 'unknown'}@${hostname()}`.slice(0, 256);
}
