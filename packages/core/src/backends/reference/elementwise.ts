/**
 * Elementwise kernels. Loops are generated once per op with `new Function` so each op gets its own
 * monomorphic loop that V8 can optimise (a shared loop calling a per-op closure would not inline).
 */
import type { TypedArray } from '../../dtype.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../../prims.js';
import type { Shape } from '../../shape.js';
import { broadcastStrides, collapseDims } from './strides.js';

// Abramowitz-Stegun would lose digits; this erf is accurate to ~1e-16 (W. J. Cody's rational approximations).
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 0.5) {
    const t = x * x;
    const num = (((0.1857777061846031526730 * t + 3.161123743870565596947) * t + 113.8641541510501556495) * t + 377.4852376853020208137) * t + 3209.377589138469472562;
    const den = (((t + 23.60129095234412093499) * t + 244.0246379344441733056) * t + 1282.616526077372275645) * t + 2844.236833439170622273;
    return (x * num) / den;
  }
  let r: number;
  if (ax < 4) {
    const num = (((((((2.153115354744038463e-8 * ax + 0.5641884969886700891) * ax + 8.883149794388375941) * ax + 66.11919063714162948) * ax + 298.6351381974001311) * ax + 881.9522212417690904) * ax + 1712.047612634070583) * ax + 2051.078377826071465) * ax + 1230.339354797997253;
    const den = (((((((ax + 15.74492611070983473) * ax + 117.6939508913124993) * ax + 537.1811018620098575) * ax + 1621.389574566690189) * ax + 3290.799235733459627) * ax + 4362.619090143247158) * ax + 3439.367674143721637) * ax + 1230.339354803749420;
    r = (num / den) * Math.exp(-ax * ax);
  } else {
    const z = 1 / (ax * ax);
    const num = ((((0.0163153871373020978 * z + 0.305326634961232344) * z + 0.360344899949804439) * z + 0.125781726111229246) * z + 0.0160837851487422766) * z + 6.58749161529837803e-4;
    const den = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 0.527905102951428412) * z + 0.0605183413124413191) * z + 2.33520497626869185e-3;
    r = ((1 / Math.sqrt(Math.PI) - (z * num) / den) / ax) * Math.exp(-ax * ax);
  }
  return x > 0 ? 1 - r : r - 1;
}

const UNARY_EXPR: Record<UnaryOp, string> = {
  neg: '-a',
  abs: 'Math.abs(a)',
  exp: 'Math.exp(a)',
  log: 'Math.log(a)',
  log1p: 'Math.log1p(a)',
  sqrt: 'Math.sqrt(a)',
  rsqrt: '1 / Math.sqrt(a)',
  sin: 'Math.sin(a)',
  cos: 'Math.cos(a)',
  tanh: 'Math.tanh(a)',
  sigmoid: '1 / (1 + Math.exp(-a))',
  relu: 'a > 0 ? a : 0',
  sign: 'a > 0 ? 1 : a < 0 ? -1 : a',
  erf: 'erf(a)',
  floor: 'Math.floor(a)',
};

const BINARY_EXPR: Record<BinaryOp | CompareOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'Math.pow(a, b)',
  // NaN propagates, as in PyTorch
  maximum: 'a > b || a !== a ? a : b',
  minimum: 'a < b || a !== a ? a : b',
  // +(bool) compiles to a flag-to-integer move; `? 1 : 0` is a branch that mispredicts on mixed data
  eq: '+(a === b)',
  ne: '+(a !== b)',
  lt: '+(a < b)',
  le: '+(a <= b)',
  gt: '+(a > b)',
  ge: '+(a >= b)',
};

type UnaryLoop = (x: TypedArray, out: TypedArray) => void;
type BinaryLoop = (a: TypedArray, b: TypedArray, out: TypedArray, shape: number[], sa: number[], sb: number[]) => void;
type TernaryLoop = (c: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, shape: number[], sc: number[], sa: number[], sb: number[]) => void;

/**
 * Loops are cached per op *and* per array types: one generated function only ever sees one
 * Float32Array/Int32Array/... combination, so V8 keeps its element accesses monomorphic.
 */
function typeIndex(x: TypedArray): number {
  return x instanceof Float32Array ? 0 : x instanceof Float64Array ? 1 : x instanceof Int32Array ? 2 : 3;
}
/** The cache slot of an op's loop for these array types (a number: no string building per call). */
function slotOf(a: TypedArray, b: TypedArray, c?: TypedArray, d?: TypedArray): number {
  let slot = typeIndex(a) * 4 + typeIndex(b);
  if (c) slot = slot * 4 + typeIndex(c);
  if (d) slot = slot * 4 + typeIndex(d);
  return slot;
}
function cached<L>(cache: Map<string, L[]>, op: string, slot: number, make: () => L): L {
  let loops = cache.get(op);
  if (!loops) cache.set(op, (loops = []));
  return (loops[slot] ??= make());
}

