/**
 * The log formats tokenwatch reads. `canonical` is TokenRequest v1 JSON itself. The list is
 * shared because settings (TOKENWATCH_FORMAT) and the CLI (`import --format`) validate against
 * it; each format's adapter lives in services/ingest/src/formats/.
 */
export const FORMAT_NAMES = ['canonical', 'okta', 'auth0', 'entra', 'keycloak', 'cognito', 'oidc-provider'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];
