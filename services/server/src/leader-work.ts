import type { Writable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { startDetector, type DetectorService } from '@tokenwatch/detector';
import { startNotifier, type NotifierService } from '@tokenwatch/notifier';
import type { Settings } from '@tokenwatch/shared/config/settings';
import { DependencyError, errorMessage } from '@tokenwatch/shared/errors';
import type { InventorySource } from '@tokenwatch/shared/inventory/watch';
import { createKafka, ensureTopics } from '@tokenwatch/shared/kafka/client';
import type { Logger } from '@tokenwatch/shared/log';
import { createLeaderMetrics, type Registry } from '@tokenwatch/shared/metrics';
import type { ConfigFile } from './config-file.js';
import { startLeaderElection, type LeaderElection } from './leader-election.js';

/**
 * The detectors and the notifier of `tokenwatch start`: the work only one replica may do at a
 * time. With TOKENWATCH_LEADER_ELECTION=off (one replica) they simply run; with `on` they run
 * only while this replica is the elected leader (leader-election.ts) and stop when it is not.
 */
export interface LeaderWork {
  /** The running detector's tick; rejects with a DependencyError in a replica that is not the leader. */
  readonly detector: DetectorService;
  /** The running notifier's round; rejects with a DependencyError in a replica that is not the leader. */
  readonly notifier: NotifierService;
  /**
   * With leader election, joins the election (call it after ingest started: ingest's start-up
   * loads the IP databases, which holds the event loop and would cost the first lease). Without,
   * nothing: the work already runs.
   */
  elect(): Promise<void>;
  /** Whether this replica runs the detectors and the notifier now. */
  leading(): boolean;
  /** Rejects when the notifier stops on its own (a revoked Slack token) or the election fails. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface LeaderWorkOptions {
  readonly settings: Settings;
  readonly config: ConfigFile;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly inventory: InventorySource;
  readonly clients: { readonly detector: ClickHouseClient; readonly notifier: ClickHouseClient };
  readonly output?: Writable;
}

export async function startLeaderWork(options: LeaderWorkOptions): Promise<LeaderWork> {
  const { settings, config, logger, registry, inventory, clients } = options;
  const startNotifierNow = (poll: boolean) =>
    startNotifier({ settings, config, logger, clickhouse: clients.notifier, registry, poll, ...(options.output ? { output: options.output } : {}) });
  const startDetectorNow = () => startDetector({ config: config.detectors, logger, clickhouse: clients.detector, registry, inventory });
  const metrics = createLeaderMetrics(registry);

  if (!settings.TOKENWATCH_LEADER_ELECTION) {
    const notifier = await startNotifierNow(true);
    let detector: DetectorService;
    try {
      detector = startDetectorNow();
    } catch (error) {
      await notifier.stop();
      throw error;
    }
    metrics.leader.set(1);
    return {
      detector,
      notifier,
      elect: async () => undefined,
      leading: () => true,
      done: notifier.done,
      stop: async () => {
        await Promise.all([detector.stop(), notifier.stop()]);
      },
    };
  }

  // Configuration errors (a refused Slack token, a bad cron) stop start-up in every replica, not
  // only in the one that is elected some day: start both without running anything, then stop.
  const probe = await startNotifierNow(false);
  await probe.stop();
  await startDetectorNow().stop();

  const topic = settings.TOKENWATCH_LEADER_TOPIC ?? `${settings.TOKENWATCH_TOPIC}.leader`;
  // The group is named after its topic: replicas that share the topic elect one leader.
  const groupId = topic;
  await ensureTopics(settings, logger, [{ topic, numPartitions: 1 }]);

  let term: { detector: DetectorService; notifier: NotifierService } | undefined;
  let settle!: { resolve: () => void; reject: (error: Error) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => undefined);

  let election: LeaderElection | undefined;
  const elect = async () => {
    election ??= await joinElection();
  };
  const joinElection = async (): Promise<LeaderElection> => {
    const joined = await startLeaderElection({
      kafka: createKafka(settings, logger),
      groupId,
      topic,
      sessionTimeoutMs: settings.TOKENWATCH_LEADER_SESSION_TIMEOUT_MS,
      logger: logger.child({ component: 'leader' }),
      onElected: async () => {
        const notifier = await startNotifierNow(true);
        const detector = startDetectorNow();
        term = { detector, notifier };
        metrics.leader.set(1);
        metrics.elections.inc();
        // Catch up at once rather than at the next scheduled tick: the hand-over is shorter by
        // up to one schedule period. Ticks never overlap; a failing detector is logged by the tick.
        void detector.tick();
        notifier.done.catch((error: unknown) => settle.reject(error instanceof Error ? error : new Error(String(error))));
      },
      onDeposed: async () => {
        metrics.leader.set(0);
        const ending = term;
        term = undefined;
        if (!ending) return;
        // The notifier's stop aborts a Slack call in progress; the detector finishes its tick.
        await Promise.all([ending.notifier.stop(), ending.detector.stop()]);
      },
    });
    joined.done.then(settle.resolve, (error: unknown) => {
      logger.error({ err: errorMessage(error) }, 'leader election stopped');
      settle.reject(error instanceof Error ? error : new Error(String(error)));
    });
    return joined;
  };

  const notLeader = () => new DependencyError('this replica is not the leader (TOKENWATCH_LEADER_ELECTION=on): the detectors and the notifier run in the leader');
  return {
    detector: {
      tick: () => (term ? term.detector.tick() : Promise.reject(notLeader())),
      stop: async () => term?.detector.stop(),
    },
    notifier: {
      done,
      sinks: probe.sinks,
      runOnce: () => (term ? term.notifier.runOnce() : Promise.reject(notLeader())),
      stop: async () => term?.notifier.stop(),
    },
    elect,
    leading: () => election?.leading ?? false,
    done,
    stop: async () => {
      await election?.stop();
      settle.resolve();
    },
  };
}
