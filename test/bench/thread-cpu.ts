/**
 * Where a process's CPU goes, by kind of thread, from /proc/<pid>/task: sampled, because
 * chDB's pool threads come and go and a thread that has ended can no longer be read. What the
 * samples miss (a thread's CPU after its last sample, a thread born and gone between two) is
 * the process's total less the sum over its threads: reported as `unattributed`, never spread.
 *
 * Kinds, by the thread's name (ClickHouse names its threads; Node 20 names none of its own):
 * - main: the JavaScript (Kafka client, decode, zod, encoding, the event loop);
 * - node: Node's other threads: V8's GC and compiler helpers and libuv's pool, where the chdb
 *   binding runs each query (so it holds the first part of every INSERT: its parsing);
 * - merges: ClickHouse's background merges (MergeMutate);
 * - chdb: every other ClickHouse thread (the query pipeline's pool, schedulers).
 */
import { readdirSync, readFileSync } from 'node:fs';

export const THREAD_KINDS = ['main', 'node', 'chdb', 'merges', 'unattributed'] as const;
export type ThreadKind = (typeof THREAD_KINDS)[number];

const CLOCK_TICKS = 100;

/** utime + stime of a process (every thread, ended ones included) or of one of its threads, in seconds. */
function cpuSecondsOf(pid: number, thread?: number): number {
  const stat = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  // The name in parentheses may hold spaces: the fields that matter come after its ") ".
  const fields = readFileSync(stat, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function kindOf(pid: number, thread: number, name: string): Exclude<ThreadKind, 'unattributed'> {
  if (thread === pid) return 'main';
  if (name === 'node') return 'node';
  if (name.startsWith('MergeMutate')) return 'merges';
  return 'chdb';
}

export class ThreadCpuSampler {
  private readonly processAtStart: number;
  /** Per thread: its kind, its CPU when first seen and when last seen. */
  private readonly threads = new Map<number, { kind: Exclude<ThreadKind, 'unattributed'>; first: number; last: number }>();
  private readonly timer: NodeJS.Timeout;
  /** Whether the first sample (the threads alive at the start) has been taken. */
  private started = false;

  constructor(
    private readonly pid: number,
    intervalMs = 200,
  ) {
    this.processAtStart = cpuSecondsOf(pid);
    this.sample();
    this.started = true;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return; // the process has exited
    }
    for (const entry of threads) {
      const thread = Number(entry);
      try {
        const cpu = cpuSecondsOf(this.pid, thread);
        const known = this.threads.get(thread);
        if (known) known.last = cpu;
        else {
          const name = readFileSync(`/proc/${this.pid}/task/${thread}/comm`, 'utf8').trim();
          // A thread first seen after the start is counted from 0: all its CPU fell in the window.
          const first = this.started ? 0 : cpu;
          this.threads.set(thread, { kind: kindOf(this.pid, thread, name), first, last: cpu });
        }
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  }

  /**
   * Stops sampling (after one last sample) and returns the process's CPU seconds since the
   * start, in all (`total`, every thread, ended ones included) and by kind of thread.
   */
  stop(): { total: number; byKind: Record<ThreadKind, number> } {
    clearInterval(this.timer);
    this.sample();
    const byKind: Record<ThreadKind, number> = { main: 0, node: 0, chdb: 0, merges: 0, unattributed: 0 };
    for (const { kind, first, last } of this.threads.values()) byKind[kind] += last - first;
    const total = cpuSecondsOf(this.pid) - this.processAtStart;
    byKind.unattributed = Math.max(0, total - (byKind.main + byKind.node + byKind.chdb + byKind.merges));
    return { total, byKind };
  }
}
