import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { canonicalEvent } from '../helpers/events.js';
import { runCli, spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { createTopic, produce, waitForConsumed } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// `tokenwatch watch` and `tokenwatch sweep` as an operator runs them, from another terminal,
// while `tokenwatch start` holds the embedded data directory: the writes go through the
// running process's typed /action endpoint, the reads through its read-only /query.

type Row = Record<string, unknown>;
const jsonLines = (text: string): Row[] => text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Row);

describe('tokenwatch watch and sweep against a running tokenwatch start', () => {
  let env: Record<string, string>;
  let service: CliProcess;
  let watchId = '';

  async function cli(args: string[], input?: string) {
    const result = await runCli(args, env, input === undefined ? {} : { input });
    if (result.code !== 0) throw new Error(`tokenwatch ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result;
  }

  const alerts = async () => jsonLines((await cli(['alerts', '--json', '--since', '30d'])).stdout);

  beforeAll(async () => {
    env = testEnv('watch-cli', { TOKENWATCH_HTTP_PORT: 'off', LOG_LEVEL: 'info', TOKENWATCH_BATCH_MAX_WAIT_MS: '200' });
    // Detectors every second, 1 s behind now (the defaults: every 5 s, 3 s behind), through the
    // service's config file: each wait for the detectors to see a request is then a second or two.
    env.TOKENWATCH_CONFIG = join(env.TOKENWATCH_DATA_DIR as string, 'tokenwatch.yaml');
    writeFileSync(env.TOKENWATCH_CONFIG, 'detectors:\n  schedule: "* * * * * *"\n  safety_lag_seconds: 1\n');
    await createTopic(env.TOKENWATCH_TOPIC as string);
    // Before the service runs, the command opens the data directory itself (and migrates it).
    const offline = await cli(['watch', 'add', '--tenant', 'tenant-2', '--client', 'client-offline', '--reason', 'added while stopped']);
    expect(offline.stdout.trim()).toMatch(/^w-[0-9a-f]{12}$/);
    service = spawnCli(['start'], env);
    await waitFor(() => readDiscovery(env.TOKENWATCH_DATA_DIR as string), (server) => server !== undefined, { timeoutMs: 90_000, what: 'the query server to write its discovery file' });
  }, 180_000);

  afterAll(async () => {
    if (service) expect(await terminate(service, 'SIGTERM')).toBe(0);
  });

  it('adds a watch through the running process, lists it with who added it, and alerts on the next request, a failure', async () => {
    const added = await cli(['watch', 'add', '--tenant', 'tenant-1', '--client', 'client-1', '--reason', 'secret printed in a CI log (INC-7)']);
    watchId = added.stdout.trim();
    expect(watchId).toMatch(/^w-[0-9a-f]{12}$/);
    expect(added.stderr).toContain('watching client client-1 in tenant-1 from');

    const listed = jsonLines((await cli(['watch', 'list', '--json'])).stdout);
    expect(listed.map((watch) => watch.client_id)).toEqual(['client-offline', 'client-1']);
    expect(listed[1]).toMatchObject({ watch_id: watchId, tenant: 'tenant-1', reason: 'secret printed in a CI log (INC-7)', removed: false, added_by: expect.stringMatching(/@/) });
    expect((await cli(['watch', 'list'])).stdout).toContain(`${watchId}  active  client client-1 in tenant-1`);

    const now = Date.now();
    // Event 1 is tenant-1/client-1; it fails. Event 2 is another client.
    await produce(env.TOKENWATCH_TOPIC as string, [
      JSON.stringify(canonicalEvent(1, { time: now, outcome: 'failure', error_code: 'invalid_client', source_ip: '203.0.113.50' })),
      JSON.stringify(canonicalEvent(2, { time: now, source_ip: '203.0.113.51' })),
    ]);
    await waitForConsumed(env.TOKENWATCH_CONSUMER_GROUP as string, env.TOKENWATCH_TOPIC as string);
    const found = await waitFor(alerts, (rows) => rows.some((alert) => alert.finding === 'watched_credential'), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
      what: 'a watched_credential alert in tokenwatch alerts --json (observed: its alerts)',
    });
    expect(found.filter((alert) => alert.finding === 'watched_credential')).toEqual([
      expect.objectContaining({ severity: 'critical', tenant: 'tenant-1', client_id: 'client-1', alert_key: `watch:${watchId}`, event_count: 1 }),
    ]);
  });

  it('sweeps indicators and prints one JSON object per client and indicator with exactly the documented keys', async () => {
    const file = ['# campaign X', '203.0.113.50', '203.0.113.0/24', 'ua:OKHTTP', 'AS64511'].join('\n');
    const result = await cli(['sweep', '-', '--json', '--from', '1d'], file);
    const rows = jsonLines(result.stdout);
    for (const row of rows) expect(Object.keys(row)).toEqual(['tenant', 'client_id', 'indicator', 'first_seen', 'last_seen', 'requests', 'successes']);
    const byKey = Object.fromEntries(rows.map((row) => [`${String(row.client_id)} ${String(row.indicator)}`, row]));
    expect(Object.keys(byKey).sort()).toEqual(['client-1 203.0.113.0/24', 'client-1 203.0.113.50', 'client-1 ua:OKHTTP', 'client-2 203.0.113.0/24', 'client-2 ua:OKHTTP']);
    expect(byKey['client-1 203.0.113.50']).toMatchObject({ tenant: 'tenant-1', requests: 1, successes: 0, first_seen: expect.stringMatching(/Z$/) });
    expect(result.stderr).toContain('4 indicators, 5 matches, 2 clients');

    // Text output, and nothing outside the span.
    expect((await cli(['sweep', '-', '--to', '2020-01-01'], file)).stdout).toBe('');
  });

  it('raises one ioc_match alert per client with --alert, through the running process, and updates it on a rerun', async () => {
    const file = '203.0.113.50\n203.0.113.51\n';
    expect((await cli(['sweep', '-', '--alert'], file)).stderr).toContain('ioc_match alerts: 2 raised, 0 updated');
    expect((await cli(['sweep', '-', '--alert'], file)).stderr).toContain('ioc_match alerts: 0 raised, 0 updated');
    const ioc = (await alerts()).filter((alert) => alert.finding === 'ioc_match');
    expect(ioc.map((alert) => [alert.client_id, alert.severity]).sort()).toEqual([
      ['client-1', 'high'],
      ['client-2', 'high'],
    ]);
  });

  it('stops on a wrong indicator line with its number and content, in one line', async () => {
    const result = await runCli(['sweep', '-'], env, { input: '203.0.113.50\n\nevil.example.net\n' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(['tokenwatch: line 3: not an indicator (expected an IP address, a CIDR range, AS<number> or ua:<text>): "evil.example.net"']);
  });

  it('refuses bad watch flags by name, and removes a watch, which stays listed', async () => {
    const noReason = await runCli(['watch', 'add', '--tenant', 't', '--client', 'c', '--reason', ' '], env);
    expect(noReason.code).toBe(1);
    expect(noReason.stderr.trim()).toBe('tokenwatch: invalid --reason " ": is empty');
    const badUntil = await runCli(['watch', 'add', '--tenant', 't', '--client', 'c', '--reason', 'r', '--since', '2026-01-02', '--until', '2026-01-01'], env);
    expect(badUntil.stderr.trim()).toBe('tokenwatch: invalid --until "2026-01-01": must be after --since');
    const badId = await runCli(['watch', 'remove', 'x; DROP TABLE watch_list'], env);
    expect(badId.stderr.trim()).toMatch(/^tokenwatch: invalid --id .*expected a watch id such as w-0123456789ab/);

    expect((await cli(['watch', 'remove', watchId])).stderr).toContain(`removed ${watchId}`);
    const again = await runCli(['watch', 'remove', watchId], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^tokenwatch: watch ${watchId} was already removed by .+@`));
    expect((await cli(['watch', 'list'])).stdout).toMatch(new RegExp(`${watchId}  removed by \\S+ at `));
  });

  it('keeps `tokenwatch sql` read-only: no write to watch_list through /query, and /action takes only typed actions', async () => {
    const insert = await runCli(['sql', "INSERT INTO watch_list (watch_id) VALUES ('w-000000000000')"], env);
    expect(insert.code).toBe(1);
    expect(insert.stderr).toMatch(/read-only|not allowed|readonly/i);
    const server = readDiscovery(env.TOKENWATCH_DATA_DIR as string)!;
    const post = (path: string, body: unknown, token = server.token) =>
      fetch(`http://127.0.0.1:${server.port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const sqlAsAction = await post('/action', { action: 'sql', query: "INSERT INTO watch_list (watch_id) VALUES ('x')" });
    expect(sqlAsAction.status).toBe(400);
    const actionAsQuery = await post('/query', { action: 'watch_remove', removal: { watch_id: 'w-000000000000', removed_by: 'x' } });
    expect(actionAsQuery.status).toBe(400);
    expect((await post('/action', { action: 'watch_remove', removal: { watch_id: 'w-000000000000', removed_by: 'x' } }, 'wrong')).status).toBe(401);
    const extraKey = await post('/action', { action: 'watch_add', watch: { tenant: 't', client_id: 'c', since: 0, reason: 'r', added_by: 'x', removed: true } });
    expect(extraKey.status).toBe(400);
    expect(jsonLines((await cli(['watch', 'list', '--json'])).stdout)).toHaveLength(2);
  });
});
