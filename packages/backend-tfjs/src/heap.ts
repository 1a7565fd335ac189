/**
 * Kernels written directly on tfjs-backend-wasm's memory. Outside XNNPACK (matmul, convolution,
 * plain elementwise arithmetic), tfjs-wasm's kernels are scalar loops that index every element
 * through its broadcast coordinates: its comparisons, Select, Tile, Slice and GatherV2 run at 5-100
 * ns per element. For those ops this file runs the reference backend's loops (`arrayKernels`) on
 * views of the operands' bytes in the wasm heap and writes an output tensor allocated there, so
 * nothing is copied and the loops are the ones every backend is tested against.
 */
import { arrayKernels, type Conv2dGeometry, type DType, type TypedArray } from '@methodzoo/core';
import type { Tf, TfTensor } from './kernels.js';

interface WasmBackendInternals {
  getMemoryOffset(dataId: unknown): number;
  makeOutput(shape: number[], dtype: string): { dataId: unknown; shape: number[]; dtype: string };
  wasm: { HEAPF32: Float32Array; wasmMemory?: { buffer: ArrayBufferLike } };
}
interface EngineInternals {
  makeTensorFromTensorInfo(info: unknown): TfTensor;
}

export interface WasmHeap {
  /** A typed array over the tensor's bytes (float32, int32, or bool as bytes). */
  view(t: TfTensor): TypedArray;
  /** A new tensor on the heap, uninitialised. */
  alloc(shape: number[], dtype: DType): TfTensor;
}

/** Direct access to tfjs-backend-wasm's heap; null on any other tfjs backend. */
export function wasmHeap(tf: Tf): WasmHeap | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.findBackend('wasm') as unknown as WasmBackendInternals;
  const engine = tf.engine() as unknown as EngineInternals;
  if (typeof be.getMemoryOffset !== 'function' || typeof be.makeOutput !== 'function' || typeof engine.makeTensorFromTensorInfo !== 'function') return null;
  // the heap can grow (and its buffer be replaced) on any allocation: look it up per call
  const buffer = () => (be.wasm.wasmMemory ?? be.wasm.HEAPF32).buffer;
  return {
    view(t) {
      const offset = be.getMemoryOffset(t.dataId);
      if (t.dtype === 'float32') return new Float32Array(buffer(), offset, t.size);
      if (t.dtype === 'int32') return new Int32Array(buffer(), offset, t.size);
      if (t.dtype === 'bool') return new Uint8Array(buffer(), offset, t.size);
      throw new Error(`no heap view for dtype ${t.dtype}`);
    },
    alloc: (shape, dtype) => engine.makeTensorFromTensorInfo(be.makeOutput(shape, dtype)),
  };
}

/** x [N, C, H, W] -> cols [N, C*kh*kw, OH*OW]. */
export function unfoldOnHeap(heap: WasmHeap, x: TfTensor, g: Conv2dGeometry, outShape: number[], oh: number): TfTensor {
  const out = heap.alloc(outShape, x.dtype as DType);
  arrayKernels.unfoldKernel(heap.view(x), x.shape, g, heap.view(out), [oh, outShape[2]! / oh]);
  return out;
}

/** cols [N, C*kh*kw, OH*OW] -> [N, C, H, W], overlapping windows summed. */
export function foldOnHeap(heap: WasmHeap, cols: TfTensor, g: Conv2dGeometry, outShape: number[], oh: number): TfTensor {
  const out = heap.alloc(outShape, cols.dtype as DType);
  const img = heap.view(out).fill(0);
  arrayKernels.foldKernel(heap.view(cols), g, img, outShape, [oh, cols.shape[2]! / oh]);
  return out;
}

/**
 * The sub-pixel phases of a strided convolution's input gradient, put together: phase (rh, rw)
 * [N, QH, QW, C] (NHWC; null where the phase has no taps, i.e. zeros) holds padded-input rows
 * q * sh + rh and columns q * sw + rw; the result is [N, C, H, W] without the padding. One pass
 * replaces a concat, a 6-D transpose, a crop and an NHWC -> NCHW transpose.
 */
export function interleavePhasesOnHeap(heap: WasmHeap, phases: (TfTensor | null)[], stride: [number, number], padding: [number, number], outShape: [number, number, number, number]): TfTensor {
  const [n, c, h, w] = outShape;
  const [sh, sw] = stride;
  const [ph, pw] = padding;
  const out = heap.alloc(outShape, 'float32');
  const dst = heap.view(out);
  if (phases.includes(null)) dst.fill(0);
  phases.forEach((phase, r) => {
    if (!phase) return;
    const [, qh, qw] = phase.shape as [number, number, number, number];
    const src = heap.view(phase);
    const [rh, rw] = [Math.floor(r / sw), r % sw];
    // phase rows/columns that land inside the unpadded image
    const qy0 = Math.max(0, Math.ceil((ph - rh) / sh));
    const qy1 = Math.min(qh, Math.ceil((h + ph - rh) / sh));
    const qx0 = Math.max(0, Math.ceil((pw - rw) / sw));
    const qx1 = Math.min(qw, Math.ceil((w + pw - rw) / sw));
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const plane = (b * c + ch) * h * w;
        for (let qy = qy0; qy < qy1; qy++) {
          const row = plane + (qy * sh + rh - ph) * w + rw - pw;
          let s = ((b * qh + qy) * qw + qx0) * c + ch;
          for (let qx = qx0; qx < qx1; qx++, s += c) dst[row + qx * sw] = src[s]!;
        }
      }
    }
  });
  return out;
}
