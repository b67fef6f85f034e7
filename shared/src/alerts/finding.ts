import type { z } from 'zod';
import type { AlertDraft, StoredAlert } from './alert.js';
import { readEvidence, readUntypedEvidence, type EvidenceField, type EvidenceSchema } from './evidence.js';

/**
 * A finding: one kind of alert a detector raises (`jti_replay`, `mint_volume`, …), with the
 * schema of its evidence. A detector declares its findings in its own folder and builds
 * drafts through them, so evidence is typed by the schema; the detector package's
 * findings.ts collects them into the one catalog that validates drafts and stored rows and
 * that the notifier renders and routes by.
 */
export interface Finding<N extends string = string, S extends EvidenceSchema = EvidenceSchema> {
  readonly name: N;
  readonly evidence: S;
  /**
   * Whose requests the finding is about: one client's, or every client's in the tenant (a
   * jti shared between clients). The investigation query follows it.
   */
  readonly scope: 'client' | 'tenant';
  /** A draft of this finding; its evidence is typed by the schema. */
  draft(fields: FindingDraft<S>): AlertDraft;
}

export type FindingDraft<S extends EvidenceSchema> = Omit<AlertDraft, 'finding' | 'evidence'> & { readonly evidence: z.input<S> };

export function defineFinding<const N extends string, S extends EvidenceSchema>(
  name: N,
  evidence: S,
  options: { scope?: 'client' | 'tenant' } = {},
): Finding<N, S> {
  return {
    name,
    evidence,
    scope: options.scope ?? 'client',
    draft: (fields) => ({ ...fields, finding: name, evidence: fields.evidence as Record<string, unknown> }),
  };
}

/** A stored alert's evidence as its finding describes it, or why it could not be read so. */
export type ReadAlert =
  | { readonly ok: true; readonly finding: Finding; readonly evidence: readonly EvidenceField[] }
  | { readonly ok: false; readonly problem: string; readonly finding?: Finding; readonly evidence: readonly EvidenceField[] };

export interface FindingCatalog {
  readonly findings: readonly Finding[];
  readonly names: readonly string[];
  get(name: string): Finding | undefined;
  /** The draft with its evidence parsed by its finding's schema; throws naming the finding and key. */
  checkDraft(draft: AlertDraft): AlertDraft;
  /**
   * A stored alert read against its finding. Never throws: an unknown finding or evidence the
   * schema refuses (a row written by another version) comes back with the problem and the
   * evidence as it is, so the alert is still shown.
   */
  read(alert: Pick<StoredAlert, 'finding' | 'evidence'>): ReadAlert;
}

/** Evidence that breaks its schema, as one line: `uses.0.time: Invalid ISO datetime; …`. */
export function evidenceProblem(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(evidence)'}: ${issue.message}`)
    .join('; ');
}

export function findingCatalog(findings: readonly Finding[]): FindingCatalog {
  const byName = new Map<string, Finding>();
  for (const finding of findings) {
    if (byName.has(finding.name)) throw new Error(`finding ${finding.name} is declared twice`);
    byName.set(finding.name, finding);
  }
  const names = [...byName.keys()];
  const unknown = (name: string) => `unknown finding ${JSON.stringify(name)} (known: ${names.join(', ')})`;
  return {
    findings,
    names,
    get: (name) => byName.get(name),
    checkDraft(draft) {
      const finding = byName.get(draft.finding);
      if (!finding) throw new Error(`alert draft refused: ${unknown(draft.finding)}`);
      const parsed = finding.evidence.safeParse(draft.evidence);
      if (!parsed.success) throw new Error(`alert draft refused: ${draft.finding} evidence is invalid at ${evidenceProblem(parsed.error)}`);
      return { ...draft, evidence: parsed.data };
    },
    read(alert) {
      const finding = byName.get(alert.finding);
      if (!finding) return { ok: false, problem: unknown(alert.finding), evidence: readUntypedEvidence(alert.evidence) };
      const parsed = finding.evidence.safeParse(alert.evidence);
      if (!parsed.success) {
        return { ok: false, problem: `${alert.finding} evidence does not match its schema at ${evidenceProblem(parsed.error)}`, finding, evidence: readUntypedEvidence(alert.evidence) };
      }
      return { ok: true, finding, evidence: readEvidence(finding.evidence, parsed.data) };
    },
  };
}
