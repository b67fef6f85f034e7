import { resolve } from 'node:path';
import { text as streamText } from 'node:stream/consumers';
import { AssignerProtocol, Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { queryThroughServer } from '@tokenwatch/server/query-server/client';
import { readDiscovery } from '@tokenwatch/server/query-server/discovery';
import { canonicalEvent } from '../helpers/events.js';
import { runCli, spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { consumerLag, createTopic, testKafka } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

// Three `tokenwatch ingest` processes in one consumer group on a six-partition topic. Each
// has its own embedded store (chDB allows one process per data directory), which here only
// serves to see who consumed what: in production they share one ClickHouse server.

const PARTITIONS = 6;
const PER_PARTITION = 3_000;
const EVENT_ID = 'SELECT event_id FROM token_requests FINAL';

interface Worker {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly child: CliProcess;
}

/** The partition an event was produced to, from its id `p<partition>-<n>`. */
function partitionOf(eventId: string): number {
  return Number(/^p(\d+)-/.exec(eventId)?.[1]);
}

/** Event ids stored by a running worker, through its query server. */
async function storedIds(worker: Worker): Promise<string[]> {
  const server = readDiscovery(resolve(worker.env.TOKENWATCH_DATA_DIR as string));
  if (!server) throw new Error(`${worker.name} serves no queries yet`);
  const text = await streamText(await queryThroughServer(server, { query: EVENT_ID, format: 'JSONEachRow' }));
  return text.split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { event_id: string }).event_id);
}

/** Event ids in a stopped worker's data directory, read by `tokenwatch sql`. */
async function storedIdsAfterExit(worker: Worker): Promise<string[]> {
  const result = await runCli(['sql', EVENT_ID], worker.env);
  if (result.code !== 0) throw new Error(`tokenwatch sql on ${worker.name}'s store exited ${result.code}: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { event_id: string }).event_id);
}

/** The group's members and their partitions, as the broker's coordinator describes them. */
async function assignment(groupId: string, topic: string): Promise<{ state: string; members: Map<string, number[]> }> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    const members = new Map<string, number[]>();
    for (const member of group?.members ?? []) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      members.set(member.memberId, [...(decoded?.assignment[topic] ?? [])].sort((x, y) => x - y));
    }
    return { state: group?.state ?? 'Unknown', members };
  } finally {
    await admin.disconnect();
  }
}

/** A stable group: `count` members whose partitions are disjoint and cover the topic. */
function settledWith(count: number) {
  return ({ state, members }: { state: string; members: Map<string, number[]> }) => {
    if (state !== 'Stable' || members.size !== count) return false;
    const all = [...members.values()].flat();
    return all.length === PARTITIONS && new Set(all).size === PARTITIONS && [...members.values()].every((partitions) => partitions.length > 0);
  };
}

/** Events to each partition explicitly, so a stored event names the partition it came from. */
async function produceTo(topic: string, from: number, to: number): Promise<void> {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const chunk = 500;
    for (let start = from; start < to; start += chunk) {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          {
            topic,
            messages: Array.from({ length: PARTITIONS }, (_, partition) =>
              Array.from({ length: Math.min(chunk, to - start) }, (_, k) => ({
                partition,
                value: JSON.stringify(canonicalEvent(start + k, { event_id: `p${partition}-${start + k}` })),
              })),
            ).flat(),
          },
        ],
      });
    }
  } finally {
    await producer.disconnect();
  }
}

describe('several ingest workers in one consumer group', () => {
  const base = testEnv('workers', { KAFKA_SESSION_TIMEOUT_MS: '6000', TOKENWATCH_BATCH_MAX_EVENTS: '1000', TOKENWATCH_BATCH_MAX_WAIT_MS: '200' });
  const group = base.TOKENWATCH_CONSUMER_GROUP as string;
  const topic = base.TOKENWATCH_TOPIC as string;
  const workers: Worker[] = [];
  const spawnWorker = (name: string): Worker => {
    // One group and topic, a data directory each.
    const env = { ...base, TOKENWATCH_DATA_DIR: testEnv(`workers-${name}`).TOKENWATCH_DATA_DIR as string };
    const worker = { name, env, child: spawnCli(['ingest'], env) };
    workers.push(worker);
    return worker;
  };

  afterAll(() => {
    for (const { child } of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('splits the partitions, rebalances when a worker joins or is killed, and loses nothing', async () => {
    await createTopic(topic, PARTITIONS);
    const [w1, w2] = [spawnWorker('w1'), spawnWorker('w2')];
    const two = await waitFor(() => assignment(group, topic), settledWith(2), { timeoutMs: 60_000, what: `two workers to share the ${PARTITIONS} partitions (observed: the group)` });
    expect([...two.members.values()].map((partitions) => partitions.length)).toEqual([3, 3]);

    await produceTo(topic, 0, PER_PARTITION / 3);
    await waitFor(() => consumerLag(group, topic), (lag) => lag === 0, { timeoutMs: 60_000, what: 'the two workers to commit the first third (observed: lag)' });
    // Before any rebalance: each partition's events are in exactly one store.
    const [first1, first2] = [await storedIds(w1), await storedIds(w2)];
    const partitions1 = new Set(first1.map(partitionOf));
    const partitions2 = new Set(first2.map(partitionOf));
    expect([...partitions1].filter((partition) => partitions2.has(partition))).toEqual([]);
    expect(partitions1.size + partitions2.size).toBe(PARTITIONS);

    // A third worker joins: the group rebalances and it gets partitions of its own.
    const w3 = spawnWorker('w3');
    const three = await waitFor(() => assignment(group, topic), settledWith(3), { timeoutMs: 60_000, what: 'three workers to share the partitions (observed: the group)' });
    expect([...three.members.values()].map((partitions) => partitions.length)).toEqual([2, 2, 2]);

    // A stream, and a SIGKILL of the first worker in the middle of it.
    const producing = produceTo(topic, PER_PARTITION / 3, PER_PARTITION);
    await waitFor(() => storedIds(w3), (ids) => ids.length > 0, { timeoutMs: 60_000, intervalMs: 200, what: 'the joined worker to store events of its partitions' });
    w1.child.kill('SIGKILL');
    await producing;
    // The survivors take the killed worker's partitions once the broker's session timeout ends.
    const after = await waitFor(() => assignment(group, topic), settledWith(2), { timeoutMs: 60_000, what: 'the two survivors to share the partitions (observed: the group)' });
    expect(after.members.size).toBe(2);
    await waitFor(() => consumerLag(group, topic), (lag) => lag === 0, { timeoutMs: 90_000, what: 'the survivors to commit everything (observed: lag)' });

    const survivors = [w2, w3];
    const stores = [...(await Promise.all(survivors.map(storedIds))), await storedIdsAfterExit(w1)];
    const union = new Set(stores.flat());
    const produced = PARTITIONS * PER_PARTITION;
    // Nothing lost: every event produced is in some store.
    expect(union.size).toBe(produced);
    // Re-deliveries after the kill and the rebalances (stored by two workers) are bounded by
    // what was uncommitted when a partition moved; reported, and far fewer than the events.
    const duplicates = stores.reduce((sum, ids) => sum + ids.length, 0) - union.size;
    console.info(`ingest workers: ${produced} events, ${duplicates} stored by two workers (re-delivered after a rebalance or the kill)`);
    expect(duplicates).toBeLessThan(produced / 4);
    for (const worker of survivors) expect(await terminate(worker.child)).toBe(0);
    expect(await consumerLag(group, topic)).toBe(0);
  }, 240_000);
});