/** `body(i)` handles element i; unrolled four times (same order, same results), then the tail. */
function unrolled(n: string, body: (i: string) => string): string {
  const four = [0, 1, 2, 3].map((k) => `{ ${body(k ? `i + ${k}` : 'i')} }`).join(' ');
  return `let i = 0; for (; i + 4 <= ${n}; i += 4) { ${four} } for (; i < ${n}; i++) { ${body('i')} }`;
}

const unaryLoops = new Map<string, UnaryLoop[]>();
/**
 * Branch-free relu on float32 bit patterns (a data-dependent branch mispredicts on about half of
 * the activations): keep v when 1 <= v <= 0x7f800000 as int32, i.e. a positive number or +inf;
 * zero for negatives, -0, +0 and NaN, exactly as `a > 0 ? a : 0`.
 */
function reluF32(x: Int32Array, out: Int32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    out[i] = v & ~(((0x7f800000 - v) | (v - 1)) >> 31);
  }
}
function reluI32(x: Int32Array, out: Int32Array): void {
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    out[i] = v & ~(v >> 31);
  }
}
const int32View = (a: TypedArray) => new Int32Array(a.buffer, a.byteOffset, (a.byteLength / 4) | 0);

export function unaryKernel(op: UnaryOp, x: TypedArray, out: TypedArray): void {
  if (op === 'relu' && x.constructor === out.constructor) {
    if (x instanceof Float32Array) return reluF32(int32View(x), int32View(out));
    if (x instanceof Int32Array) return reluI32(x, out as Int32Array);
  }
  const loop = cached(unaryLoops, op, slotOf(x, out), () => {
    const body = unrolled('n', (i) => `const a = x[${i}]; out[${i}] = ${UNARY_EXPR[op]};`);
    return new Function('erf', `return function ${op}Loop(x, out) { const n = out.length; ${body} }`)(erf) as UnaryLoop;
  });
  loop(x, out);
}

/**
 * Odometer over all but the innermost dim; the innermost runs as a tight loop. When every operand
 * walks the inner dim contiguously (stride 1) or not at all (stride 0: a broadcast row, channel or
 * scalar), a specialised, unrolled inner loop runs with the broadcast values hoisted.
 */
function stridedLoopSource(name: string, inputs: string[], body: string): string {
  const each = (f: (v: string, j: number) => string, sep = ' ') => inputs.map(f).join(sep);
  const cases: string[] = [];
  for (let mask = 0; mask < 1 << inputs.length; mask++) {
    // bit j set: input j is contiguous along the inner dim; clear: broadcast along it
    const contiguous = (j: number) => (mask >> j) & 1;
    const hoisted = each((v, j) => (contiguous(j) ? '' : `const ${v} = ${v}Arr[p${v}];`));
    const inner = unrolled('inner', (i) => `${each((v, j) => (contiguous(j) ? `const ${v} = ${v}Arr[p${v} + ${i}];` : ''))} out[o + ${i}] = ${body};`);
    cases.push(`case ${mask}: { ${hoisted} ${inner} break; }`);
  }
  return `return function ${name}(${each((v) => `${v}Arr`, ', ')}, out, shape, ${each((v) => `s${v}`, ', ')}) {
    const nd = shape.length, inner = shape[nd - 1], total = out.length;
    ${each((v) => `const i${v} = s${v}[nd - 1];`)}
    const fast = ${each((v) => `(i${v} === 0 || i${v} === 1)`, ' && ')};
    const mask = ${each((v, j) => `(i${v} === 1 ? ${1 << j} : 0)`, ' | ')};
    const idx = new Int32Array(nd);
    ${each((v) => `let p${v} = 0;`)}
    for (let o = 0; o < total; o += inner) {
      if (fast) {
        switch (mask) { ${cases.join('\n')} }
      } else {
        ${each((v) => `let j${v} = p${v};`)}
        for (let k = 0; k < inner; k++) {
          ${each((v) => `const ${v} = ${v}Arr[j${v}]; j${v} += i${v};`)}
          out[o + k] = ${body};
        }
      }
      for (let d = nd - 2; d >= 0; d--) {
        idx[d]++;
        ${each((v) => `p${v} += s${v}[d];`)}
        if (idx[d] < shape[d]) break;
        ${each((v) => `p${v} -= s${v}[d] * shape[d];`)}
        idx[d] = 0;
      }
    }
  }`;
}

