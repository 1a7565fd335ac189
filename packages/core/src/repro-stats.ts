/**
 * Statistics over seeds for reproductions' verdicts: a method's gain counts only when it stands
 * out of the noise between seeds, the same rule in every package.
 */

/** Mean of per-seed values. */
export function seedMean(values: readonly number[]): number {
  if (values.length === 0) throw new Error('seedMean: no values');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (n - 1) of per-seed values; 0 for a single seed. */
export function seedStd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = seedMean(values);
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

/**
 * Compares per-seed values `a` with `b`: `diff` is mean(a) - mean(b), `spread` the two seed
 * spreads combined (sqrt(std(a)^2 + std(b)^2)), and `sign` 1 when a is above b by more than the
 * spread, -1 when below by more, 0 when the difference is within it (undecided).
 */
export function compareSeeds(a: readonly number[], b: readonly number[]): { diff: number; spread: number; sign: -1 | 0 | 1 } {
  const diff = seedMean(a) - seedMean(b);
  const spread = Math.hypot(seedStd(a), seedStd(b));
  return { diff, spread, sign: diff > spread ? 1 : diff < -spread ? -1 : 0 };
}
