import { hostname, userInfo } from 'node:os';

/** Who runs the command, as watches and triage actions record it: the operating-system user and host. */
export function operatorName(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container with an arbitrary uid): the host still says something.
  }
  return `${user}@${hostname()}`.slice(0, 256);
}
