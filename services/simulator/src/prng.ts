/**
 * A small seeded PRNG (sfc32 seeded through splitmix32), so the same seed gives the same traffic
 * on every machine and Node version; Math.random cannot be seeded. Each client and each attack
 * gets its own generator (`fork`), so adding an attack or a client never shifts anyone else's draws.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    let state = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream | 0, 0x85ebca6b) ^ 0x2545f491) >>> 0;
    const next = () => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A child generator for a named purpose: independent of how much this one is used later. */
  fork(stream: number): Rng {
    return new Rng(this.a ^ this.c, stream ^ this.b);
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4_294_967_296;
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  range(min: number, max: number): number {
    return min + this.float() * (max - min);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.float() * items.length)] as T;
  }

  /** An item with probability proportional to its weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, weight]) => sum + weight, 0);
    let x = this.float() * total;
    for (const [item, weight] of items) {
      x -= weight;
      if (x < 0) return item;
    }
    return (items[items.length - 1] as readonly [T, number])[0];
  }

  /** Exponentially distributed waiting time with the given mean (a Poisson process's gaps). */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  /** `length` lower-case hex digits. */
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += HEX8[this.u32() & 0xff]! + HEX8[this.u32() & 0xff]!;
    return out.slice(0, length);
  }

  /** A random (version 4) UUID: jti values, Entra key ids. */
  uuid(): string {
    const a = this.u32();
    const b = this.u32();
    const c = this.u32();
    const d = this.u32();
    return (
      h32(a) +
      '-' +
      h16(b >>> 16) +
      '-4' +
      h16(b & 0xfff).slice(1) +
      '-' +
      h16(((c >>> 16) & 0x3fff) | 0x8000) +
      '-' +
      h16(c & 0xffff) +
      h32(d)
    );
  }

  /** `length` characters from `alphabet` (ids in a vendor's style). */
  chars(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.float() * alphabet.length)];
    return out;
  }
}

const HEX8 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const h16 = (value: number) => HEX8[(value >>> 8) & 0xff]! + HEX8[value & 0xff]!;
const h32 = (value: number) => h16(value >>> 16) + h16(value & 0xffff);

/** A stable 32-bit hash of a string (FNV-1a), to derive generator streams from names. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
