/**
 * Sensitive-scope patterns (config: new_scope.sensitive_scopes): an exact value where `*`
 * stands for any run of characters, compared case-insensitively (Graph permission names are
 * case-insensitive; an Okta or Auth0 scope differing only in case is no less sensitive).
 *
 * Compiled to literal pieces and matched by a left-to-right scan: the first piece must start
 * the value, the last end it, the middle ones follow in order, each at its leftmost place.
 * Leftmost is always right for `*`-only globs, so the scan never backtracks: O(pieces x length)
 * per value, whatever the pattern. No regular expression is built from configuration.
 */
export class SensitiveScopes {
  private readonly patterns: ReadonlyArray<{ readonly pattern: string; readonly pieces: readonly string[] }>;

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map((pattern) => ({ pattern, pieces: pattern.toLowerCase().split('*') }));
  }

  /** The first pattern `value` matches, if any. */
  match(value: string): string | undefined {
    const lower = value.toLowerCase();
    return this.patterns.find(({ pieces }) => globMatches(pieces, lower))?.pattern;
  }
}

/** `pieces`: the pattern split at each `*` (one piece: no wildcard). */
export function globMatches(pieces: readonly string[], value: string): boolean {
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return value === first;
  const last = pieces[pieces.length - 1] ?? '';
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const until = value.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] ?? '';
    const found = value.indexOf(piece, at);
    if (found < 0 || found + piece.length > until) return false;
    at = found + piece.length;
  }
  return true;
}
