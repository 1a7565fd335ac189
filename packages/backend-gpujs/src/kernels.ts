/**
 * The core's primitives as gpu.js kernels (sources in `sources.ts`). Shapes are collapsed and
 * turned into stride lists on the host; the kernels do the per-element work. Calls a kernel cannot
 * do exactly throw `KernelFallback` with the reason, and the core runs the reference kernel.
 */
import { type DType, type Kernel, KernelFallback, type KernelTable, type KernelTensor, OpError } from '@methodzoo/core';
import { type Arg, type Engine, GpujsHandle } from './engine.js';
import * as src from './sources.js';
import { BINARY_OPS, COMPARE_OPS, UNARY_OPS } from './sources.js';

type T = KernelTensor<GpujsHandle>;

/** f32 index arithmetic is exact below 2^24. */
const MAX_CELLS = 2 ** 24;

export const F32_ONLY = 'int32/bool values: gpu.js kernels compute in f32, exact only below 2^24, so the reference keeps them exact';

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Strides reading `shape` broadcast to `outShape` (0 on broadcast dims). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = strides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : own[i - off]!));
}

/** Merges dims every operand walks contiguously and drops size-1 dims (fewer loop steps per cell). */
function collapse(shape: readonly number[], operandStrides: number[][]): { shape: number[]; strides: number[][] } {
  const out: number[] = [];
  const outS: number[][] = operandStrides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = out.length - 1;
    if (last >= 0 && operandStrides.every((s, k) => outS[k]![last] === s[d]! * n)) {
      out[last]! *= n;
      operandStrides.forEach((s, k) => (outS[k]![last] = s[d]!));
    } else {
      out.push(n);
      operandStrides.forEach((s, k) => outS[k]!.push(s[d]!));
    }
  }
  if (out.length === 0) return { shape: [1], strides: operandStrides.map(() => [0]) };
  return { shape: out, strides: outS };
}

function checkCells(n: number): void {
  if (n >= MAX_CELLS) throw new KernelFallback('2^24 or more elements: gpu.js index arithmetic is f32');
}

/** Index values are checked on the host when known (the reference's error), before any kernel reads them. */
function checkIndex(op: string, index: T, dim: number): void {
  const h = index.data;
  if (!h.host) return;
  for (const j of h.host) if (j < 0 || j >= dim) throw new OpError(op, `index ${j} is out of bounds for dimension of size ${dim}`);
}

