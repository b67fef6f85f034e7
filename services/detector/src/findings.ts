import { findingCatalog } from '@tokenwatch/shared/alerts/finding';
import { createDetectors } from './registry.js';

/**
 * The one list of findings: what each detector declares (detectors/<name>/findings.ts),
 * collected here. It validates drafts before they are stored and alert rows read back, the
 * notifier routes and renders by it, and a route naming a finding not in it is a
 * configuration error.
 */
export const FINDINGS = findingCatalog(createDetectors().flatMap((detector) => detector.findings));
