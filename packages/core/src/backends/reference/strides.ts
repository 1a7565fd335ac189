import type { Shape } from '../../shape.js';
import { contiguousStrides } from '../../shape.js';

/** Strides that read a contiguous tensor of `shape` as if broadcast to `outShape` (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : own[i - off]!));
}

/**
 * Merges adjacent dims that every operand walks contiguously, and drops size-1 dims, so loops run
 * over as few, as long dims as possible. Always returns at least one dim.
 */
export function collapseDims(shape: Shape, strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k]![last] === s[d]! * size)) {
      outShape[last]! *= size;
      strides.forEach((s, k) => (outStrides[k]![last] = s[d]!));
    } else {
      outShape.push(size);
      strides.forEach((s, k) => outStrides[k]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}
