/**
 * Seeded random numbers. Every random op takes an explicit `Generator`; the default one exists for
 * convenience and is reset by `manualSeed`. xoshiro128** (Blackman & Vigna): small, fast, and its
 * state round-trips through `getState`/`setState` so an experiment can resume exactly.
 */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;
  private seedValue = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new TypeError(`manualSeed: seed must be a finite number, got ${seed}`);
    this.seedValue = seed;
    // splitmix32 spreads any seed (including 0) over the whole state
    let x = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32)) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
    return this;
  }

  initialSeed(): number {
    return this.seedValue;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.random();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Uniform integer in [low, high). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }

  getState(): number[] {
    return [...this.s, this.spare ?? NaN, this.seedValue];
  }

  setState(state: readonly number[]): this {
    if (state.length !== 6) throw new TypeError(`setState: expected a state of 6 numbers from getState(), got ${state.length}`);
    for (let i = 0; i < 4; i++) this.s[i] = state[i]!;
    this.spare = Number.isNaN(state[4]) ? null : state[4]!;
    this.seedValue = state[5]!;
    return this;
  }

  /** In-place Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const tmp = p[i]!;
      p[i] = p[j]!;
      p[j] = tmp;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator random ops use when none is passed. */
export const defaultGenerator = new Generator(0);

/** Reseeds the default generator (PyTorch `torch.manual_seed`). */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
