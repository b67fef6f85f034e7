import type { Detector } from './detector.js';
import { jtiReplay } from './detectors/jti-replay/index.js';
import { dormantClient } from './detectors/dormant-client/index.js';
import { createMintVolume } from './detectors/mint-volume/index.js';
import { secretNewLocation } from './detectors/secret-new-location/index.js';
import { unknownClient } from './detectors/unknown-client/index.js';
import { watchedCredential } from './detectors/watched-credential/index.js';
import { newScope } from './detectors/new-scope/index.js';
import { newUserAgent } from './detectors/new-user-agent/index.js';
import { createConcurrentNetworks } from './detectors/concurrent-networks/index.js';
import { newCredential } from './detectors/new-credential/index.js';
import { staleCredential } from './detectors/stale-credential/index.js';

/**
 * Every detector, in the order a tick runs them (watched_credential first: its alerts are the
 * most urgent and its query the cheapest). mint_volume and concurrent_networks keep caches, hence factories.
 */
export function createDetectors(): Detector[] {
  return [watchedCredential, jtiReplay, createMintVolume(), secretNewLocation, dormantClient, unknownClient, newScope, newUserAgent, createConcurrentNetworks(), newCredential, staleCredential];
}

/** The detectors' names (`tokenwatch detect --detector`), from the detectors themselves. */
export const DETECTOR_NAMES: readonly string[] = createDetectors().map((detector) => detector.name);
