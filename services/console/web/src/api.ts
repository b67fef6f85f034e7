// The console's JSON API (services/console/src/console-app.ts), from the page's side.

export interface Alert {
  alert_id: string;
  finding: string;
  severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
  tenant: string;
  client_id: string;
  client_name: string;
  alert_key: string;
  first_seen: number;
  last_seen: number;
  event_count: number;
  summary: string;
  evidence: Record<string, unknown>;
  event_ids: string[];
  owner: string;
  team: string;
  status: string;
  triage_action: string;
  triaged_by: string;
  triaged_at: number;
  triage_note: string;
  verdict: string;
  created_at: number;
  updated_at: number;
}

export interface FindingCount {
  finding: string;
  alerts: number;
  firing: number;
}

export interface AlertEvent {
  event_id: string;
  time: number;
  idp: string;
  auth_method: string;
  credential_id: string;
  outcome: string;
  error_code: string;
  source_ip: string;
  user_agent: string;
  scopes: string[];
  assertion_jti: string;
  country: string;
  asn: number;
  as_org: string;
}

export interface ClientActivity {
  hours: number[];
  successes: number[];
  failures: number[];
}

export interface AlertDetail {
  alert: Alert;
  activity: ClientActivity;
  events: AlertEvent[];
  query: { sql: string; params: Record<string, unknown> };
}

export interface Session {
  user: string;
  csrf: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': csrf },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const payload = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new ApiError(response.status, payload.error ?? `${response.status} ${response.statusText}`);
  return payload as T;
}

export async function currentSession(): Promise<Session | undefined> {
  try {
    const session = await call<Session>('GET', '/api/session');
    csrf = session.csrf;
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

/** The ways in besides a one-time link: `idp` is the host of the team's IdP when OpenID Connect sign-in is configured. */
export function signInMethods(): Promise<{ idp: string | null }> {
  return call('GET', '/api/sign-in-methods');
}

export async function signIn(token: string): Promise<Session> {
  const session = await call<Session>('POST', '/api/login', { token });
  csrf = session.csrf;
  return session;
}

export async function signOut(): Promise<void> {
  await call('POST', '/api/logout', {});
  csrf = '';
}

export type FeedFilter = Partial<Record<'status' | 'severity' | 'finding' | 'tenant' | 'client' | 'owner', string>>;

export function readFeed(filter: FeedFilter): Promise<{ alerts: Alert[]; counts: FindingCount[] }> {
  const query = new URLSearchParams(Object.entries(filter).filter(([, value]) => value));
  return call('GET', `/api/alerts?${query}`);
}

export function readAlert(id: string): Promise<AlertDetail> {
  return call('GET', `/api/alerts/${encodeURIComponent(id)}`);
}

export type { GridRow, Picture } from '../../src/api/pictures/kinds.js';

/** The picture that fits the alert's finding (services/console/src/api/pictures/kinds.ts). */
export function readPicture(id: string): Promise<import('../../src/api/pictures/kinds.js').Picture> {
  return call('GET', `/api/alerts/${encodeURIComponent(id)}/picture`);
}

export interface QueryTable {
  columns: string[];
  types: string[];
  rows: unknown[][];
  truncated: boolean;
}

export function runQuery(query: string, params: Record<string, string>): Promise<QueryTable> {
  return call('POST', '/api/sql', { query, params });
}

/** The whole result as CSV (a POST: it carries the CSRF token), saved through a download link. */
export async function downloadCsv(query: string, params: Record<string, string>): Promise<void> {
  const response = await fetch('/api/sql.csv', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify({ query, params }),
  });
  if (!response.ok) {
    const payload = (await response.json().catch(() => ({}))) as { error?: string };
    throw new ApiError(response.status, payload.error ?? `${response.status} ${response.statusText}`);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = 'tokenwatch-query.csv';
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

interface Span {
  first_ms: number;
  last_ms: number;
}

export interface ClientStory extends Span {
  tenant: string;
  client_id: string;
  client_name: string;
  owner: { owner: string; team: string; slack_channel: string; criticality: string } | null;
  activity: ClientActivity;
  credentials: Array<Span & { auth_method: string; credential_id: string; requests: number; failures: number; asns: number[] }>;
  networks: Array<Span & { asn: number; as_org: string; country: string; hosting_provider: string; requests: number; failures: number; networks: number }>;
  scopes: Array<Span & { kind: 'scope' | 'audience'; value: string; example: string; requests: number }>;
  user_agents: Array<Span & { kind: 'user_agent_family'; value: string; example: string; requests: number }>;
  alerts: Array<Span & { alert_id: string; finding: string; severity: string; status: string; summary: string }>;
}

export function readClient(tenant: string, client: string): Promise<ClientStory> {
  return call('GET', `/api/client?${new URLSearchParams({ tenant, client })}`);
}

export function clientHref(tenant: string, client: string): string {
  return `/client?${new URLSearchParams({ tenant, client })}`;
}

export type ActionName = 'ack' | 'resolve' | 'suppress' | 'verdict';
export type Verdict = 'true_positive' | 'benign' | 'needs_tuning';

export interface ActionRequest {
  action: ActionName;
  note?: string;
  verdict?: Verdict;
  suppress_for_ms?: number;
  only_this_key?: boolean;
}

export function actOnAlert(id: string, request: ActionRequest): Promise<unknown> {
  return call('POST', `/api/alerts/${encodeURIComponent(id)}/actions`, request);
}

export interface PrecisionRow {
  finding: string;
  alerts: number;
  true_positive: number;
  benign: number;
  needs_tuning: number;
  without_verdict: number;
  precision: number | null;
}

export function readPrecision(days: number): Promise<{ days: number; findings: PrecisionRow[] }> {
  return call('GET', `/api/precision?days=${days}`);
}

export interface Health {
  at: number;
  ingest: { stored: number; deadLettered: number; consumed: number };
  consumerLag: Record<string, number>;
  watermarkAgeSeconds: Record<string, number>;
  notifierPending: Record<string, number>;
}

export function readHealth(): Promise<Health> {
  return call('GET', '/api/health');
}

/** Calls `onChange` whenever alerts change (server-sent events); returns the unsubscribe. */
export function watchAlerts(onChange: () => void): () => void {
  const source = new EventSource('/api/alerts/stream');
  source.addEventListener('alerts', () => onChange());
  return () => source.close();
}
