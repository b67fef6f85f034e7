import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { openEnricher, type Enricher, type LookupResult } from '@tokenwatch/ingest/enrich/enricher';
import { tokenRequestSchema, type TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage } from '@tokenwatch/ingest/decode';
import { ALL_NETWORKS } from '@tokenwatch/simulator/networks';
import { userAgentFamily } from '@tokenwatch/shared/user-agent-family';
import { ATTACK_KINDS, liveTraffic, renderNative, simulate, type AttackLabel, type Simulation } from '@tokenwatch/simulator/index';

/**
 * The simulator: deterministic, valid, time-ordered traffic whose benign part never looks like
 * an attack, with every injected attack labeled, rendered natively so the adapters read it back,
 * and geo that matches the offline enrichment of the addresses it uses.
 */

const START = Date.UTC(2026, 0, 5);
const OPTIONS = { seed: 7, start: START, days: 9, clients: 80 } as const;
const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret', 'unknown']);
const BUCKET = 5 * 60_000;

let sim: Simulation;
let events: TokenRequestInput[];
let attackIds: Set<string>;
let byId: Map<string, TokenRequestInput>;
let enricher: Enricher;

beforeAll(async () => {
  sim = simulate(OPTIONS);
  events = [...sim.events];
  // Originals of replayed assertions are benign requests that a label also lists.
  const originals = new Set(sim.labels.filter((label) => label.kind.startsWith('replay')).map((label) => label.event_ids[0]));
  attackIds = new Set(sim.labels.flatMap((label) => label.event_ids).filter((id) => !originals.has(id)));
  byId = new Map(events.map((event) => [event.event_id, event]));
  enricher = await openEnricher();
});

const benign = () => events.filter((event) => !attackIds.has(event.event_id));
const labelOf = (kind: string): AttackLabel => {
  const label = sim.labels.find((candidate) => candidate.kind === kind);
  if (!label) throw new Error(`no ${kind} label`);
  return label;
};
const attackEvents = (label: AttackLabel) => label.event_ids.map((id) => byId.get(id) as TokenRequestInput).filter((event) => attackIds.has(event.event_id));
const lookup = (ip: string): LookupResult => enricher.lookup(ip);

function digest(stream: Iterable<TokenRequestInput>): string {
  const hash = createHash('sha256');
  for (const event of stream) hash.update(JSON.stringify(event));
  return hash.digest('hex');
}

