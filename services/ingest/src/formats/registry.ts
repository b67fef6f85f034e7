import { auth0Format } from './auth0.js';
import { canonicalFormat } from './canonical.js';
import { cognitoFormat } from './cognito.js';
import { entraFormat } from './entra.js';
import { keycloakFormat } from './keycloak.js';
import { oidcProviderFormat } from './oidc-provider.js';
import { oktaFormat } from './okta.js';
import type { FormatAdapter } from './types.js';

/**
 * Every format tokenwatch reads, in auto-detection order. Canonical comes first: its test
 * (event_id and idp keys) is the cheapest and matches no vendor's records. Each vendor's
 * `matches` keys on fields only that vendor writes, so the order among them does not matter.
 */
export const FORMATS: readonly FormatAdapter[] = [
  canonicalFormat,
  oktaFormat,
  auth0Format,
  entraFormat,
  keycloakFormat,
  cognitoFormat,
  oidcProviderFormat,
];
