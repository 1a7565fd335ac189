import { dtypeOfArray, type TypedArray } from '../../dtype.js';
import { give, take } from './pool.js';

/** Copies a row-major [rows, cols] block into [cols, rows]. Blocked so both sides stay in cache. */
export function transpose2d(src: TypedArray, srcOff: number, rows: number, cols: number, dst: TypedArray, dstOff = 0): void {
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(i0 + B, rows);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(j0 + B, cols);
      for (let i = i0; i < i1; i++) {
        const s = srcOff + i * cols;
        for (let j = j0; j < j1; j++) dst[dstOff + j * rows + i] = src[s + j]!;
      }
    }
  }
}

const COL_BLOCK = 64;

/**
 * C[M,N] = A[M,K] * Bt[N,K]^T with A and Bt row-major, so every inner product walks two contiguous
 * rows. 4x4 register tiles (accumulated in doubles), columns blocked so a band of Bt stays in L2.
 */
function gemmABt(A: TypedArray, aOff: number, Bt: TypedArray, bOff: number, C: TypedArray, cOff: number, M: number, N: number, K: number): void {
  for (let j0 = 0; j0 < N; j0 += COL_BLOCK) {
    const j1 = Math.min(j0 + COL_BLOCK, N);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a0 = aOff + i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
      let j = j0;
      for (; j + 4 <= j1; j += 4) {
        const b0 = bOff + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let k = 0; k < K; k++) {
          const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
          const y0 = Bt[b0 + k]!, y1 = Bt[b1 + k]!, y2 = Bt[b2 + k]!, y3 = Bt[b3 + k]!;
          c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
          c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
          c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        }
        let c = cOff + i * N + j;
        C[c] = c00; C[c + 1] = c01; C[c + 2] = c02; C[c + 3] = c03; c += N;
        C[c] = c10; C[c + 1] = c11; C[c + 2] = c12; C[c + 3] = c13; c += N;
        C[c] = c20; C[c + 1] = c21; C[c + 2] = c22; C[c + 3] = c23; c += N;
        C[c] = c30; C[c + 1] = c31; C[c + 2] = c32; C[c + 3] = c33;
      }
      for (; j < j1; j++) {
        const b0 = bOff + j * K;
        let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (let k = 0; k < K; k++) {
          const y = Bt[b0 + k]!;
          c0 += A[a0 + k]! * y; c1 += A[a1 + k]! * y; c2 += A[a2 + k]! * y; c3 += A[a3 + k]! * y;
        }
        const c = cOff + i * N + j;
        C[c] = c0; C[c + N] = c1; C[c + 2 * N] = c2; C[c + 3 * N] = c3;
      }
    }
    for (; i < M; i++) {
      const a0 = aOff + i * K;
      for (let j = j0; j < j1; j++) {
        const b0 = bOff + j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[a0 + k]! * Bt[b0 + k]!;
        C[cOff + i * N + j] = s;
      }
    }
  }
}

/**
 * C[M,N] = A[M,K] * B[K,N] with B row-major, read in place: a tile's four B values at step k are
 * adjacent (B[k, j..j+3]), so no transposed copy is needed. Same tiles and the same summation order
 * as gemmABt, so the results are bit-identical; used while a tile's walk down K columns of B stays
 * in L1 (small K), where it saves the per-batch transpose.
 */
function gemmAB(A: TypedArray, aOff: number, B: TypedArray, bOff: number, C: TypedArray, cOff: number, M: number, N: number, K: number): void {
  for (let j0 = 0; j0 < N; j0 += COL_BLOCK) {
    const j1 = Math.min(j0 + COL_BLOCK, N);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      const a0 = aOff + i * K, a1 = a0 + K, a2 = a1 + K, a3 = a2 + K;
      let j = j0;
      for (; j + 4 <= j1; j += 4) {
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        let pb = bOff + j;
        for (let k = 0; k < K; k++, pb += N) {
          const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
          const y0 = B[pb]!, y1 = B[pb + 1]!, y2 = B[pb + 2]!, y3 = B[pb + 3]!;
          c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
          c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
          c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        }
        let c = cOff + i * N + j;
        C[c] = c00; C[c + 1] = c01; C[c + 2] = c02; C[c + 3] = c03; c += N;
        C[c] = c10; C[c + 1] = c11; C[c + 2] = c12; C[c + 3] = c13; c += N;
        C[c] = c20; C[c + 1] = c21; C[c + 2] = c22; C[c + 3] = c23; c += N;
        C[c] = c30; C[c + 1] = c31; C[c + 2] = c32; C[c + 3] = c33;
      }
      for (; j < j1; j++) {
        let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        let pb = bOff + j;
        for (let k = 0; k < K; k++, pb += N) {
          const y = B[pb]!;
          c0 += A[a0 + k]! * y; c1 += A[a1 + k]! * y; c2 += A[a2 + k]! * y; c3 += A[a3 + k]! * y;
        }
        const c = cOff + i * N + j;
        C[c] = c0; C[c + N] = c1; C[c + 2 * N] = c2; C[c + 3 * N] = c3;
      }
    }
    for (; i < M; i++) {
      const a0 = aOff + i * K;
      for (let j = j0; j < j1; j++) {
        let s = 0;
        for (let k = 0, pb = bOff + j; k < K; k++, pb += N) s += A[a0 + k]! * B[pb]!;
        C[cOff + i * N + j] = s;
      }
    }
  }
}

/** Up to this K, gemmAB reads B in place; beyond it a tile's column walk leaves L1 and packing wins. */
const IN_PLACE_MAX_K = 320;

/**
 * Batched matmul. `a` is [Ba, M, K] (or [Ba, K, M] when transA), `b` is [Bb, K, N] (or [Bb, N, K]
 * when transB); a batch of 1 broadcasts. A transposed A is repacked row-major; B is read in place
 * when it is already [N, K] (transB) or K is small (gemmAB), and repacked to [N, K] otherwise.
 */
export function matmulKernel(a: TypedArray, aShape: readonly number[], b: TypedArray, bShape: readonly number[], transA: boolean, transB: boolean, out: TypedArray): void {
  const [ba] = aShape as [number];
  const [bb] = bShape as [number];
  const M = transA ? aShape[2]! : aShape[1]!;
  const K = transA ? aShape[1]! : aShape[2]!;
  const N = transB ? bShape[1]! : bShape[2]!;
  const batch = Math.max(ba, bb);
  const dtype = dtypeOfArray(out);
  const packA = transA ? take(dtype, M * K, false) : null;
  const inPlaceB = !transB && K <= IN_PLACE_MAX_K;
  const packB = transB || inPlaceB ? null : take(dtype, N * K, false);
  let lastA = -1, lastB = -1;
  for (let t = 0; t < batch; t++) {
    const ia = ba === 1 ? 0 : t;
    const ib = bb === 1 ? 0 : t;
    let A = a, aOff = ia * M * K;
    if (packA) {
      if (ia !== lastA) transpose2d(a, aOff, K, M, packA);
      A = packA;
      aOff = 0;
    }
    let B = b, bOff = ib * K * N;
    if (packB) {
      if (ib !== lastB) transpose2d(b, bOff, K, N, packB);
      B = packB;
      bOff = 0;
    }
    lastA = ia;
    lastB = ib;
    if (inPlaceB) gemmAB(A, aOff, B, bOff, out, t * M * N, M, N, K);
    else gemmABt(A, aOff, B, bOff, out, t * M * N, M, N, K);
  }
  if (packA) give(packA);
  if (packB) give(packB);
}
