/**
 * Tensor comparison with a diff message that says where and by how much: the worst element (its
 * multi-index, value and expected value), and how many elements are out of tolerance.
 */
import type { Tensor } from '../../src/index.js';

export interface Tolerance {
  /** An element passes when |actual - expected| <= atol + rtol * |expected|. */
  atol: number;
  rtol: number;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1, rest = flat; d >= 0; d--) {
    idx[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  return idx;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(12) : String(v));

/** null when every element is within tolerance (NaN matches NaN, infinities match exactly); else the diff message. */
export function diffValues(actual: ArrayLike<number>, expected: ArrayLike<number>, shape: readonly number[], tol: Tolerance): string | null {
  if (actual.length !== expected.length) return `has ${actual.length} values, expected ${expected.length}`;
  let bad = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    let excess: number;
    if (Number.isNaN(e) || !Number.isFinite(e)) excess = Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)) ? -1 : Infinity;
    else if (Number.isNaN(a)) excess = Infinity;
    else excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > 0) {
      bad++;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (bad === 0) return null;
  const a = actual[worst]!;
  const e = expected[worst]!;
  const abs = Math.abs(a - e);
  const rel = abs / Math.max(Math.abs(e), Number.MIN_VALUE);
  return (
    `${bad} of ${actual.length} values out of tolerance (atol ${tol.atol}, rtol ${tol.rtol}); ` +
    `worst at [${unravel(worst, shape).join(', ')}] (flat ${worst}): got ${fmt(a)}, expected ${fmt(e)}, ` +
    `abs error ${abs.toExponential(2)}, rel error ${rel.toExponential(2)}`
  );
}

/** Throws with a readable diff when `actual` differs from `expected` in shape or values. */
export function expectClose(actual: Tensor, expected: { shape: readonly number[]; data: ArrayLike<number> }, tol: Tolerance, label: string): void {
  if (actual.shape.join() !== expected.shape.join()) {
    throw new Error(`${label}: shape [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]`);
  }
  const diff = diffValues(actual.dataSync() as ArrayLike<number>, expected.data, expected.shape, tol);
  if (diff) throw new Error(`${label}: ${diff}`);
}

/** Same check on raw arrays (finite-difference gradients have no tensor). */
export function expectCloseArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, shape: readonly number[], tol: Tolerance, label: string): void {
  const diff = diffValues(actual, expected, shape, tol);
  if (diff) throw new Error(`${label}: ${diff}`);
}
