/**
 * gpu.js kernel sources. Each is a string (not a function) so that no TypeScript or bundler
 * transform can reshape the code gpu.js parses. Every kernel writes a flat 1-D output and
 * computes its own coordinates from `this.thread.x`; shapes and strides arrive as array arguments
 * (padded to at least one entry), so one compiled kernel serves every shape of its rank class.
 * gpu.js computes in f32: flat indices are exact below 2^24 elements, which the backend checks.
 */
import type { PrimName } from '@methodzoo/core';

// The core's elementwise primitives (the type checks each name; the kernel table checks none is missing).
export const UNARY_OPS = ['neg', 'abs', 'exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'sign', 'erf', 'floor'] as const satisfies readonly PrimName[];
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const satisfies readonly PrimName[];
export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const satisfies readonly PrimName[];
export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];
export type CompareOp = (typeof COMPARE_OPS)[number];

// Coordinates of `rem` in `shape` (rank dims, last fastest) dotted with `strides`.
const OFFSET = (rem: string, shape: string, strides: string, rank: string, acc: string) => `
  for (let d = ${rank} - 1; d >= 0; d--) {
    const s = ${shape}[d];
    const c = ${rem} % s;
    ${rem} = Math.floor(${rem} / s);
    ${acc} += c * ${strides}[d];
  }`;

const UNARY_EXPR: Record<Exclude<UnaryOp, 'erf' | 'relu' | 'sign'>, string> = {
  neg: '-v',
  abs: 'Math.abs(v)',
  exp: 'Math.exp(v)',
  log: 'Math.log(v)',
  log1p: 'Math.log1p(v)',
  sqrt: 'Math.sqrt(v)',
  rsqrt: '1 / Math.sqrt(v)',
  sin: 'Math.sin(v)',
  cos: 'Math.cos(v)',
  tanh: 'Math.tanh(v)',
  sigmoid: '1 / (1 + Math.exp(-v))',
  floor: 'Math.floor(v)',
};
const ARITH_EXPR: Record<Exclude<BinaryOp, 'maximum' | 'minimum'>, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'Math.pow(a, b)',
};
const COMPARE_EXPR: Record<CompareOp, string> = { eq: '===', ne: '!==', lt: '<', le: '<=', gt: '>', ge: '>=' };

/** Statement-level bodies for ops whose expression needs a local. */
function unaryBody(op: UnaryOp): string {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below f32's resolution near 1): gpu.js has no erf
  if (op === 'erf') {
    return `const t = 1 / (1 + 0.3275911 * Math.abs(v));
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-v * v);
  if (v < 0) { return -y; }
  return y;`;
  }
  if (op === 'relu') return 'if (v > 0) { return v; }\n  return 0;';
  if (op === 'sign') return 'if (v > 0) { return 1; }\n  if (v < 0) { return -1; }\n  return v;';
  return `return ${UNARY_EXPR[op]};`;
}

export const unarySource = (op: UnaryOp) => `function(x) {
  const v = x[this.thread.x];
  ${unaryBody(op)}
}`;

function binaryBody(op: BinaryOp | CompareOp): string {
  // NaN propagates through maximum/minimum, as in PyTorch (Math.max in wasm's f32.max does too, but WGSL's max does not promise it)
  if (op === 'maximum') return 'if (a > b || a !== a) { return a; }\n  return b;';
  if (op === 'minimum') return 'if (a < b || a !== a) { return a; }\n  return b;';
  if (op in COMPARE_EXPR) return `if (a ${COMPARE_EXPR[op as CompareOp]} b) { return 1; }\n  return 0;`;
  return `return ${ARITH_EXPR[op as keyof typeof ARITH_EXPR]};`;
}

/** Same-shape operands: no index arithmetic. */
export const binaryFlatSource = (op: BinaryOp | CompareOp) => `function(x, y) {
  const a = x[this.thread.x];
  const b = y[this.thread.x];
  ${binaryBody(op)}
}`;

/** Broadcasting operands: strides are 0 on broadcast dims. */
export const binaryStridedSource = (op: BinaryOp | CompareOp) => `function(x, y, shape, sx, sy, rank) {
  let rem = this.thread.x;
  let ix = 0;
  let iy = 0;
  for (let d = rank - 1; d >= 0; d--) {
    const s = shape[d];
    const c = rem % s;
    rem = Math.floor(rem / s);
    ix += c * sx[d];
    iy += c * sy[d];
  }
  const a = x[ix];
  const b = y[iy];
  ${binaryBody(op)}
}`;