interface BinaryLoops {
  same: BinaryLoop;
  scalarA: BinaryLoop;
  scalarB: BinaryLoop;
  strided: BinaryLoop;
}
const binaryLoops = new Map<string, BinaryLoops[]>();
function binaryLoopsFor(op: BinaryOp | CompareOp, a: TypedArray, b: TypedArray, out: TypedArray): BinaryLoops {
  return cached(binaryLoops, op, slotOf(a, b, out), () => {
    const expr = BINARY_EXPR[op];
    return {
      same: new Function(`return function ${op}Same(x, y, out) { const n = out.length; ${unrolled('n', (i) => `const a = x[${i}], b = y[${i}]; out[${i}] = ${expr};`)} }`)() as BinaryLoop,
      scalarA: new Function(`return function ${op}ScalarA(x, y, out) { const n = out.length; const a = x[0]; ${unrolled('n', (i) => `const b = y[${i}]; out[${i}] = ${expr};`)} }`)() as BinaryLoop,
      scalarB: new Function(`return function ${op}ScalarB(x, y, out) { const n = out.length; const b = y[0]; ${unrolled('n', (i) => `const a = x[${i}]; out[${i}] = ${expr};`)} }`)() as BinaryLoop,
      strided: new Function(stridedLoopSource(`${op}Strided`, ['a', 'b'], expr))() as BinaryLoop,
    };
  });
}

export function binaryKernel(op: BinaryOp | CompareOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
  if (out.length === 0) return;
  const loops = binaryLoopsFor(op, a, b, out);
  const n = out.length;
  if (a.length === n && b.length === n) return loops.same(a, b, out, [], [], []);
  if (a.length === n && b.length === 1) return loops.scalarB(a, b, out, [], [], []);
  if (a.length === 1 && b.length === n) return loops.scalarA(a, b, out, [], [], []);
  const { shape, strides } = collapseDims(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  loops.strided(a, b, out, shape, strides[0]!, strides[1]!);
}

/**
 * where selects bit patterns with a mask, (a & m) | (b & ~m) with m = -1 where c is set, instead of
 * `c ? a : b`, whose branch mispredicts on masks like relu's. Values are copied bit for bit. Used
 * for 4-byte and 1-byte elements (float32 through an int32 view); float64 keeps the ternary.
 */
const SELECT_BITS = '(a & ((-c) >> 31)) | (b & ~((-c) >> 31))';
/** Below this size the int32 views cost more than they save. */
const SELECT_BITS_MIN = 64;

const whereLoops = new Map<string, TernaryLoop[]>();
export function whereKernel(c: TypedArray, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
  if (out.length === 0) return;
  const { shape, strides } = collapseDims(outShape, [broadcastStrides(cShape, outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  if (out.length >= SELECT_BITS_MIN && !(out instanceof Float64Array)) {
    const bits = out instanceof Float32Array ? int32View : (t: TypedArray) => t;
    const va = bits(a), vb = bits(b), vo = bits(out);
    const loop = cached(whereLoops, 'whereBits', slotOf(c, va, vb, vo), () => new Function(stridedLoopSource('whereBits', ['c', 'a', 'b'], SELECT_BITS))() as TernaryLoop);
    return loop(c, va, vb, vo, shape, strides[0]!, strides[1]!, strides[2]!);
  }
  const loop = cached(whereLoops, 'where', slotOf(c, a, b, out), () => new Function(stridedLoopSource('where', ['c', 'a', 'b'], 'c ? a : b'))() as TernaryLoop);
  loop(c, a, b, out, shape, strides[0]!, strides[1]!, strides[2]!);
}

/**
 * relu's gradient in one pass: grad where x > 0, else +0 (NaN in x gives 0). float32 copies bit
 * patterns through int32 views under a mask, as `where` does, so the sign pattern of x costs no
 * mispredicted branches.
 */
export function reluBackwardKernel(g: TypedArray, x: TypedArray, out: TypedArray): void {
  const n = out.length;
  if (out instanceof Float32Array && n >= SELECT_BITS_MIN) {
    const gi = int32View(g);
    const oi = int32View(out);
    for (let i = 0; i < n; i++) oi[i] = gi[i]! & -(x[i]! > 0);
  } else for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? g[i]! : 0;
}

export function castKernel(x: TypedArray, out: TypedArray, toInt: boolean, toBool: boolean): void {
  const n = out.length;
  if (toBool) for (let i = 0; i < n; i++) out[i] = x[i] !== 0 ? 1 : 0;
  else if (toInt) for (let i = 0; i < n; i++) out[i] = Math.trunc(x[i]!);
  else out.set(x);
}
