/** Traffic the demo feeds into the topic, simulated or from a real IdP's log. */
export interface TrafficTask {
  /** Settles when the traffic ends (aborted, or failed: then with the reason). */
  readonly done: Promise<void>;
  /** Messages published so far, for the status line (the Keycloak demo reads its follower's counter). */
  produced(): Promise<number>;
  /** The history back-fill's progress on the producing side; undefined when there is none. */
  backfill?(): BackfillProgress | undefined;
}

export interface BackfillProgress {
  /** Event time the history starts at and the live part starts at (epoch ms). */
  readonly historyStart: number;
  readonly liveStart: number;
  /** Requests stored before the back-fill began (an earlier run's, when it fills a gap): not counted as its progress. */
  readonly storedBefore: number;
  /** Events in the whole back-fill: an estimate from the population's mean rate until `complete`, then the exact count. */
  readonly expected: number;
  /** Whether every history event has been published. */
  readonly complete: boolean;
  /** Set while the back-fill waits for the detectors to examine its first part: how much history that is (ms). */
  readonly examiningFirstMs?: number;
  /** When the bulk of the back-fill began (epoch ms) and how much history was stored then (ms): the ETA's pace. */
  readonly pace?: { readonly since: number; readonly coveredMs: number };
}