export const whereSource = `function(cond, x, y, shape, sc, sx, sy, rank) {
  let rem = this.thread.x;
  let ic = 0;
  let ix = 0;
  let iy = 0;
  for (let d = rank - 1; d >= 0; d--) {
    const s = shape[d];
    const c = rem % s;
    rem = Math.floor(rem / s);
    ic += c * sc[d];
    ix += c * sx[d];
    iy += c * sy[d];
  }
  if (cond[ic] !== 0) { return x[ix]; }
  return y[iy];
}`;

/** cast: 0 = identity (the host already converted int32/bool to f32), 1 = truncate, 2 = to bool. */
export const castSource = `function(x, mode) {
  const v = x[this.thread.x];
  if (mode === 1) { return Math.trunc(v); }
  if (mode === 2) {
    if (v !== 0) { return 1; }
    return 0;
  }
  return v;
}`;

/** Strided read: permute, expand and slice are all `out[i] = x[base + coords(i) . strides]`. */
export const stridedSource = `function(x, shape, strides, rank, base) {
  let rem = this.thread.x;
  let off = base;${OFFSET('rem', 'shape', 'strides', 'rank', 'off')}
  return x[off];
}`;

/**
 * unslice and pad: out[c] = x[(c - begin) / step] where that lands on an input element, else `fill`.
 * `shape` is the output's; `inShape`/`inStrides` the input's.
 */
export const embedSource = `function(x, shape, begin, step, inShape, inStrides, rank, fill) {
  let rem = this.thread.x;
  let off = 0;
  let inside = 1;
  for (let d = rank - 1; d >= 0; d--) {
    const s = shape[d];
    const c = rem % s;
    rem = Math.floor(rem / s);
    const t = c - begin[d];
    const q = Math.floor(t / step[d]);
    if (t < 0 || t - q * step[d] !== 0 || q >= inShape[d]) { inside = 0; }
    off += q * inStrides[d];
  }
  if (inside === 1) { return x[off]; }
  return fill;
}`;

/** Two-way concatenation viewed as [outer, la + lb, inner]; cat of n tensors folds over it. */
export const cat2Source = `function(x, y, la, lb, inner) {
  const i = this.thread.x;
  const r = i % inner;
  const t = Math.floor(i / inner);
  const l = la + lb;
  const k = t % l;
  const o = Math.floor(t / l);
  if (k < la) { return x[(o * la + k) * inner + r]; }
  return y[(o * lb + k - la) * inner + r];
}`;

const REDUCE_INIT = { sum: '0', max: '-Infinity', min: 'Infinity' } as const;
const REDUCE_STEP = { sum: 'acc += v;', max: 'if (v > acc || v !== v) { acc = v; }', min: 'if (v < acc || v !== v) { acc = v; }' } as const;

/** Reductions with kept dims: kept coordinates give the base offset, then a walk over the reduced ones. */
export const reduceSource = (kind: 'sum' | 'max' | 'min') => `function(x, shape, strides, rank, rshape, rstrides, rrank, count) {
  let rem = this.thread.x;
  let base = 0;${OFFSET('rem', 'shape', 'strides', 'rank', 'base')}
  let acc = ${REDUCE_INIT[kind]};
  for (let j = 0; j < count; j++) {
    let r = j;
    let off = base;${OFFSET('r', 'rshape', 'rstrides', 'rrank', 'off')}
    const v = x[off];
    ${REDUCE_STEP[kind]}
  }
  return acc;
}`;

/** The common case: reduced dims that collapse to at most two (outer n0 by s0, inner n1 by s1), walked by adding strides. */
export const reduce2Source = (kind: 'sum' | 'max' | 'min') => `function(x, shape, strides, rank, n0, s0, n1, s1) {
  let rem = this.thread.x;
  let base = 0;${OFFSET('rem', 'shape', 'strides', 'rank', 'base')}
  let acc = ${REDUCE_INIT[kind]};
  for (let j0 = 0; j0 < n0; j0++) {
    let off = base + j0 * s0;
    for (let j1 = 0; j1 < n1; j1++) {
      const v = x[off];
      ${REDUCE_STEP[kind]}
      off += s1;
    }
  }
  return acc;
}`;

/** First index of the max (min) along an axis viewed as [outer, n, inner]; NaN counts as the extreme. */
export const argReduceSource = (kind: 'argmax' | 'argmin') => `function(x, n, inner) {
  const i = this.thread.x;
  const j = i % inner;
  const o = Math.floor(i / inner);
  const base = o * n * inner + j;
  let best = x[base];
  let bi = 0;
  for (let k = 1; k < n; k++) {
    const v = x[base + k * inner];
    if (best === best && (v ${kind === 'argmax' ? '>' : '<'} best || v !== v)) {
      best = v;
      bi = k;
    }
  }
  return bi;
}`;

/**
 * Batched matmul with any operand layout (transposes and batch broadcast are strides). The inner
 * loop steps its read positions by adding strides: recomputing `base + q * stride` each step costs
 * gpu.js's wasm about twice as much.
 */
