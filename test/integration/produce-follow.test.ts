import { appendFileSync, mkdtempSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, spawnCli, terminate, type CliProcess } from '../helpers/cli.js';
import { readTopic, topicSize } from '../helpers/kafka.js';
import { startPrivateBroker, type PrivateBroker } from '../helpers/private-broker.js';
import { testEnv } from '../helpers/settings.js';
import { waitFor } from '../helpers/wait.js';

/** One partition, so the topic's order is the publishing order. */
const followEnv = (name: string, overrides: Record<string, string> = {}) => testEnv(name, { TOKENWATCH_TOPIC_PARTITIONS: '1', LOG_LEVEL: 'info', ...overrides });
const lines = (prefix: string, count: number, from = 1) => Array.from({ length: count }, (_, i) => JSON.stringify({ line: `${prefix}-${from + i}` }));
const asFile = (values: readonly string[]) => values.map((value) => `${value}\n`).join('');

const running = new Set<CliProcess>();
afterEach(async () => {
  for (const child of running) await terminate(child, 'SIGKILL');
  running.clear();
});

function follow(file: string, env: Record<string, string>, ...flags: string[]): CliProcess & { stdout: () => string } {
  const child = spawnCli(['produce', '--follow', file, '--poll-interval', '100', ...flags], env);
  running.add(child);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return Object.assign(child, { stdout: () => stdout });
}

/** SIGTERM, expecting a clean stop (exit 0), then the exact content of the topic. */
async function stop(child: CliProcess, topic: string, on?: readonly string[]): Promise<string[]> {
  const code = await terminate(child);
  running.delete(child);
  expect(code, child.logs()).toBe(0);
  const size = await topicSize(topic, on);
  return (await readTopic(topic, size, on ? { on } : {})).map((message) => message.value);
}

const savedPosition = (file: string) => (JSON.parse(readFileSync(`${file}.tokenwatch-position.json`, 'utf8')) as { position: number }).position;

