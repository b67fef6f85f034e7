import { findingCatalog } from '@tokenwatch/shared/alerts/finding';
import { createDetectors } from './registry.js';
import { IOC_MATCH } from './sweep/findings.js';

/**
 * The one list of findings: what each detector declares (detectors/<name>/findings.ts),
 * collected here, with ioc_match, which `tokenwatch sweep --alert` raises (sweep/findings.ts). It validates drafts before they are stored and alert rows read back, the
 * notifier routes and renders by it, and a route naming a finding not in it is a
 * configuration error.
 */
export const FINDINGS = findingCatalog([...createDetectors().flatMap((detector) => detector.findings), IOC_MATCH]);