export const matmulSource = `function(a, b, m, n, k, sab, sam, sak, sbb, sbk, sbn) {
  const i = this.thread.x;
  const col = i % n;
  const t = Math.floor(i / n);
  const row = t % m;
  const bi = Math.floor(t / m);
  let ia = bi * sab + row * sam;
  let ib = bi * sbb + col * sbn;
  let acc = 0;
  for (let q = 0; q < k; q++) {
    acc += a[ia] * b[ib];
    ia += sak;
    ib += sbk;
  }
  return acc;
}`;

/** im2col: [N, C, H, W] -> [N, C*kh*kw, OH*OW]. */
export const unfoldSource = `function(x, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow) {
  const i = this.thread.x;
  const l = oh * ow;
  const p = i % l;
  const t = Math.floor(i / l);
  const ck = c * kh * kw;
  const row = t % ck;
  const nb = Math.floor(t / ck);
  const kj = row % kw;
  const ki = Math.floor(row / kw) % kh;
  const ch = Math.floor(row / (kh * kw));
  const ox = p % ow;
  const oy = Math.floor(p / ow);
  const y = oy * sh - ph + ki * dh;
  const xx = ox * sw - pw + kj * dw;
  if (y < 0 || y >= h || xx < 0 || xx >= w) { return 0; }
  return x[((nb * c + ch) * h + y) * w + xx];
}`;

/** col2im, written gather-style: each output pixel sums the columns whose window covers it. */
export const foldSource = `function(cols, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow) {
  const i = this.thread.x;
  const xx = i % w;
  const t1 = Math.floor(i / w);
  const y = t1 % h;
  const t2 = Math.floor(t1 / h);
  const ch = t2 % c;
  const nb = Math.floor(t2 / c);
  const l = oh * ow;
  let acc = 0;
  for (let ki = 0; ki < kh; ki++) {
    const ty = y + ph - ki * dh;
    const oy = Math.floor(ty / sh);
    if (ty >= 0 && oy * sh === ty && oy < oh) {
      for (let kj = 0; kj < kw; kj++) {
        const tx = xx + pw - kj * dw;
        const ox = Math.floor(tx / sw);
        if (tx >= 0 && ox * sw === tx && ox < ow) {
          acc += cols[((nb * c + ch) * kh * kw + ki * kw + kj) * l + oy * ow + ox];
        }
      }
    }
  }
  return acc;
}`;

/** gather: out has the index's shape; x's offset uses the index value on `axis`. */
export const gatherSource = `function(x, index, shape, strides, rank, axis, axisStride) {
  const i = this.thread.x;
  let rem = i;
  let off = 0;
  for (let d = rank - 1; d >= 0; d--) {
    const s = shape[d];
    const c = rem % s;
    rem = Math.floor(rem / s);
    if (d !== axis) { off += c * strides[d]; }
  }
  return x[off + index[i] * axisStride];
}`;

/**
 * scatterAdd, gather-style: out[c] = x[c] + sum of src[p] over index positions p that agree with c
 * off `axis`, lie inside the index's shape, and hold c[axis].
 */
export const scatterAddSource = `function(x, index, src, shape, ishape, istrides, rank, axis, len) {
  const i = this.thread.x;
  let rem = i;
  let off = 0;
  let inside = 1;
  let target = 0;
  for (let d = rank - 1; d >= 0; d--) {
    const s = shape[d];
    const c = rem % s;
    rem = Math.floor(rem / s);
    if (d === axis) { target = c; } else {
      if (c >= ishape[d]) { inside = 0; }
      off += c * istrides[d];
    }
  }
  let acc = x[i];
  if (inside === 1) {
    const st = istrides[axis];
    for (let l = 0; l < len; l++) {
      const p = off + l * st;
      if (index[p] === target) { acc += src[p]; }
    }
  }
  return acc;
}`;

/** index_select viewed as [outer, k, inner] from x's [outer, dim, inner]. */
export const indexSelectSource = `function(x, index, k, dim, inner) {
  const i = this.thread.x;
  const r = i % inner;
  const t = Math.floor(i / inner);
  const j = t % k;
  const o = Math.floor(t / k);
  return x[(o * dim + index[j]) * inner + r];
}`;

/** index_add, gather-style over the k index entries: out[o, d, r] = x + sum of src[o, j, r] where index[j] = d. */
export const indexAddSource = `function(x, index, src, k, dim, inner) {
  const i = this.thread.x;
  const r = i % inner;
  const t = Math.floor(i / inner);
  const d = t % dim;
  const o = Math.floor(t / dim);
  let acc = x[i];
  for (let j = 0; j < k; j++) {
    if (index[j] === d) { acc += src[(o * k + j) * inner + r]; }
  }
  return acc;
}`;
