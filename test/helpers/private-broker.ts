import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';
import { isDefined, waitFor } from './wait.js';

const KAFKA_DIR = fileURLToPath(new URL('../../infra/kafka/', import.meta.url));
const LIBS = join(KAFKA_DIR, '.cache', 'libs');

/**
 * A Kafka broker of the test's own (single KRaft node on free loopback ports, its own data
 * directory), for fault tests that kill it: the shared broker on 9092 serves every other test
 * file and must never be touched. Uses the jars infra/kafka/kafka.sh fetched from Maven Central.
 */
export interface PrivateBroker {
  readonly brokers: string;
  /** SIGKILL: no shutdown, no flush beyond what the broker already fsynced. */
  kill9(): Promise<void>;
  /** Starts it again on the same ports and data, and waits until it serves. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateBroker(name: string): Promise<PrivateBroker> {
  if (!existsSync(LIBS)) {
    // The shared broker may be someone else's (KAFKA_BROKERS, or one already running), so the
    // jars are fetched here when kafka.sh never had to.
    const fetched = spawnSync('bash', [join(KAFKA_DIR, 'kafka.sh'), 'fetch'], { encoding: 'utf8' });
    if (fetched.status !== 0) throw new Error(`cannot fetch the Kafka jars for a private broker: ${fetched.stderr}`);
  }
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), `tokenwatch-broker-${name}-`));
  const props = join(dir, 'server.properties');
  const log = join(dir, 'broker.log');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'default.replication.factor=1',
      'min.insync.replicas=1',
      'offsets.topic.num.partitions=1',
      'auto.create.topics.enable=true',
      'num.partitions=2',
      'group.initial.rebalance.delay.ms=0',
      `log.dirs=${join(dir, 'data')}`,
      '',
    ].join('\n'),
  );
  // A broker that lives for one test: C1 only and the serial collector start the JVM in about half
  // the time of the defaults on the 2-core CI machine (a fault test starts it twice, and formats first).
  const java = (args: string[]) => ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xms128m', '-Xmx512m', `-Dlog4j2.configurationFile=${join(KAFKA_DIR, 'log4j2.yaml')}`, '-cp', `${LIBS}/*`, ...args];
  const format = spawnSync('java', java(['kafka.tools.StorageTool', 'format', '--standalone', '-t', 'tokenwatchfaulttest0001', '-c', props]), { encoding: 'utf8' });
  if (format.status !== 0) throw new Error(`formatting the private broker failed: ${format.stderr}`);

  let child: ChildProcess | undefined;
  const start = async () => {
    writeFileSync(log, '');
    child = spawn('bash', ['-c', `exec java ${java(['kafka.Kafka', props]).map((arg) => `'${arg}'`).join(' ')} >>'${log}' 2>&1`], { stdio: 'ignore' });
    await waitFor(async () => (readFileSync(log, 'utf8').includes('Transition from STARTING to STARTED') ? true : undefined), isDefined, {
      timeoutMs: 90_000,
      what: `private broker on 127.0.0.1:${port} started (log ${log})`,
    });
  };
  const exited = (process: ChildProcess) =>
    process.exitCode !== null || process.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => process.once('exit', () => resolve()));
  await start();
  return {
    brokers: `127.0.0.1:${port}`,
    start,
    kill9: async () => {
      if (!child) return;
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
