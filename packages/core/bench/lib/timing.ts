/**
 * Timing helpers for the benchmarks: warm up, then time `repeats` samples and report the median
 * and minimum. Fast operations run several times per sample so one sample is long enough for the
 * clock (and so the per-sample overhead of the harness disappears in the division).
 */
import { performance } from 'node:perf_hooks';

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export interface Sample {
  /** Median seconds per call over the samples. */
  median: number;
  /** Fastest sample, seconds per call. */
  min: number;
  /** Samples taken (each of `inner` calls). */
  repeats: number;
  /** Calls per sample. */
  inner: number;
  /**
   * Median process CPU seconds per call (all threads of the process). Unlike wall time it barely
   * moves when other jobs share the machine, so ratios from it are the steadier ones there.
   */
  cpuMedian: number;
}

export interface MeasureOptions {
  /** Untimed calls before measuring (JIT, caches, allocator). */
  warmup?: number;
  repeats?: number;
  /** Calls per sample; chosen from a trial call so a sample lasts about `targetSampleMs` when omitted. */
  inner?: number;
  targetSampleMs?: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times a synchronous `fn`. */
export function measure(fn: () => unknown, opts: MeasureOptions = {}): Sample {
  const warmup = opts.warmup ?? 2;
  const repeats = opts.repeats ?? 7;
  for (let i = 0; i < warmup; i++) fn();
  let inner = opts.inner;
  if (inner === undefined) {
    const t0 = performance.now();
    fn();
    const once = Math.max(performance.now() - t0, 1e-4);
    inner = Math.max(1, Math.min(1_000_000, Math.round((opts.targetSampleMs ?? 50) / once)));
  }
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    samples.push((performance.now() - t0) / 1000 / inner);
    cpu.push((cpuSeconds() - c0) / inner);
  }
  return { median: median(samples), min: Math.min(...samples), repeats, inner, cpuMedian: median(cpu) };
}

/** Times an async `fn` (each call awaited; for tfjs, whose readback is async). */
export async function measureAsync(fn: () => Promise<unknown>, opts: MeasureOptions = {}): Promise<Sample> {
  const warmup = opts.warmup ?? 2;
  const repeats = opts.repeats ?? 7;
  for (let i = 0; i < warmup; i++) await fn();
  const inner = opts.inner ?? 1;
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = cpuSeconds();
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) await fn();
    samples.push((performance.now() - t0) / 1000 / inner);
    cpu.push((cpuSeconds() - c0) / inner);
  }
  return { median: median(samples), min: Math.min(...samples), repeats, inner, cpuMedian: median(cpu) };
}
