import { AssignerProtocol, type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs';
import { z } from 'zod';
import { errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';

/**
 * Leader election on Kafka's consumer-group protocol: every replica joins one group on a
 * one-partition coordination topic, and the member assigned partition 0 leads. Nothing is
 * ever produced to or read from the topic; the group coordinator is the arbiter.
 *
 * The leader's work (detectors, notifier) must stop before another replica can start it:
 * - Lease: the broker gives a silent member's partitions away `sessionTimeoutMs` after the last
 *   heartbeat it received. The leader counts its own lease from when it last heard the
 *   coordinator accept it (a heartbeat, a join), which is no earlier than the broker's clock
 *   starts, and gives up `LEASE_MARGIN_HEARTBEATS` heartbeat intervals before the session ends.
 *   A leader cut off from the broker, or paused (GC, SIGSTOP) past its lease, therefore starts
 *   stopping its work before the broker can elect another; a paused process checks its lease
 *   first thing when it wakes up.
 * - Sticky: each member's join request says whether it leads now, and the assigner keeps
 *   partition 0 with that member, so a replica joining or leaving does not move leadership
 *   (the consumer group's rebalance is eager: every member rejoins on every change).
 * - Stopping the work is awaited before `leading` turns true again; elected and deposed never
 *   overlap within one replica.
 * What remains is documented in docs/reliability.md ("One detector and one notifier at a time").
 */
export interface LeaderElection {
  /** Whether this replica is the leader and its work is running (what /readyz and the metric report). */
  readonly leading: boolean;
  /** Rejects when the election's consumer stops for good (after the work was stopped). */
  readonly done: Promise<void>;
  /** Stops the leader's work if running and leaves the group, so another replica takes over at once. */
  stop(): Promise<void>;
}

export interface LeaderElectionOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topic: string;
  readonly sessionTimeoutMs: number;
  readonly logger: Logger;
  /** Starts the leader's work; resolves when it runs. */
  onElected(): Promise<void>;
  /** Stops the leader's work; resolves when it has stopped. */
  onDeposed(reason: string): Promise<void>;
}

/** The lease ends this many heartbeat intervals before the broker's session would. */
const LEASE_MARGIN_HEARTBEATS = 2;
/** Heartbeats per session timeout. */
const HEARTBEATS_PER_SESSION = 10;

export async function startLeaderElection(options: LeaderElectionOptions): Promise<LeaderElection> {
  const { kafka, groupId, topic, sessionTimeoutMs, logger } = options;
  const heartbeatIntervalMs = Math.floor(sessionTimeoutMs / HEARTBEATS_PER_SESSION);
  const leaseMs = sessionTimeoutMs - LEASE_MARGIN_HEARTBEATS * heartbeatIntervalMs;

  /** What the group says: partition 0 is ours and the lease has not run out. */
  let entitled = false;
  /** When the coordinator last accepted this member (lease start). */
  let renewedAt = 0;
  /** Whether the work runs (between onElected resolving and onDeposed starting). */
  let running = false;
  let stopping = false;
  let transitions: Promise<void> = Promise.resolve();
  let settle!: { resolve: () => void; reject: (error: Error) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => undefined);

  /** Brings the work in line with `entitled`, one transition at a time. */
  const reconcile = (reason: string): Promise<void> => {
    transitions = transitions.then(async () => {
      if (entitled && !stopping && !running) {
        logger.info({ group: groupId }, 'elected leader: starting the detectors and the notifier');
        await options.onElected();
        running = true;
        // Deposed while starting: stop again at once.
        if (!entitled || stopping) await depose('the lease ended while starting');
      } else if ((!entitled || stopping) && running) {
        await depose(reason);
      }
    }).catch((error: unknown) => {
      logger.error({ err: errorMessage(error) }, 'leadership change failed');
      fail(error);
    });
    return transitions;
  };
  const depose = async (reason: string) => {
    running = false;
    logger.warn({ group: groupId, reason }, 'no longer the leader: stopping the detectors and the notifier');
    await options.onDeposed(reason);
  };
  const lose = (reason: string) => {
    if (!entitled) return;
    entitled = false;
    void reconcile(reason);
  };

  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: sessionTimeoutMs,
    // A member that does not rejoin within this is dropped: its lease ran out before.
    rebalanceTimeout: sessionTimeoutMs,
    heartbeatInterval: heartbeatIntervalMs,
    // Nothing is ever fetched; a short empty fetch keeps the loop, and so the heartbeats, going.
    maxWaitTimeInMs: heartbeatIntervalMs,
    partitionAssigners: [stickyLeaderAssigner(topic, () => entitled)],
  });
  const fail = (error: unknown) => {
    entitled = false;
    stopping = true;
    void transitions
      .then(() => (running ? depose('the election stopped') : undefined))
      .catch(() => undefined)
      .finally(() => settle.reject(error instanceof Error ? error : new Error(String(error))));
  };

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // The join took `duration`; the coordinator's clock for this member started no earlier.
    renewedAt = Date.now() - payload.duration;
    const holds = (payload.memberAssignment[topic] ?? []).includes(0);
    if (holds && !entitled) {
      entitled = true;
      void reconcile('elected');
    } else if (!holds) lose('partition 0 went to another replica');
  });
  consumer.on(consumer.events.HEARTBEAT, () => {
    // Sent at most one heartbeat round trip ago; the margin covers the round trip.
    renewedAt = Date.now();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    lose(`the election consumer crashed: ${errorMessage(payload.error)}`);
    if (!payload.restart) fail(payload.error);
  });
  const leaseTimer = setInterval(() => {
    if (entitled && Date.now() - renewedAt > leaseMs) lose(`no heartbeat accepted for ${Date.now() - renewedAt} ms (lease ${leaseMs} ms)`);
  }, Math.max(100, Math.floor(heartbeatIntervalMs / 4)));
  leaseTimer.unref();

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({ eachMessage: async () => undefined });
  logger.info({ group: groupId, topic, session_timeout_ms: sessionTimeoutMs }, 'leader election joined');

  return {
    get leading() {
      return running && entitled && Date.now() - renewedAt <= leaseMs;
    },
    done,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      clearInterval(leaseTimer);
      entitled = false;
      await reconcile('shutting down');
      // Leaving the group rebalances at once: another replica leads without waiting for the session.
      await consumer.disconnect();
      settle.resolve();
    },
  };
}

/** What each member says about itself when it (re)joins. */
const claimSchema = z.object({ leading: z.boolean() });

/**
 * Partition 0 to the member that leads now (the first by member id if, against expectations,
 * several claim it), else to the first member by member id; every member gets an entry.
 */
export function stickyLeaderAssigner(topic: string, leadingNow: () => boolean): PartitionAssigner {
  return () => ({
    name: 'TokenwatchStickyLeader',
    version: 1,
    async assign({ members }) {
      const ids = members.map((member) => member.memberId).sort();
      const claimants = members
        .filter((member) => claimOf(member.memberMetadata))
        .map((member) => member.memberId)
        .sort();
      const leader = claimants[0] ?? ids[0];
      return ids.map((memberId) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: memberId === leader ? { [topic]: [0] } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: 'TokenwatchStickyLeader',
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(JSON.stringify({ leading: leadingNow() })),
        }),
      };
    },
  });
}

function claimOf(metadata: Buffer): boolean {
  try {
    const decoded = AssignerProtocol.MemberMetadata.decode(metadata);
    if (!decoded) return false;
    const parsed = claimSchema.safeParse(JSON.parse(decoded.userData.toString('utf8')));
    return parsed.success && parsed.data.leading;
  } catch {
    return false; // metadata that is not ours: never the leader by claim
  }
}
