import { MINUTE_MS, HOUR_MS, DAY_MS } from '@tokenwatch/shared/time';
import type { Schedule } from './population.js';
import type { Rng } from './prng.js';

/**
 * When a client asks for tokens: one generator per schedule type, each returning request times
 * in order. Local time (load curves, working hours, nightly jobs) uses the client's home
 * network's UTC offset; daylight saving is ignored.
 */

export function localHour(time: number, utcOffsetHours: number): number {
  const hours = time / HOUR_MS + utcOffsetHours;
  return ((hours % 24) + 24) % 24;
}

/** 0 = Sunday ... 6 = Saturday, local time (1970-01-01 was a Thursday). */
export function localWeekday(time: number, utcOffsetHours: number): number {
  return (Math.floor((time + utcOffsetHours * HOUR_MS) / DAY_MS) + 4) % 7;
}

const isWeekend = (time: number, offset: number) => {
  const day = localWeekday(time, offset);
  return day === 0 || day === 6;
};

/** Daily load between 1 - amplitude (night) and 1 (at the peak hour). */
function loadCurve(time: number, offset: number, peakHour: number, amplitude: number): number {
  const phase = ((localHour(time, offset) - peakHour) / 24) * 2 * Math.PI;
  return 1 - amplitude / 2 + (amplitude / 2) * Math.cos(phase);
}

export interface RequestSource {
  /** The next request time (>= the previous one). */
  next(): number;
  /** For cached tokens: which instance asks (its address is sticky); -1 otherwise. */
  readonly instance: number;
}

/** A Poisson process whose rate follows the load curve, by thinning (Lewis-Shedler). */
class PerRequest implements RequestSource {
  readonly instance = -1;
  private time: number;
  constructor(
    private readonly schedule: Extract<Schedule, { type: 'per_request' }>,
    start: number,
    private readonly offset: number,
    private readonly rng: Rng,
  ) {
    this.time = start;
  }

  next(): number {
    const { perMinute, peakHour, amplitude, weekend } = this.schedule;
    const meanGap = MINUTE_MS / perMinute;
    for (;;) {
      this.time += this.rng.exp(meanGap);
      let accept = loadCurve(this.time, this.offset, peakHour, amplitude);
      if (isWeekend(this.time, this.offset)) accept *= weekend;
      if (this.rng.float() < accept) return Math.floor(this.time);
    }
  }
}

/** Instances that each cache a token and refresh it at 80-95 % of its lifetime; autoscaled. */
class Cached implements RequestSource {
  instance = -1;
  private readonly due: number[] = [];
  private readonly ids: number[] = [];
  private nextId = 0;
  constructor(
    private readonly schedule: Extract<Schedule, { type: 'cached' }>,
    start: number,
    private readonly offset: number,
    private readonly rng: Rng,
  ) {
    const initial = this.target(start);
    for (let i = 0; i < initial; i++) this.spawn(start + rng.float() * schedule.ttlSeconds * 1000);
  }

  private target(time: number): number {
    const { minInstances, maxInstances, peakHour } = this.schedule;
    let load = loadCurve(time, this.offset, peakHour, 1);
    if (isWeekend(time, this.offset)) load *= 0.5;
    return Math.round(minInstances + (maxInstances - minInstances) * load);
  }

  private spawn(due: number): void {
    this.due.push(due);
    this.ids.push(this.nextId++);
  }

  next(): number {
    for (;;) {
      let first = 0;
      for (let i = 1; i < this.due.length; i++) if ((this.due[i] as number) < (this.due[first] as number)) first = i;
      const time = this.due[first] as number;
      const wanted = this.target(time);
      if (this.due.length > wanted && this.due.length > this.schedule.minInstances) {
        // Scale-in: this instance is gone before its token needs refreshing.
        this.due.splice(first, 1);
        this.ids.splice(first, 1);
        continue;
      }
      // Scale-out: new pods fetch their first token within a minute or two of starting.
      for (let n = this.due.length; n < wanted; n++) this.spawn(time + this.rng.range(5_000, 120_000));
      this.due[first] = time + this.schedule.ttlSeconds * 1000 * this.rng.range(0.8, 0.95);
      this.instance = this.ids[first] as number;
      return Math.floor(time);
    }
  }
}

/** Runs every N minutes at a fixed second; a run may mint a token per step. */
class Cron implements RequestSource {
  readonly instance = -1;
  private readonly pending: number[] = [];
  private run: number;
  constructor(
    private readonly schedule: Extract<Schedule, { type: 'cron' }>,
    start: number,
    private readonly rng: Rng,
  ) {
    const period = schedule.everyMinutes * MINUTE_MS;
    this.run = Math.ceil((start - schedule.offsetSeconds * 1000) / period) * period + schedule.offsetSeconds * 1000;
  }

  next(): number {
    if (this.pending.length === 0) {
      // Start-up jitter of a scheduler tick, then each step a few seconds after the previous.
      let time = this.run + this.rng.range(50, 2_500);
      for (let i = 0; i < this.schedule.tokensPerRun; i++) {
        this.pending.push(Math.floor(time));
        time += this.rng.range(500, 8_000);
      }
      this.pending.reverse();
      this.run += this.schedule.everyMinutes * MINUTE_MS;
    }
    return this.pending.pop() as number;
  }
}

