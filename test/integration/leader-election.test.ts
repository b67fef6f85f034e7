import { afterAll, describe, expect, it } from 'vitest';
import { canonicalEvent } from '../helpers/events.js';
import { spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { createTopic, produce } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';
import { startSlackStub, type SlackStub } from '../helpers/slack-stub.js';
import { waitFor } from '../helpers/wait.js';

// Two `tokenwatch start` replicas with TOKENWATCH_LEADER_ELECTION=on and the real broker. Each
// has its own embedded store (chDB allows one process per data directory) and its own ingest
// group, so each stores every event, as replicas sharing one ClickHouse server would see them;
// each posts to its own Slack stub, so a post tells which replica made it.

const TOKEN = 'xoxb-leader-test';
const CHANNEL = 'C0LEADER';
const SESSION_TIMEOUT_MS = 6_000;

interface Replica {
  readonly name: string;
  readonly child: CliProcess;
  readonly slack: SlackStub;
}

/** The ops server's port, from the replica's log line. */
function opsPort(replica: Replica): number | undefined {
  for (const line of replica.child.logs().split('\n')) {
    if (!line.includes('serving /healthz')) continue;
    const port = (JSON.parse(line) as { port?: unknown }).port;
    if (typeof port === 'number') return port;
  }
  return undefined;
}

/** The first sample of a metric line matching `pattern` (one capture: the value), or undefined while the replica does not answer. */
async function metric(replica: Replica, pattern: RegExp): Promise<number | undefined> {
  const port = opsPort(replica);
  if (port === undefined || replica.child.exitCode !== null || replica.child.signalCode !== null) return undefined;
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const match = pattern.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** tokenwatch_leader of a replica: 1, 0, or undefined while it does not answer. */
const leaderGauge = (replica: Replica) => metric(replica, /^tokenwatch_leader (\d+)$/m);
/** Finished runs of the jti_replay detector in a replica (one per tick). */
const ticks = (replica: Replica) => metric(replica, /^tokenwatch_detector_run_seconds_count\{detector="jti_replay"\} (\d+)$/m);

function posts(replica: Replica): number {
  return replica.slack.requests.filter((request) => request.method === 'chat.postMessage').length;
}

/** A replay of `jti` from a second address: jti_replay raises one alert for it. */
function replayEvents(jti: string, first: number, now: number): string[] {
  const seconds = Math.floor(now / 1000);
  const assertion = { jti, iat: seconds - 60, exp: seconds + 300, kid: 'key-1', alg: 'RS256' as const };
  const original = canonicalEvent(first, { time: now - 20_000, assertion });
  const replay = { ...original, event_id: `${original.event_id}-replayed`, time: now - 10_000, source_ip: '203.0.113.99' };
  return [original, replay].map((event) => JSON.stringify(event));
}

describe('leader election between two `tokenwatch start` replicas', () => {
  const replicas: Replica[] = [];

  afterAll(async () => {
    for (const { child, slack } of replicas) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await slack.stop();
    }
  });

  it('runs the detectors and the notifier in exactly one replica, and hands over within the session timeout after a SIGKILL', async () => {
    const shared = testEnv('leader');
    const topic = shared.TOKENWATCH_TOPIC as string;
    await createTopic(topic, 2);
    const start = async (name: string): Promise<Replica> => {
      const slack = await startSlackStub({ token: TOKEN });
      const env = testEnv(`leader-${name}`, {
        TOKENWATCH_TOPIC: topic,
        TOKENWATCH_LEADER_ELECTION: 'on',
        TOKENWATCH_LEADER_TOPIC: `${topic}.leader`,
        TOKENWATCH_LEADER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        TOKENWATCH_HTTP_PORT: '0',
        TOKENWATCH_BATCH_MAX_WAIT_MS: '200',
        LOG_LEVEL: 'info',
        SLACK_BOT_TOKEN: TOKEN,
        SLACK_CHANNEL: CHANNEL,
        SLACK_API_URL: slack.url,
      });
      const replica = { name, child: spawnCli(['start'], env), slack };
      replicas.push(replica);
      return replica;
    };
    const [a, b] = [await start('a'), await start('b')];
    const gauges = () => Promise.all([a, b].map(leaderGauge));
    /** Every observation of both gauges at once: never two leaders. */
    const seen: (number | undefined)[][] = [];
    const observe = async () => {
      const values = await gauges();
      seen.push(values);
      return values;
    };

    await waitFor(observe, (values) => values.every((value) => value !== undefined) && values.includes(1), {
      timeoutMs: 60_000,
      what: 'both replicas to serve /metrics and one of them to lead (observed: tokenwatch_leader of a, b)',
    });

    // Both replicas store the replay (each ingests the whole topic); one alert, one post.
    await produce(topic, replayEvents('jti-leader-1', 1, Date.now()));
    const mentions = (replica: Replica, jti: string) => replica.slack.messages.filter((message) => JSON.stringify(message).includes(jti)).length;
    await waitFor(() => [a, b].map((replica) => mentions(replica, 'jti-leader-1')), (counts) => counts.some((count) => count > 0), {
      timeoutMs: 60_000,
      what: 'a replica to post the replay of jti-leader-1 (observed: its messages in the Slack stubs of a, b)',
    }).catch((error: unknown) => {
      const logs = (replica: Replica) => replica.child.logs().split('\n').filter((line) => !line.includes('"level":20')).slice(-30).join('\n');
      throw new Error(`${String(error)}\n--- a:\n${logs(a)}\n--- b:\n${logs(b)}`);
    });
    const [leader, follower] = mentions(a, 'jti-leader-1') > 0 ? [a, b] : [b, a];
    // The poster leads; the other stored the same alert and posted nothing. A few more
    // observations while the leader keeps leading.
    const now = await waitFor(observe, (values) => values[[a, b].indexOf(leader)] === 1, { what: `the poster (${leader.name}) to report tokenwatch_leader 1` });
    expect(now[[a, b].indexOf(follower)]).toBe(0);
    const observed = seen.length;
    await waitFor(observe, () => seen.length >= observed + 10, { what: 'ten more observations of both gauges' });
    expect(posts(follower)).toBe(0);
    expect(follower.slack.requests.map((request) => request.method)).toEqual(['auth.test']);

    // SIGKILL: no goodbye, the broker notices after the session timeout.
    const ticksBefore = (await ticks(follower)) ?? 0;
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await waitFor(() => leaderGauge(follower), (value) => value === 1, {
      timeoutMs: SESSION_TIMEOUT_MS + 30_000,
      intervalMs: 100,
      what: `the follower (${follower.name}) to lead (observed: its tokenwatch_leader)`,
    });
    const electedAfterMs = Date.now() - killedAt;
    await waitFor(() => ticks(follower), (count) => (count ?? 0) > ticksBefore, { timeoutMs: 30_000, intervalMs: 100, what: 'the new leader\'s first detector tick (observed: its jti_replay runs)' });
    const firstTickAfterMs = Date.now() - killedAt;
    // Its first tick and round: with no ledger of the dead leader's posts in its own store it
    // posts the first alert too (a shared server's ledger would say it was posted).
    await waitFor(() => posts(follower), (count) => count > 0, { timeoutMs: 30_000, what: 'the new leader to post (observed: chat.postMessage calls)' });
    const firstPostAfterMs = Date.now() - killedAt;
    await produce(topic, replayEvents('jti-leader-2', 2, Date.now()));
    await waitFor(() => follower.slack.messages.map((message) => JSON.stringify(message)), (texts) => texts.some((text) => text.includes('jti-leader-2')), {
      timeoutMs: 60_000,
      what: 'the new leader to post the replay of jti-leader-2 (observed: its Slack messages)',
    });
    console.info(
      `leader hand-over after the SIGKILL: elected ${electedAfterMs} ms, first detector tick ${firstTickAfterMs} ms, first post ${firstPostAfterMs} ms (session timeout ${SESSION_TIMEOUT_MS} ms)`,
    );
    // Bounded: the broker's session timeout, a rebalance and a detector tick (every 5 s).
    expect(electedAfterMs).toBeLessThan(SESSION_TIMEOUT_MS + 10_000);
    expect(firstTickAfterMs).toBeLessThan(SESSION_TIMEOUT_MS + 15_000);
    expect(firstPostAfterMs).toBeLessThan(SESSION_TIMEOUT_MS + 20_000);

    for (const values of seen) expect(values.filter((value) => value === 1).length, JSON.stringify(values)).toBeLessThanOrEqual(1);
    expect(await terminate(follower.child, 'SIGTERM')).toBe(0);
    expect(follower.child.logs()).toContain('elected leader');
  }, 180_000);
});
