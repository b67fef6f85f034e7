/** Traffic the demo feeds into the topic, simulated or from a real IdP's log. */
export interface TrafficTask {
  /** Settles when the traffic ends (aborted, or failed: then with the reason). */
  readonly done: Promise<void>;
  /** Messages published so far, for the status line (the Keycloak demo reads its follower's counter). */
  produced(): Promise<number>;
}
