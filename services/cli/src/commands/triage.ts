import { z } from 'zod';
import { VERDICTS } from '@tokenwatch/shared/alerts/alert';
import {
  actorSchema,
  alertIdSchema,
  MAX_SUPPRESSION_MS,
  MIN_SUPPRESSION_MS,
  noteSchema,
  type TriageRequest,
  type TriageResult,
} from '@tokenwatch/detector/triage/triage';
import { operatorAction } from '@tokenwatch/server/operator';
import { durationFlag, parseFlags } from '../flags.js';
import { operatorName } from '../operator.js';
import type { CommandContext } from '../run.js';

export type TriageVerb = 'ack' | 'resolve' | 'suppress' | 'verdict';

const verdictFlag = z.enum(VERDICTS, { error: `expected ${VERDICTS.join(', ')}` });

const triageFlags = (verb: TriageVerb) =>
  z.object({
    id: alertIdSchema,
    user: actorSchema.optional(),
    note: noteSchema.optional(),
    // Required by `alerts verdict`; any other action may record one too.
    verdict: verb === 'verdict' ? verdictFlag : verdictFlag.optional(),
    for: durationFlag
      .pipe(z.number().min(MIN_SUPPRESSION_MS, 'a suppression lasts at least 10s').max(MAX_SUPPRESSION_MS, 'a suppression lasts at most 90d'))
      .optional(),
    onlyThisKey: z.boolean().optional(),
  });

const PAST: Record<TriageVerb, string> = { ack: 'acknowledged', resolve: 'resolved', suppress: 'suppressed', verdict: 'recorded a verdict on' };

/**
 * `tokenwatch alerts ack|resolve|suppress|verdict <alert_id> [--user <name>] [--note <text>]
 * [--verdict true_positive|benign|needs_tuning] [--for 7d] [--only-this-key]`: one triage
 * action (services/detector/src/triage/triage.ts), through the running process when it holds
 * the embedded data directory, otherwise written directly. Prints one line on stderr.
 */
export async function alertsTriageCommand({ settings, logger }: CommandContext, verb: TriageVerb, id: string, flags: object): Promise<void> {
  const options = parseFlags(triageFlags(verb), { ...flags, id });
  const common = {
    alert_id: options.id,
    actor: options.user ?? operatorName(),
    ...(options.note === undefined ? {} : { note: options.note }),
    ...(options.verdict === undefined ? {} : { verdict: options.verdict }),
  };
  let triage: TriageRequest;
  if (verb === 'suppress') {
    triage = { action: 'suppress', ...common, suppress_for_ms: options.for ?? 0, only_this_key: options.onlyThisKey ?? false };
  } else if (verb === 'verdict' && options.verdict !== undefined) {
    triage = { action: 'verdict', ...common, verdict: options.verdict };
  } else if (verb !== 'verdict') {
    triage = { action: verb, ...common };
  } else {
    throw new Error('alerts verdict: the flag schema requires --verdict');
  }
  const result = await operatorAction(settings, logger, { action: 'alert_triage', triage });
  if (!('triaged' in result)) throw new Error(`alerts ${verb}: unexpected answer`);
  process.stderr.write(`${describe(verb, result.triaged)}\n`);
}

function describe(verb: TriageVerb, result: TriageResult): string {
  const what = `${result.finding} alert ${result.alert_id} (client ${result.client_id} in ${result.tenant})`;
  const verdict = result.verdict ? `; verdict ${result.verdict}` : '';
  const until = result.suppressed_until === null ? '' : `; ${result.finding} is suppressed for the client until ${new Date(result.suppressed_until).toISOString()}`;
  return `${result.triaged_by} ${PAST[verb]} ${what}: now ${result.status}${verdict}${until}`;
}