/** Once a night: its workers mint their tokens spread over the first minutes of the run. */
class Batch implements RequestSource {
  readonly instance = -1;
  private readonly pending: number[] = [];
  private day: number;
  constructor(
    private readonly schedule: Extract<Schedule, { type: 'batch' }>,
    private readonly start: number,
    private readonly offset: number,
    private readonly rng: Rng,
  ) {
    this.day = Math.floor((start + offset * HOUR_MS) / DAY_MS);
  }

  next(): number {
    while (this.pending.length === 0) {
      const begin = this.day * DAY_MS - this.offset * HOUR_MS + this.schedule.localMinuteOfDay * MINUTE_MS + this.rng.range(0, 20_000);
      this.day += 1;
      if (begin < this.start) continue;
      const times = Array.from({ length: this.schedule.tokens }, () => Math.floor(begin + this.rng.float() * this.schedule.spreadMinutes * MINUTE_MS));
      this.pending.push(...times.sort((a, b) => b - a));
    }
    return this.pending.pop() as number;
  }
}

/**
 * A weekly or monthly job: like a nightly batch, but only on one weekday, or monthly from one
 * day of the month on, 28 to 33 days apart (local time). Its long gaps are what dormant_client
 * must not mistake for a sleep, nor secret_new_location for a forgotten place.
 */
class Calendar implements RequestSource {
  readonly instance = -1;
  private readonly pending: number[] = [];
  private day: number;
  constructor(
    private readonly schedule: Extract<Schedule, { type: 'calendar' }>,
    private readonly start: number,
    private readonly offset: number,
    private readonly rng: Rng,
  ) {
    this.day = Math.floor((start + offset * HOUR_MS) / DAY_MS);
  }

  /** A monthly job's next run day, once its first run (on `schedule.day`) has been placed. */
  private nextMonthly: number | undefined;

  private runsOn(localDay: number): boolean {
    const date = new Date(localDay * DAY_MS);
    if (this.schedule.period === 'week') return date.getUTCDay() === this.schedule.day;
    return this.nextMonthly === undefined ? date.getUTCDate() === this.schedule.day : localDay === this.nextMonthly;
  }

  next(): number {
    while (this.pending.length === 0) {
      const day = this.day;
      this.day += 1;
      if (!this.runsOn(day)) continue;
      // Real monthly jobs drift (month ends, holidays, a skipped or late run): 28 to 33 days
      // apart, so some gaps are longer than a 30-day lookback, as in production.
      if (this.schedule.period === 'month') this.nextMonthly = day + this.rng.int(28, 33);
      const begin = day * DAY_MS - this.offset * HOUR_MS + this.schedule.localMinuteOfDay * MINUTE_MS + this.rng.range(0, 20_000);
      if (begin < this.start) continue;
      const times = Array.from({ length: this.schedule.tokens }, () => Math.floor(begin + this.rng.float() * this.schedule.spreadMinutes * MINUTE_MS));
      this.pending.push(...times.sort((a, b) => b - a));
    }
    return this.pending.pop() as number;
  }
}

/** Builds on weekdays, 08:00-19:00 local; each build mints its tokens within a minute or so. */
class Ci implements RequestSource {
  readonly instance = -1;
  private readonly pending: number[] = [];
  private time: number;
  constructor(
    private readonly schedule: Extract<Schedule, { type: 'ci' }>,
    start: number,
    private readonly offset: number,
    private readonly rng: Rng,
  ) {
    this.time = start;
  }

  private inHours(time: number): boolean {
    const hour = localHour(time, this.offset);
    return hour >= 8 && hour < 19 && !isWeekend(time, this.offset);
  }

  next(): number {
    while (this.pending.length === 0) {
      this.time += this.rng.exp(HOUR_MS / this.schedule.buildsPerHour);
      if (!this.inHours(this.time)) {
        // Skip to 08:00 local of the next working day rather than thinning through the night.
        const localDay = Math.floor((this.time + this.offset * HOUR_MS) / DAY_MS);
        let next = (localDay + (localHour(this.time, this.offset) >= 8 ? 1 : 0)) * DAY_MS - this.offset * HOUR_MS + 8 * HOUR_MS;
        while (isWeekend(next, this.offset)) next += DAY_MS;
        this.time = next;
        continue;
      }
      let at = this.time;
      const times: number[] = [];
      for (let i = 0; i < this.schedule.tokensPerBuild; i++) {
        times.push(Math.floor(at));
        at += this.rng.range(2_000, 90_000);
      }
      this.pending.push(...times.reverse());
      // The next build starts after this one's last token: times must never go backwards.
      this.time = Math.max(this.time, (times[0] as number) + 1);
    }
    return this.pending.pop() as number;
  }
}

export function requestSource(schedule: Schedule, start: number, utcOffsetHours: number, rng: Rng): RequestSource {
  switch (schedule.type) {
    case 'per_request':
      return new PerRequest(schedule, start, utcOffsetHours, rng);
    case 'cached':
      return new Cached(schedule, start, utcOffsetHours, rng);
    case 'cron':
      return new Cron(schedule, start, rng);
    case 'batch':
      return new Batch(schedule, start, utcOffsetHours, rng);
    case 'ci':
      return new Ci(schedule, start, utcOffsetHours, rng);
    case 'calendar':
      return new Calendar(schedule, start, utcOffsetHours, rng);
  }
}