describe('tokenwatch produce --follow', () => {
  it('publishes whole lines as they are appended, and a restart resumes at the saved position without re-publishing', async () => {
    const env = followEnv('follow-append');
    const topic = env.TOKENWATCH_TOPIC as string;
    const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-follow-')), 'idp.log');
    const first = lines('a', 3);
    writeFileSync(file, `${asFile(first)}{"line":"a-4`);
    const child = follow(file, env);
    expect((await readTopic(topic, 3)).map((message) => message.value)).toEqual(first);

    // The unfinished line is published once its newline arrives, not before.
    appendFileSync(file, `"}\n${asFile(lines('a', 2, 5))}{"line":"a-7`);
    expect((await readTopic(topic, 6)).map((message) => message.value)).toEqual(lines('a', 6));
    expect(await stop(child, topic)).toEqual(lines('a', 6));
    // Saved: the start of the unfinished line, which the next run reads whole.
    expect(savedPosition(file)).toBe(readFileSync(file).indexOf('{"line":"a-7'));

    appendFileSync(file, `"}\n${asFile(lines('a', 3, 8))}`);
    const restarted = follow(file, env);
    await readTopic(topic, 10);
    expect(await stop(restarted, topic)).toEqual(lines('a', 10));
  });

  it('stopped in the middle of a large file, has published exactly the lines before the saved position; the next run publishes exactly the rest', async () => {
    const env = followEnv('follow-stop');
    const topic = env.TOKENWATCH_TOPIC as string;
    const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-follow-')), 'idp.log');
    const all = lines(`stop-${'x'.repeat(200)}`, 30_000);
    writeFileSync(file, asFile(all));
    const child = follow(file, env);
    await waitFor(() => topicSize(topic), (size) => size > 0, { what: 'the first published lines' });
    const published = await stop(child, topic);
    const position = savedPosition(file);
    expect(published.length, 'stopped before the end of the file: the test proves nothing otherwise').toBeLessThan(all.length);
    expect(published).toEqual(all.slice(0, published.length));
    expect(position).toBe(Buffer.byteLength(asFile(all.slice(0, published.length))));

    const restarted = follow(file, env);
    await readTopic(topic, all.length);
    expect(await stop(restarted, topic)).toEqual(all);
  });

  it('reads a rotated file to its end before following the new one: nothing lost, nothing twice', async () => {
    const env = followEnv('follow-rotate');
    const topic = env.TOKENWATCH_TOPIC as string;
    const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-follow-'));
    const file = join(directory, 'idp.log');
    writeFileSync(file, asFile(lines('old', 2)));
    const child = follow(file, env, '--ops-listen', '127.0.0.1:0');
    await readTopic(topic, 2);

    // logrotate's default (create): rename, the writer finishes its last lines in the old file, then a new file.
    renameSync(file, `${file}.1`);
    appendFileSync(`${file}.1`, `${asFile(lines('old', 2, 3))}{"line":"old-5"}`);
    writeFileSync(file, asFile(lines('new', 2)));
    await readTopic(topic, 7);
    appendFileSync(file, asFile(lines('new', 1, 3)));
    await readTopic(topic, 8);
    const port = /on port (\d+)/.exec(child.stdout())?.[1];
    // The position is saved (and its gauge set) just after Kafka's acknowledgement: wait for it.
    const expected = [/^tokenwatch_follow_rotations_total 1$/m, /^tokenwatch_follow_lines_published_total 8$/m, new RegExp(`^tokenwatch_follow_position_bytes ${Buffer.byteLength(asFile(lines('new', 3)))}$`, 'm')];
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
      (metrics) => expected.every((pattern) => pattern.test(metrics)),
      { what: `the follower's metrics to show ${expected.join(', ')}` },
    );
    expect(await stop(child, topic)).toEqual([...lines('old', 5), ...lines('new', 3)]);
    expect(child.logs()).toContain('followed file was rotated');
  });

  it('starts again at 0 when the file is truncated', async () => {
    const env = followEnv('follow-truncate');
    const topic = env.TOKENWATCH_TOPIC as string;
    const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-follow-')), 'idp.log');
    writeFileSync(file, asFile(lines('before', 3)));
    const child = follow(file, env);
    await readTopic(topic, 3);
    // copytruncate: same file, cut to 0, then written again (shorter than before).
    truncateSync(file, 0);
    await waitFor(() => child.logs(), (logs) => logs.includes('followed file was truncated'), { what: 'the follower to notice the truncation' });
    appendFileSync(file, asFile(lines('after', 2)));
    await readTopic(topic, 5);
    expect(await stop(child, topic)).toEqual([...lines('before', 3), ...lines('after', 2)]);
    expect(savedPosition(file)).toBe(Buffer.byteLength(asFile(lines('after', 2))));
  });

  it('with --from-end on a first run, publishes only what is appended', async () => {
    const env = followEnv('follow-from-end');
    const topic = env.TOKENWATCH_TOPIC as string;
    const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-follow-')), 'idp.log');
    writeFileSync(file, asFile(lines('history', 5)));
    const child = follow(file, env, '--from-end');
    await waitFor(() => child.logs(), (logs) => logs.includes('"reason":"end"'), { what: 'the follower to start at the end' });
    appendFileSync(file, asFile(lines('live', 2)));
    await readTopic(topic, 2);
    expect(await stop(child, topic)).toEqual(lines('live', 2));
  });

  it('dead-letters a line over the limit and one Kafka refuses as too large, with the reason, and goes on', async () => {
    const env = followEnv('follow-oversized');
    const topic = env.TOKENWATCH_TOPIC as string;
    const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-follow-')), 'idp.log');
    const huge = `{"line":"${'h'.repeat(5 * 1024 * 1024)}"}`;
    const large = `{"line":"${'l'.repeat(2 * 1024 * 1024)}"}`;
    writeFileSync(file, asFile([...lines('ok', 1), huge, ...lines('ok', 1, 2), large, ...lines('ok', 1, 3)]));
    const child = follow(file, env);
    const letters = await readTopic(env.TOKENWATCH_DLQ_TOPIC as string, 2);
    await readTopic(topic, 3);
    expect(await stop(child, topic)).toEqual(lines('ok', 3));
    expect(letters.map((letter) => letter.headers['dlq-reason'])).toEqual([
      `line is ${Buffer.byteLength(huge)} bytes, over the 4194304 a line may have (the first 4194304 kept)`,
      `Kafka refused the line as too large for topic ${topic} (${Buffer.byteLength(large)} bytes, over its max.message.bytes)`,
    ]);
    expect(letters.map((letter) => letter.headers['dlq-topic'])).toEqual([`file:${file}`, `file:${file}`]);
    expect(letters.map((letter) => letter.headers['dlq-offset'])).toEqual([String(readFileSync(file).indexOf(huge)), String(readFileSync(file).indexOf(large))]);
  });

  it('refuses wrong flags and a state file of another file with one line, exit 1', async () => {
    const env = followEnv('follow-flags');
    const directory = mkdtempSync(join(tmpdir(), 'tokenwatch-follow-'));
    const file = join(directory, 'idp.log');
    writeFileSync(file, asFile(lines('x', 1)));
    const refusals: Array<[string[], string]> = [
      [['produce', file, '--state', join(directory, 's.json')], 'tokenwatch: --state is for --follow only\n'],
      [['produce', '--follow', '-'], 'tokenwatch: --follow needs a file, not - (stdin)\n'],
      [['produce', '--follow', file, '--poll-interval', '5'], 'tokenwatch: invalid --poll-interval "5": Too small: expected number to be >=10\n'],
      [['produce', '--follow', join(directory, 'missing', 'idp.log')], `tokenwatch: cannot follow ${join(directory, 'missing', 'idp.log')}: its directory ${join(directory, 'missing')} does not exist\n`],
    ];
    writeFileSync(join(directory, 'other.json'), JSON.stringify({ version: 1, file: '/var/log/other.log', dev: '1', ino: '2', position: 3, savedAt: 'x' }));
    refusals.push([['produce', '--follow', file, '--state', join(directory, 'other.json')], `tokenwatch: state file ${join(directory, 'other.json')} is the position in /var/log/other.log, not in ${file}; pass another --state\n`]);
    for (const [args, stderr] of refusals) {
      const result = await runCli(args, env);
      expect([result.code, result.stderr], args.join(' ')).toEqual([1, stderr]);
    }
  });

  describe('with Kafka down for a while', () => {
    let broker: PrivateBroker | undefined;
    afterEach(async () => {
      await broker?.stop();
    });

    it('keeps its position while Kafka is down and publishes what was appended once it is back', async () => {
      broker = await startPrivateBroker('follow-outage');
      const on = [broker.brokers];
      // kafkajs's own retries pause at most 1 s (default 10 s), so a send fails in seconds rather
      // than 68 s and the returned broker is noticed within a second (KAFKA_RETRY_MAX_MS).
      const env = followEnv('follow-outage', { KAFKA_BROKERS: broker.brokers, KAFKA_RETRY_MAX_MS: '1000' });
      const topic = env.TOKENWATCH_TOPIC as string;
      const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-follow-')), 'idp.log');
      writeFileSync(file, asFile(lines('up', 2)));
      const child = follow(file, env);
      await readTopic(topic, 2, { on });
      const positionBefore = Buffer.byteLength(asFile(lines('up', 2)));
      await waitFor(() => savedPosition(file), (position) => position === positionBefore, { what: 'the position after the first lines' });

      await broker.kill9();
      appendFileSync(file, asFile(lines('down', 3)));
      await waitFor(() => child.logs(), (logs) => logs.includes('cannot publish to topic'), { timeoutMs: 180_000, what: 'the follower to fail to publish and retry' });
      // Not acknowledged, so not saved: a crash now would read these lines again.
      expect(savedPosition(file)).toBe(positionBefore);

      await broker.start();
      await readTopic(topic, 5, { on, timeoutMs: 180_000 });
      const published = await stop(child, topic, on);
      // At least once: a send retried across the outage may have gone through twice.
      expect(new Set(published)).toEqual(new Set([...lines('up', 2), ...lines('down', 3)]));
      expect(published.slice(0, 2)).toEqual(lines('up', 2));
      expect(savedPosition(file)).toBe(readFileSync(file).length);
    }, 480_000);
  });
});