describe('simulate', () => {
  it('gives the same events and labels for the same seed, and others for another seed', () => {
    const again = simulate(OPTIONS);
    expect(digest(again.events)).toBe(digest(events));
    expect(again.labels).toEqual(sim.labels);
    const oneDay = { ...OPTIONS, days: 1, attacks: 'none' } as const;
    expect(digest(simulate({ ...oneDay, seed: 8 }).events)).not.toBe(digest(simulate(oneDay).events));
  });

  it('emits valid, time-ordered events with unique sim-<seed>-<n> ids', () => {
    expect(events.length).toBeGreaterThan(100_000);
    // Plain checks in the loops: an expect() per event would dominate the test's run time.
    let previous = -Infinity;
    for (const [n, event] of events.entries()) {
      if (event.event_id !== `sim-7-${n}`) throw new Error(`event ${n} has id ${event.event_id}`);
      if ((event.time as number) < previous) throw new Error(`event ${n} goes back in time`);
      previous = event.time as number;
    }
    // Every attack event and a systematic sample of the rest through the schema.
    const sample = events.filter((event, n) => n % 5 === 0 || attackIds.has(event.event_id));
    for (const event of sample) {
      const parsed = tokenRequestSchema.safeParse(event);
      if (!parsed.success) throw new Error(`${JSON.stringify(event)}: ${JSON.stringify(parsed.error.issues)}`);
    }
    expect(new Set(events.map((event) => event.idp))).toEqual(new Set(['okta', 'auth0', 'entra', 'keycloak', 'oidc-provider']));
  });

  it('labels one attack of every kind, after 8 days, on distinct clients and times, with existing events', () => {
    expect(sim.labels.map((label) => label.kind).sort()).toEqual([...ATTACK_KINDS].sort());
    expect(new Set(sim.labels.map((label) => label.client_id)).size).toBe(sim.labels.length);
    for (const label of sim.labels) {
      expect(label.start).toBeGreaterThanOrEqual(START + 8 * 86_400_000);
      expect(label.end).toBeGreaterThanOrEqual(label.start);
      expect(label.event_ids.length).toBeGreaterThan(0);
      for (const id of label.event_ids) {
        const event = byId.get(id);
        expect(event?.client_id).toBe(label.client_id);
        expect(event?.tenant).toBe(label.tenant);
      }
      for (const other of sim.labels) if (other !== label) expect(other.start > label.end || other.end < label.start).toBe(true);
    }
    expect(Object.fromEntries(sim.labels.map((label) => [label.kind, label.finding]))).toEqual({
      replay_accepted: 'jti_replay',
      replay_rejected: 'jti_replay',
      secret_new_country: 'secret_new_location',
      secret_new_asn: 'secret_new_location',
      mint_burst: 'mint_volume',
      invalid_client_burst: 'invalid_client_burst',
      dormant_client: 'dormant_client',
      new_scope: 'new_scope',
      new_user_agent: 'new_user_agent',
      concurrent_networks: 'concurrent_networks',
      new_credential: 'new_credential',
    });
  });

  it('asks for an admin or export scope the victim never asked for, from its own hosts (new_scope)', () => {
    const label = labelOf('new_scope');
    const usual = benign().filter((event) => event.client_id === label.client_id && event.tenant === label.tenant);
    const usualScopes = new Set(usual.flatMap((event) => event.scopes ?? []));
    const attacks = attackEvents(label);
    expect(attacks.length).toBeGreaterThanOrEqual(2);
    for (const attack of attacks) {
      expect(attack.outcome).toBe('success');
      const added = (attack.scopes ?? []).filter((scope) => !usualScopes.has(scope));
      expect(added).toHaveLength(1);
      expect(added[0]).toMatch(/^(okta\.users\.manage|read:users|[a-z]+:export)$/);
    }
  });

  it('uses the victim credential with a tool of another family from another network (new_user_agent)', () => {
    const label = labelOf('new_user_agent');
    const usual = benign().filter((event) => event.client_id === label.client_id && event.tenant === label.tenant);
    const families = new Set(usual.map((event) => userAgentFamily(event.user_agent ?? '')));
    const asns = new Set(usual.map((event) => lookup(event.source_ip).asn));
    const attacks = attackEvents(label);
    expect(attacks.length).toBeGreaterThanOrEqual(3);
    for (const attack of attacks) {
      expect(families.has(userAgentFamily(attack.user_agent ?? ''))).toBe(false);
      expect(asns.has(lookup(attack.source_ip).asn)).toBe(false);
    }
  });

  it('has the benign look-alikes of new_scope and new_user_agent: library upgrades, scopes varying inside a set, an announced scope deploy', () => {
    const byClient = new Map<string, TokenRequestInput[]>();
    for (const event of benign()) {
      const list = byClient.get(event.client_id);
      if (list) list.push(event);
      else byClient.set(event.client_id, [event]);
    }
    const agents = [...byClient.values()].map((list) => new Set(list.map((event) => event.user_agent ?? '')));
    // Library upgrades: a client sending its library alone shows several versions of one family.
    const upgraded = agents.filter((set) => set.size > 1 && new Set([...set].map(userAgentFamily)).size === 1 && [...set].every((agent) => !agent.includes(' ') || agent.startsWith('.NET')));
    expect(upgraded.length).toBeGreaterThan(0);
    // No benign client ever changes software family.
    for (const [client, list] of byClient) expect(new Set(list.map((event) => userAgentFamily(event.user_agent ?? ''))).size, client).toBe(1);
    // Scopes varying inside a set: some clients ask for a subset of their scopes, and their whole set too.
    const varying = [...byClient.values()].filter((list) => new Set(list.map((event) => (event.scopes ?? []).join(' '))).size > 1);
    expect(varying.length).toBeGreaterThan(1);
    // One deploy adds a scope, with the allowlist entry that announces it.
    expect(sim.scopeDeploys).toHaveLength(1);
    const [deploy] = sim.scopeDeploys;
    const client = sim.population.clients[deploy?.client ?? -1];
    expect(sim.allowlist).toEqual([{ findings: ['new_scope'], tenant: client?.tenant.tenant, client_id: client?.clientId, expires: expect.any(String), reason: expect.any(String) }]);
    const own = byClient.get(client?.clientId ?? '') ?? [];
    expect(own.filter((event) => (event.time as number) < (deploy?.at ?? 0)).some((event) => event.scopes?.includes(deploy?.scope ?? ''))).toBe(false);
    expect(own.filter((event) => (event.time as number) >= (deploy?.at ?? 0) && event.outcome === 'success').every((event) => event.scopes?.includes(deploy?.scope ?? ''))).toBe(true);
  });

  it('uses a credential from three or four attacker networks within minutes while the client keeps its own', () => {
    const label = labelOf('concurrent_networks');
    const attacks = attackEvents(label);
    const usual = new Set(benign().filter((event) => event.client_id === label.client_id && event.tenant === label.tenant).map((event) => lookup(event.source_ip).asn));
    const attackerAsns = new Set(attacks.map((event) => lookup(event.source_ip).asn));
    expect(usual.size).toBeLessThanOrEqual(2);
    expect(attackerAsns.size).toBeGreaterThanOrEqual(3);
    expect([...attackerAsns].filter((asn) => usual.has(asn))).toEqual([]);
    expect(attacks.every((event) => event.outcome === 'success')).toBe(true);
    expect(label.end - label.start).toBeLessThanOrEqual(6 * 60_000);
  });

  it('runs multi-region clients that mint from all three or four of their cloud ASNs within 15 minutes', () => {
    const asnsPerClient = new Map<string, Set<number>>();
    const windows = new Map<string, Set<number>>();
    for (const event of benign()) {
      const asn = lookup(event.source_ip).asn ?? 0;
      const key = `${event.tenant} ${event.client_id}`;
      asnsPerClient.set(key, (asnsPerClient.get(key) ?? new Set()).add(asn));
      const window = `${key} ${Math.floor((event.time as number) / (15 * 60_000))}`;
      windows.set(window, (windows.get(window) ?? new Set()).add(asn));
    }
    const multiRegion = [...asnsPerClient].filter(([, asns]) => asns.size >= 3).map(([key]) => key);
    expect(multiRegion.length).toBeGreaterThanOrEqual(2);
    for (const key of multiRegion) {
      // Some 15 minutes hold all its networks (so that is its usual maximum).
      const most = Math.max(...[...windows].filter(([window]) => window.startsWith(`${key} `)).map(([, asns]) => asns.size));
      expect(most, key).toBe(asnsPerClient.get(key)?.size);
    }
  });

  it('adds an attacker key beside the victim\'s own: a new credential from the attacker\'s network while the old one mints', () => {
    const label = labelOf('new_credential');
    const attack = attackEvents(label);
    const credentialOf = (event: TokenRequestInput) => event.credential_id ?? event.assertion?.kid ?? '';
    const own = benign().filter((event) => event.client_id === label.client_id && event.tenant === label.tenant && event.outcome === 'success');
    const ownCredentials = new Set(own.map(credentialOf));
    const asnOf = (event: TokenRequestInput) => lookup(event.source_ip).asn;
    const ownAsns = new Set(own.map(asnOf));
    expect(attack.length).toBeGreaterThan(0);
    expect(new Set(attack.map(credentialOf)).size).toBe(1);
    for (const event of attack) {
      expect(event.outcome).toBe('success');
      expect(ownCredentials.has(credentialOf(event))).toBe(false);
      expect(asnOf(event)).toBeDefined();
      expect(ownAsns.has(asnOf(event))).toBe(false);
    }
    // The owners' key is in use within an hour of the attack.
    expect(own.some((event) => Math.abs((event.time as number) - label.start) < 3_600_000)).toBe(true);
  });

  it('rotates some clients\' credentials after the attack-free days: a new credential from the usual networks, the old one stops', () => {
    const attacked = new Set(sim.labels.map((label) => `${label.tenant}/${label.client_id}`));
    const byClient = new Map<string, TokenRequestInput[]>();
    for (const event of benign()) {
      const key = `${event.tenant}/${event.client_id}`;
      if (event.outcome !== 'success' || attacked.has(key) || !(event.credential_id ?? event.assertion?.kid)) continue;
      byClient.set(key, [...(byClient.get(key) ?? []), event]);
    }
    const credentialOf = (event: TokenRequestInput) => event.credential_id ?? event.assertion?.kid ?? '';
    let rotations = 0;
    for (const requests of byClient.values()) {
      const inWindow = requests.filter((event) => (event.time as number) >= START);
      const credentials = [...new Set(inWindow.map(credentialOf))];
      if (credentials.length < 2) continue;
      rotations += 1;
      // One credential at a time: the new one's first use comes after the old one's last.
      const [older, newer] = credentials as [string, string];
      const lastOld = Math.max(...inWindow.filter((event) => credentialOf(event) === older).map((event) => event.time as number));
      const firstNew = Math.min(...inWindow.filter((event) => credentialOf(event) === newer).map((event) => event.time as number));
      expect(firstNew).toBeGreaterThan(lastOld);
      const asnsBefore = new Set(requests.filter((event) => (event.time as number) < firstNew).map((event) => lookup(event.source_ip).asn));
      for (const event of inWindow.filter((e) => credentialOf(e) === newer)) expect(asnsBefore.has(lookup(event.source_ip).asn)).toBe(true);
    }
    expect(rotations).toBeGreaterThan(0);
  });

  it('wakes a dormant client: 30 days of traffic long before the start, silence, then the attacker', () => {
    const label = labelOf('dormant_client');
    const usual = benign().filter((event) => event.client_id === label.client_id && event.tenant === label.tenant);
    const times = usual.map((event) => event.time as number);
    expect(usual.length).toBeGreaterThan(0);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(START - 70 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(START - 40 * 86_400_000);
    const attacks = attackEvents(label);
    expect(attacks.length).toBeGreaterThanOrEqual(3);
    const asns = new Set(usual.map((event) => lookup(event.source_ip).asn));
    for (const attack of attacks) {
      expect(attack.outcome).toBe('success');
      expect(asns.has(lookup(attack.source_ip).asn)).toBe(false);
    }
  });

  it('runs weekly and monthly jobs on their day, with months of history before the start', () => {
    const calendar = sim.population.clients.filter((client) => client.schedule.type === 'calendar');
    expect(calendar.length).toBeGreaterThan(0);
    for (const client of calendar) {
      const schedule = client.schedule as Extract<typeof client.schedule, { type: 'calendar' }>;
      const runs = new Set(benign().filter((event) => event.client_id === client.clientId).map((event) => Math.floor((event.time as number) / 86_400_000)));
      // At least four runs of a monthly job (three of its gaps) before the start.
      expect([...runs].filter((day) => day * 86_400_000 < START).length, client.name).toBeGreaterThanOrEqual(schedule.period === 'month' ? 4 : 17);
      for (const day of runs) {
        const gapsOk = [...runs].every((other) => other === day || Math.abs(other - day) >= (schedule.period === 'month' ? 27 : 6));
        expect(gapsOk, `${client.name} runs ${schedule.period}ly`).toBe(true);
      }
    }
  });

  it('replays re-send the exact assertion within its exp from another country and ASN', () => {
    for (const kind of ['replay_accepted', 'replay_rejected'] as const) {
      const label = labelOf(kind);
      const [original, ...replays] = label.event_ids.map((id) => byId.get(id) as TokenRequestInput);
      expect(original?.idp).toBe('oidc-provider');
      expect(original?.outcome).toBe('success');
      expect(replays.length).toBeGreaterThan(0);
      const home = lookup(original?.source_ip ?? '');
      for (const replay of replays) {
        expect(replay.assertion).toEqual(original?.assertion);
        expect(replay.time as number).toBeLessThan((original?.assertion?.exp ?? 0) * 1000);
        expect(replay.time as number).toBeGreaterThan(original?.time as number);
        const where = lookup(replay.source_ip);
        expect(where.country).not.toBe(home.country);
        expect(where.asn).not.toBe(home.asn);
        if (kind === 'replay_accepted') expect(replay.outcome).toBe('success');
        else expect([replay.outcome, replay.error_code]).toEqual(['failure', 'invalid_client']);
      }
    }
  });

  it('uses a secret from a new country, and from a new ASN in the home country', () => {
    for (const kind of ['secret_new_country', 'secret_new_asn'] as const) {
      const label = labelOf(kind);
      const attacks = attackEvents(label);
      const usual = benign().filter((event) => event.client_id === label.client_id).map((event) => lookup(event.source_ip));
      const countries = new Set(usual.map((where) => where.country));
      const asns = new Set(usual.map((where) => where.asn));
      expect(attacks.length).toBeGreaterThanOrEqual(3);
      expect(label.end - label.start).toBeLessThanOrEqual(8 * 60_000);
      for (const attack of attacks) {
        expect(SECRET_METHODS.has(attack.auth_method)).toBe(true);
        expect(attack.outcome).toBe('success');
        const where = lookup(attack.source_ip);
        expect(asns.has(where.asn)).toBe(false);
        expect(countries.has(where.country)).toBe(kind === 'secret_new_asn');
      }
    }
  });

  it('bursts: 20-50x minting for 10-20 minutes, hundreds of invalid_client from one or two addresses', () => {
    const mint = labelOf('mint_burst');
    const normal = benign().filter((event) => event.client_id === mint.client_id && (event.time as number) < mint.start);
    const normalPerMinute = normal.length / (((mint.start - START) / 60_000) || 1);
    const burstPerMinute = attackEvents(mint).length / ((mint.end - mint.start) / 60_000);
    expect(burstPerMinute / normalPerMinute).toBeGreaterThan(15);
    expect(burstPerMinute / normalPerMinute).toBeLessThan(60);
    expect(burstPerMinute * 5).toBeGreaterThan(100);
    expect(mint.end - mint.start).toBeLessThanOrEqual(20 * 60_000);

    const stuffing = attackEvents(labelOf('invalid_client_burst'));
    expect(stuffing.length).toBeGreaterThanOrEqual(200);
    expect(new Set(stuffing.map((event) => event.source_ip)).size).toBeLessThanOrEqual(2);
    for (const event of stuffing) expect([event.outcome, event.error_code]).toEqual(['failure', 'invalid_client']);
    const label = labelOf('invalid_client_burst');
    expect(label.end - label.start).toBeLessThanOrEqual(10 * 60_000);
  });

  it('benign traffic: one country and ASN per secret client, unique jti, no bursts', () => {
    const places = new Map<string, Set<string>>();
    const jtis = new Set<string>();
    const buckets = new Map<string, number>();
    const failures = new Map<string, number>();
    for (const event of benign()) {
      const key = `${event.tenant} ${event.client_id}`;
      if (SECRET_METHODS.has(event.auth_method)) {
        const where = lookup(event.source_ip);
        let set = places.get(key);
        if (!set) places.set(key, (set = new Set()));
        set.add(`${where.country}/${where.asn}`);
      }
      const { jti, iat = 0, exp = 0 } = event.assertion ?? {};
      if (jti !== undefined) {
        if (jtis.has(jti)) throw new Error(`jti ${jti} used twice`);
        jtis.add(jti);
        // The hygiene checks: lifetime at most 5 minutes, iat within the allowed clock skew.
        if (exp - iat > 300 || (event.time as number) / 1000 - iat > 5 || iat > (event.time as number) / 1000) throw new Error(`bad assertion ${JSON.stringify(event)}`);
      }
      const bucket = `${key} ${Math.floor((event.time as number) / BUCKET)}`;
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
      if (event.outcome === 'failure') failures.set(bucket, (failures.get(bucket) ?? 0) + 1);
    }
    expect(places.size).toBeGreaterThan(20);
    // Multi-region clients (three or four clouds from the start) are concurrent_networks' look-alike, tested above.
    for (const [client, set] of places) if (set.size < 3) expect([client, [...set]]).toEqual([client, [...set].slice(0, 1)]);
    expect(jtis.size).toBeGreaterThan(1000);
    // The mint_volume detector's absolute floor is 100 per 5-minute bucket; failures alert from 20.
    expect(Math.max(...buckets.values())).toBeLessThan(60);
    expect(Math.max(...failures.values())).toBeLessThan(5);
  });

  it('keeps each steady client volume stable from day to day', () => {
    const steady = sim.population.clients.filter((client) => client.schedule.type === 'per_request' || client.schedule.type === 'cron');
    const counts = new Map<string, number[]>();
    for (const event of benign()) {
      const day = Math.floor(((event.time as number) - START) / 86_400_000);
      const days = counts.get(event.client_id) ?? Array.from({ length: OPTIONS.days }, () => 0);
      days[day] = (days[day] ?? 0) + 1;
      counts.set(event.client_id, days);
    }
    for (const client of steady) {
      const days = counts.get(client.clientId) ?? [];
      const sorted = [...days].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
      if (median < 50) continue; // a handful a day: Poisson noise dominates
      expect(Math.max(...days) / median).toBeLessThan(2);
      expect(Math.min(...days) / median).toBeGreaterThan(0.3);
    }
  });

  it('writes geo that the offline enrichment agrees with, for every address used', () => {
    const seen = new Set<string>();
    for (const event of events) {
      const where = lookup(event.source_ip);
      if (!seen.has(event.source_ip)) {
        seen.add(event.source_ip);
        expect(where.country, event.source_ip).toMatch(/^[A-Z]{2}$/);
        expect(ALL_NETWORKS.some((network) => network.asn === where.asn && network.country === where.country && network.asOrg === where.as_org)).toBe(true);
      }
      const geo = event.geo ?? {};
      const differs = (geo.country !== undefined && geo.country !== where.country) || (geo.asn !== undefined && geo.asn !== where.asn) || (geo.as_org !== undefined && geo.as_org !== where.as_org);
      if (differs) throw new Error(`geo ${JSON.stringify(geo)} of ${event.source_ip}, lookup says ${JSON.stringify(where)}`);
    }
    expect(seen.size).toBeGreaterThan(200);
  });

  it('renders native records that decode back to the same event through the adapters', () => {
    const picked = new Map<string, TokenRequestInput[]>();
    for (const [n, event] of events.entries()) {
      const key = `${event.idp} ${event.outcome} ${event.auth_method}`;
      const list = picked.get(key) ?? [];
      if (list.length < 20 || attackIds.has(event.event_id) || n % 997 === 0) list.push(event);
      picked.set(key, list);
    }
    const sample = [...picked.values()].flat();
    expect(new Set(sample.map((event) => `${event.idp} ${event.outcome}`)).size).toBe(10);
    for (const event of sample) {
      const native = renderNative(event);
      if (event.idp !== 'oidc-provider') expect(native).not.toHaveProperty('event_id');
      const results = decodeMessage(JSON.stringify(native), { adapters: FORMATS, format: 'auto' });
      expect(results).toHaveLength(1);
      const [result] = results;
      if (result?.kind !== 'ok') throw new Error(`${event.idp}: ${JSON.stringify(result)} from ${JSON.stringify(native)}`);
      expect(result.event).toEqual(tokenRequestSchema.parse(event));
    }
  });
});

describe('liveTraffic', () => {
  it('backfills history at once, then paces events to the clock and injects labeled attacks', async () => {
    // A clock that runs fast: every reading is 20 s after the previous one.
    let clock = START + 30 * 86_400_000;
    const liveStart = clock;
    const now = () => (clock += 20_000);
    const labels: AttackLabel[] = [];
    let backfilled = 0;
    let previous = -Infinity;
    let count = 0;
    for await (const item of liveTraffic({ seed: 3, clients: 60, historyDays: 0.5, attackEveryMinutes: 2, now })) {
      if (item.type === 'label') {
        labels.push(item.label);
        if (labels.length === 3) break;
        continue;
      }
      count += 1;
      const time = item.event.time as number;
      expect(time).toBeGreaterThanOrEqual(previous);
      previous = time;
      if (time < liveStart) backfilled += 1;
      else expect(time).toBeLessThanOrEqual(clock);
      if (count > 200_000) break;
    }
    expect(backfilled).toBeGreaterThan(1_000);
    expect(labels).toHaveLength(3);
    for (const label of labels) {
      expect(ATTACK_KINDS).toContain(label.kind);
      expect(label.event_ids.length).toBeGreaterThan(0);
    }
    // The first attack, a replay, in the history's first minutes (the demo's first alert comes
    // while the rest of the history is still arriving), re-sent within 10 s; the rest live.
    const [first, ...live] = labels as [AttackLabel, ...AttackLabel[]];
    expect(first.kind).toBe('replay_accepted');
    expect(first.start).toBeLessThan(liveStart - 0.5 * 86_400_000 + 10 * 60_000);
    expect(first.end - first.start).toBeLessThanOrEqual(10_000);
    for (const label of live) expect(label.start).toBeGreaterThanOrEqual(liveStart);
  });

  it('without history, emits the first attack, a replay, at once: in the minute before the live start', async () => {
    let clock = START + 30 * 86_400_000;
    const liveStart = clock;
    const now = () => (clock += 20_000);
    for await (const item of liveTraffic({ seed: 3, clients: 60, historyDays: 0, attackEveryMinutes: 5, now })) {
      if (item.type !== 'label') continue;
      expect(item.label.kind).toBe('replay_accepted');
      // The victim is the client whose next request comes soonest; its replay within 10 s.
      expect(item.label.start).toBeGreaterThanOrEqual(liveStart - 60_000);
      expect(item.label.end).toBeLessThan(liveStart);
      expect(item.label.end - item.label.start).toBeLessThanOrEqual(10_000);
      return;
    }
    throw new Error('no attack');
  });
});
