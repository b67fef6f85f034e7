import { z } from 'zod';
import { TRIAGE_ACTIONS, VERDICTS } from '@tokenwatch/shared/alerts/alert';

/**
 * What the alert page sends to act on an alert. The actor is never part of it: it is the
 * signed-in user. The triage rules themselves (which status allows which action, the note's
 * and the suppression's bounds) are the detector's (triage/triage.ts), applied by `triage`.
 */
export const actionBodySchema = z.strictObject({
  action: z.enum(TRIAGE_ACTIONS),
  note: z.string().max(2_000, 'the note is longer than 2,000 characters').default(''),
  verdict: z.enum(VERDICTS).optional(),
  suppress_for_ms: z.number().int().positive().optional(),
  only_this_key: z.boolean().optional(),
});
export type ActionBody = z.output<typeof actionBodySchema>;

/** One triage action as the detector takes it (the server passes triageAlert on its own client). */
export type TriageAction = (request: ActionBody & { alert_id: string; actor: string }) => Promise<unknown>;

/** Precision per finding from the verdicts (the server passes the detector's query: `tokenwatch report`'s). */
export type ReadPrecision = (since: number) => Promise<unknown[]>;
