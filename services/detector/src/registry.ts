import type { Detector } from './detector.js';
import { jtiReplay } from './detectors/jti-replay/index.js';
import { dormantClient } from './detectors/dormant-client/index.js';
import { createMintVolume } from './detectors/mint-volume/index.js';
import { secretNewLocation } from './detectors/secret-new-location/index.js';
import { unknownClient } from './detectors/unknown-client/index.js';

/** Every detector, in the order a tick runs them. mint_volume keeps a baseline cache, hence a factory. */
export function createDetectors(): Detector[] {
  return [jtiReplay, createMintVolume(), secretNewLocation, dormantClient, unknownClient];
}

/** The detectors' names (`tokenwatch detect --detector`), from the detectors themselves. */
export const DETECTOR_NAMES: readonly string[] = createDetectors().map((detector) => detector.name);
