/**
 * im2col / col2im written directly on tfjs-backend-wasm's memory. tfjs's own routes are slow for
 * them (GatherV2 copies element by element, about 100 ns each; Conv2DBackpropInput is a plain
 * loop and Conv2DBackpropFilter is missing), so these kernels read the input's bytes in the wasm
 * heap and write a freshly allocated output in place: row copies with `TypedArray.set` where the
 * stride is 1, a tight loop otherwise, the same walk as the reference backend's kernel.
 */
import type { Conv2dGeometry } from '@methodzoo/core';
import type { Tf, TfTensor } from './kernels.js';

type F32 = Float32Array;

interface WasmBackendInternals {
  getMemoryOffset(dataId: unknown): number;
  wasm: { HEAPF32: Float32Array };
}

/** A Float32Array over a float32 tensor's bytes in the wasm heap; null off the wasm backend. */
export function wasmHeapView(tf: Tf): ((t: TfTensor) => F32) | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.findBackend('wasm') as unknown as WasmBackendInternals;
  if (typeof be.getMemoryOffset !== 'function') return null;
  // the heap can grow (and its views be replaced) on any allocation: look it up per call
  return (t) => new Float32Array(be.wasm.HEAPF32.buffer, be.getMemoryOffset(t.dataId), t.size);
}

function walk(mode: 'unfold' | 'fold', img: F32, cols: F32, n: number, c: number, h: number, w: number, oh: number, ow: number, g: Conv2dGeometry): void {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const L = oh * ow;
  const rows = c * kh * kw;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const imgBase = (b * c + ch) * h * w;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          let colBase = (b * rows + (ch * kh + ki) * kw + kj) * L;
          const ox = kj * dw - pw;
          // output columns whose input column lies inside the image: ow0 <= o < ow1
          const ow0 = Math.min(ow, Math.max(0, Math.ceil(-ox / sw)));
          const ow1 = Math.max(ow0, Math.min(ow, Math.ceil((w - ox) / sw)));
          for (let o = 0; o < oh; o++, colBase += ow) {
            const iy = o * sh - ph + ki * dh;
            if (iy < 0 || iy >= h) continue; // the output was zero-filled
            const rowBase = imgBase + iy * w + ox;
            if (mode === 'unfold') {
              if (sw === 1) cols.set(img.subarray(rowBase + ow0, rowBase + ow1), colBase + ow0);
              else for (let p = ow0; p < ow1; p++) cols[colBase + p] = img[rowBase + p * sw]!;
            } else for (let p = ow0; p < ow1; p++) img[rowBase + p * sw]! += cols[colBase + p]!;
          }
        }
      }
    }
  }
}

/** x [N, C, H, W] (float32, wasm) -> cols [N, C*kh*kw, OH*OW]. */
export function unfoldOnHeap(tf: Tf, view: (t: TfTensor) => F32, x: TfTensor, g: Conv2dGeometry, outShape: number[], oh: number): TfTensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = tf.zeros(outShape, 'float32');
  walk('unfold', view(x), view(out), n, c, h, w, oh, outShape[2]! / oh, g);
  return out;
}

/** cols [N, C*kh*kw, OH*OW] (float32, wasm) -> [N, C, H, W], overlapping windows summed. */
export function foldOnHeap(tf: Tf, view: (t: TfTensor) => F32, cols: TfTensor, g: Conv2dGeometry, outShape: number[], oh: number): TfTensor {
  const [n, c, h, w] = outShape as [number, number, number, number];
  const out = tf.zeros(outShape, 'float32');
  walk('fold', view(out), view(cols), n, c, h, w, oh, cols.shape[2]! / oh, g);
  return out;
}


/** x [N, A, B, C] (float32, wasm) -> x[:, r0:r0+H, c0:c0+W, :] as one contiguous copy per row (tfjs-wasm's Slice is a per-element loop). */
export function cropNhwcOnHeap(tf: Tf, view: (t: TfTensor) => F32, x: TfTensor, r0: number, c0: number, h: number, w: number): TfTensor {
  const [n, a, b, c] = x.shape as [number, number, number, number];
  const out = tf.zeros([n, h, w, c], 'float32');
  const src = view(x);
  const dst = view(out);
  const run = w * c;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < h; r++) {
      const from = ((i * a + r0 + r) * b + c0) * c;
      dst.set(src.subarray(from, from + run), (i * h + r) * run);
    }
  }
  return out;
}
