import type { TokenRequestInput } from '@tokenwatch/shared/events/token-request';
import type { AttackLabel } from './labels.js';

/**
 * Merges the event sources (one per client, one per attack) into one time-ordered stream with a
 * binary heap, numbering events as they leave it: `sim-<seed>-<n>` is the n-th event emitted.
 * Sources generate lazily, so memory stays flat however long the simulation runs.
 */

export interface Source {
  /** Time of the source's next event; Infinity when it has none left. */
  readonly nextTime: number;
  /** Tie-break for equal times, so the order never depends on heap internals. */
  readonly order: number;
  take(): TokenRequestInput;
  /** The attack label the events of this source belong to. */
  readonly label?: AttackLabel;
  /** Called after the source's last event left the engine (attacks: the label is complete). */
  onExhausted?(): void;
}

export interface Emitted {
  readonly event: TokenRequestInput;
  /** Set when the event belongs to an attack (including a replayed assertion's original use). */
  readonly label?: AttackLabel;
  /** Labels whose attack emitted its last event with this one. */
  readonly completed?: readonly AttackLabel[];
}

const before = (a: Source, b: Source) => a.nextTime < b.nextTime || (a.nextTime === b.nextTime && a.order < b.order);

export class Engine {
  private readonly heap: Source[] = [];
  private count = 0;
  /** Benign events an attack claimed (the original use of a replayed assertion). */
  private readonly claimed = new Map<TokenRequestInput, AttackLabel>();
  /** Labels whose window has been set from their first attack event. */
  private readonly observed = new WeakSet<AttackLabel>();

  constructor(
    private readonly seed: number,
    /** Events at or after this time are not emitted. */
    private readonly end: number,
  ) {}

  add(source: Source): void {
    if (source.nextTime >= this.end) return;
    this.heap.push(source);
    this.up(this.heap.length - 1);
  }

  claim(event: TokenRequestInput, label: AttackLabel): void {
    this.claimed.set(event, label);
  }

  /** Time of the next event, Infinity when the stream has ended. */
  peekTime(): number {
    return this.heap[0]?.nextTime ?? Infinity;
  }

  next(): Emitted | undefined {
    const source = this.heap[0];
    if (source === undefined) return undefined;
    const event = source.take();
    event.event_id = `sim-${this.seed}-${this.count++}`;
    if (source.nextTime >= this.end) {
      const last = this.heap.pop() as Source;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.down(0);
      }
    } else {
      this.down(0);
    }
    let label = source.label;
    if (label === undefined && this.claimed.size > 0) {
      label = this.claimed.get(event);
      if (label !== undefined) this.claimed.delete(event);
    }
    if (label !== undefined) this.record(label, event, source.label !== undefined);
    if (source.nextTime === Infinity && source.onExhausted && source.label) {
      source.onExhausted();
      return { event, ...(label ? { label } : {}), completed: [source.label] };
    }
    return label ? { event, label } : { event };
  }

  /** Adds an emitted event to its label; attack events (not a claimed original) set the window. */
  private record(label: AttackLabel, event: TokenRequestInput, attackEvent: boolean): void {
    label.event_ids.push(event.event_id);
    if (!attackEvent) return;
    const time = event.time as number;
    if (!this.observed.has(label)) {
      label.start = time;
      label.end = time;
      this.observed.add(label);
    } else if (time > label.end) {
      label.end = time;
    }
  }

  private up(index: number): void {
    const heap = this.heap;
    const item = heap[index] as Source;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent] as Source;
      if (!before(item, above)) break;
      heap[index] = above;
      index = parent;
    }
    heap[index] = item;
  }

  private down(index: number): void {
    const heap = this.heap;
    const length = heap.length;
    const item = heap[index] as Source;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && before(heap[right] as Source, heap[left] as Source)) child = right;
      if (!before(heap[child] as Source, item)) break;
      heap[index] = heap[child] as Source;
      index = child;
    }
    heap[index] = item;
  }
}

