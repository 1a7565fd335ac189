import { describe, expect, it } from 'vitest';
import { compareSeeds, seedMean, seedStd } from '../src/index.js';

describe('seed statistics for verdicts', () => {
  it('mean and sample std (n - 1), 0 for one seed', () => {
    expect(seedMean([1, 2, 6])).toBe(3);
    expect(seedStd([1, 2, 6])).toBeCloseTo(Math.sqrt(7), 12);
    expect(seedStd([5])).toBe(0);
    expect(() => seedMean([])).toThrow(/no values/);
  });

  it('counts a difference only beyond the combined spread', () => {
    // means 11 vs 10, stds 1 and 1: spread sqrt(2) > 1, undecided
    expect(compareSeeds([10, 11, 12], [9, 10, 11])).toEqual({ diff: 1, spread: Math.SQRT2, sign: 0 });
    expect(compareSeeds([13, 14, 15], [9, 10, 11]).sign).toBe(1);
    expect(compareSeeds([5, 6, 7], [9, 10, 11]).sign).toBe(-1);
    // one seed each: any difference counts
    expect(compareSeeds([0.5], [0.4]).sign).toBe(1);
  });
});