export function makeKernels(engine: Engine): KernelTable<GpujsHandle> {
  /**
   * int32/bool values go to the reference kernel (exact) when their values are on the host. On the
   * async engines an input may still be a queued kernel result, which the reference cannot read
   * synchronously: then the f32 kernel runs (exact below 2^24).
   */
  const onlyFloat32 = (...ts: T[]): void => {
    if (ts.every((t) => t.dtype === 'float32')) return;
    if (engine.async && ts.some((t) => t.data.host === null)) return;
    throw new KernelFallback(F32_ONLY);
  };
  const launch = (key: string, source: string, out: { shape: readonly number[]; dtype: DType }, args: Arg[]) => {
    const n = size(out.shape);
    checkCells(n);
    return engine.launch(key, source, n, out.dtype, args);
  };
  const unary = Object.fromEntries(
    UNARY_OPS.map((op) => {
      const source = src.unarySource(op);
      const k: Kernel<typeof op, GpujsHandle> = ([x], _a, out) => {
        onlyFloat32(x!);
        return launch(`unary:${op}`, source, out, [x!.data]);
      };
      return [op, k];
    }),
  );
  const binary = Object.fromEntries(
    [...BINARY_OPS, ...COMPARE_OPS].map((op) => {
      const flat = src.binaryFlatSource(op);
      const strided = src.binaryStridedSource(op);
      const k: Kernel<typeof op, GpujsHandle> = ([a, b], _a, out) => {
        onlyFloat32(a!, b!);
        if (a!.shape.join() === b!.shape.join()) return launch(`binary:${op}`, flat, out, [a!.data, b!.data]);
        const c = collapse(out.shape, [broadcastStrides(a!.shape, out.shape), broadcastStrides(b!.shape, out.shape)]);
        return launch(`binary-strided:${op}`, strided, out, [a!.data, b!.data, c.shape, c.strides[0]!, c.strides[1]!, c.shape.length]);
      };
      return [op, k];
    }),
  );
  const reduce = (kind: 'sum' | 'max' | 'min'): Kernel<'sum' | 'max' | 'min', GpujsHandle> => {
    const source = src.reduceSource(kind);
    const source2 = src.reduce2Source(kind);
    return ([x], attrs, out) => {
      onlyFloat32(x!);
      // a 0-d tensor reduced over "dim 0" is itself
      const axes = attrs.axes.filter((d) => d < x!.shape.length);
      const xs = strides(x!.shape);
      const kept = collapse(out.shape, [x!.shape.map((_, d) => (axes.includes(d) ? 0 : xs[d]!))]);
      const rshape = axes.map((d) => x!.shape[d]!);
      const red = collapse(rshape, [axes.map((d) => xs[d]!)]);
      const keptArgs = [x!.data, kept.shape, kept.strides[0]!, kept.shape.length];
      if (red.shape.length <= 2) {
        const [n0, n1] = red.shape.length === 2 ? red.shape : [1, red.shape[0]!];
        const [s0, s1] = red.shape.length === 2 ? red.strides[0]! : [0, red.strides[0]![0]!];
        return launch(`reduce2:${kind}`, source2, out, [...keptArgs, n0!, s0!, n1!, s1!]);
      }
      return launch(`reduce:${kind}`, source, out, [...keptArgs, red.shape, red.strides[0]!, red.shape.length, size(rshape)]);
    };
  };
  const argReduce = (kind: 'argmax' | 'argmin'): Kernel<'argmax' | 'argmin', GpujsHandle> => {
    const source = src.argReduceSource(kind);
    return ([x], { axis }, out) => {
      onlyFloat32(x!);
      return launch(`arg:${kind}`, source, out, [x!.data, x!.shape[axis]!, strides(x!.shape)[axis]!]);
    };
  };
  /** out[i] = x[base + coords(i) . st] over the output shape. */
  const strided = (x: T, out: { shape: readonly number[]; dtype: DType }, st: number[], base: number) => {
    const c = collapse(out.shape, [st]);
    return launch('strided', src.stridedSource, out, [x.data, c.shape, c.strides[0]!, c.shape.length, base]);
  };
  const embed = (x: T, out: { shape: readonly number[]; dtype: DType }, begin: readonly number[], step: readonly number[], fill: number) =>
    launch('embed', src.embedSource, out, [x.data, out.shape, begin, step, x.shape, strides(x.shape), out.shape.length, fill]);
  const conv = (x: T, g: { kernel: [number, number]; stride: [number, number]; padding: [number, number]; dilation: [number, number] }, c: number, h: number, w: number, oh: number, ow: number): Arg[] => [
    x.data,
    c,
    h,
    w,
    g.kernel[0],
    g.kernel[1],
    g.stride[0],
    g.stride[1],
    g.padding[0],
    g.padding[1],
    g.dilation[0],
    g.dilation[1],
    oh,
    ow,
  ];

  return {
    ...(unary as { [K in (typeof UNARY_OPS)[number]]: Kernel<K, GpujsHandle> }),
    ...(binary as { [K in (typeof BINARY_OPS)[number] | (typeof COMPARE_OPS)[number]]: Kernel<K, GpujsHandle> }),
    where: ([c, a, b], _a, out) => {
      onlyFloat32(a!, b!);
      const s = collapse(out.shape, [broadcastStrides(c!.shape, out.shape), broadcastStrides(a!.shape, out.shape), broadcastStrides(b!.shape, out.shape)]);
      return launch('where', src.whereSource, out, [c!.data, a!.data, b!.data, s.shape, s.strides[0]!, s.strides[1]!, s.strides[2]!, s.shape.length]);
    },
    cast: ([x], { dtype }, out) => {
      if (dtype === 'float64' || x!.dtype === 'float64') throw new KernelFallback('float64: gpu.js has no f64');
      // int32 -> float32 is the host's f32 conversion itself; float32 -> int32 truncates
      const mode = dtype === 'bool' ? 2 : dtype === 'int32' && x!.dtype === 'float32' ? 1 : 0;
      return launch('cast', src.castSource, out, [x!.data, mode]);
    },
    sum: reduce('sum'),
    max: reduce('max'),
    min: reduce('min'),
    argmax: argReduce('argmax'),
    argmin: argReduce('argmin'),
    reshape: ([x], _a, out) => strided(x!, out, strides(out.shape), 0),
    permute: ([x], { perm }, out) => {
      onlyFloat32(x!);
      const xs = strides(x!.shape);
      return strided(x!, out, perm.map((p) => xs[p]!), 0);
    },
    expand: ([x], _a, out) => {
      onlyFloat32(x!);
      return strided(x!, out, broadcastStrides(x!.shape, out.shape), 0);
    },
    slice: ([x], { begin, step }, out) => {
      onlyFloat32(x!);
      const xs = strides(x!.shape);
      return strided(x!, out, xs.map((s, d) => s * step[d]!), begin.reduce((acc, b, d) => acc + b * xs[d]!, 0));
    },
    unslice: ([x], { begin, step }, out) => {
      onlyFloat32(x!);
      return embed(x!, out, begin, step, 0);
    },
    pad: ([x], { before, value }, out) => {
      onlyFloat32(x!);
      return embed(x!, out, before, before.map(() => 1), value);
    },
    cat: (xs, { axis }, out) => {
      onlyFloat32(...xs);
      const inner = size(out.shape.slice(axis + 1));
      const outer = size(out.shape.slice(0, axis));
      const parts = xs.filter((x) => x.shape[axis]! > 0);
      if (parts.length === 0) return launch('strided', src.stridedSource, out, [xs[0]!.data, [1], [0], 1, 0]);
      let acc = parts[0]!;
      let len = acc.shape[axis]!;
      if (parts.length === 1) return strided(acc, out, strides(out.shape), 0);
      const made: GpujsHandle[] = [];
      for (let i = 1; i < parts.length; i++) {
        const next = parts[i]!;
        const lb = next.shape[axis]!;
        const shape = [outer, len + lb, inner];
        const h = launch('cat2', src.cat2Source, { shape, dtype: out.dtype }, [acc.data, next.data, len, lb, inner]);
        made.push(h);
        acc = { data: h, shape, dtype: out.dtype };
        len += lb;
      }
      // intermediates of a many-way cat are freed once the last one has read them
      for (const h of made.slice(0, -1)) engine.release(h);
      return made[made.length - 1]!;
    },
    matmul: ([a, b], { transA, transB }, out) => {
      onlyFloat32(a!, b!);
      const [, m, n] = out.shape as [number, number, number];
      const k = transA ? a!.shape[1]! : a!.shape[2]!;
      const [ba, r1, c1] = a!.shape as [number, number, number];
      const [bb, r2, c2] = b!.shape as [number, number, number];
      // element (row, q) of op(A) and (q, col) of op(B), as strides
      const sam = transA ? 1 : c1;
      const sak = transA ? c1 : 1;
      const sbk = transB ? 1 : c2;
      const sbn = transB ? c2 : 1;
      const sab = ba === 1 ? 0 : r1 * c1;
      if (sbk !== 1 && k * n >= 1 << 16) {
        // each cell walks a column of B: for a large B, one strided copy into B^T (rows of k) first
        // makes those walks contiguous, about 1.3-1.5x faster overall at 512-1024
        const bt = strided(b!, { shape: [bb, n, k], dtype: 'float32' }, [r2 * c2, sbn, sbk], 0);
        const h = launch('matmul', src.matmulSource, out, [a!.data, bt, m, n, k, sab, sam, sak, bb === 1 ? 0 : n * k, 1, k]);
        engine.release(bt);
        return h;
      }
      return launch('matmul', src.matmulSource, out, [a!.data, b!.data, m, n, k, sab, sam, sak, bb === 1 ? 0 : r2 * c2, sbk, sbn]);
    },
    unfold: ([x], g, out) => {
      onlyFloat32(x!);
      const [, c, h, w] = x!.shape as [number, number, number, number];
      const l = out.shape[2]!;
      const ow = Math.floor((w + 2 * g.padding[1] - g.dilation[1] * (g.kernel[1] - 1) - 1) / g.stride[1]) + 1;
      return launch('unfold', src.unfoldSource, out, conv(x!, g, c, h, w, l / ow, ow));
    },
    fold: ([x], g, out) => {
      onlyFloat32(x!);
      const [, c, h, w] = out.shape as [number, number, number, number];
      const oh = Math.floor((h + 2 * g.padding[0] - g.dilation[0] * (g.kernel[0] - 1) - 1) / g.stride[0]) + 1;
      const ow = Math.floor((w + 2 * g.padding[1] - g.dilation[1] * (g.kernel[1] - 1) - 1) / g.stride[1]) + 1;
      return launch('fold', src.foldSource, out, conv(x!, g, c, h, w, oh, ow));
    },
    gather: ([x, index], { axis }, out) => {
      onlyFloat32(x!);
      checkIndex('gather', index!, x!.shape[axis]!);
      const xs = strides(x!.shape);
      return launch('gather', src.gatherSource, out, [x!.data, index!.data, index!.shape, xs, index!.shape.length, axis, xs[axis]!]);
    },
    scatterAdd: ([x, index, src_], { axis }, out) => {
      onlyFloat32(x!, src_!);
      checkIndex('scatterAdd', index!, x!.shape[axis]!);
      return launch('scatterAdd', src.scatterAddSource, out, [x!.data, index!.data, src_!.data, x!.shape, index!.shape, strides(index!.shape), x!.shape.length, axis, index!.shape[axis]!]);
    },
    indexSelect: ([x, index], { axis }, out) => {
      onlyFloat32(x!);
      checkIndex('indexSelect', index!, x!.shape[axis]!);
      return launch('indexSelect', src.indexSelectSource, out, [x!.data, index!.data, index!.shape[0]!, x!.shape[axis]!, size(x!.shape.slice(axis + 1))]);
    },
    indexAdd: ([x, index, src_], { axis }, out) => {
      onlyFloat32(x!, src_!);
      checkIndex('indexAdd', index!, x!.shape[axis]!);
      return launch('indexAdd', src.indexAddSource, out, [x!.data, index!.data, src_!.data, index!.shape[0]!, x!.shape[axis]!, size(x!.shape.slice(axis + 1))]);
    },
  } satisfies KernelTable<GpujsHandle> as KernelTable<GpujsHandle>;
}

