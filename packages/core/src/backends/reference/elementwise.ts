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
  eq: 'a === b ? 1 : 0',
  ne: 'a !== b ? 1 : 0',
  lt: 'a < b ? 1 : 0',
  le: 'a <= b ? 1 : 0',
  gt: 'a > b ? 1 : 0',
  ge: 'a >= b ? 1 : 0',
};

type UnaryLoop = (x: TypedArray, out: TypedArray) => void;
type BinaryLoop = (a: TypedArray, b: TypedArray, out: TypedArray, shape: number[], sa: number[], sb: number[]) => void;
type TernaryLoop = (c: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, shape: number[], sc: number[], sa: number[], sb: number[]) => void;

const unaryLoops = new Map<string, UnaryLoop>();
export function unaryKernel(op: UnaryOp, x: TypedArray, out: TypedArray): void {
  let loop = unaryLoops.get(op);
  if (!loop) {
    loop = new Function('erf', `return function ${op}Loop(x, out) { const n = out.length; for (let i = 0; i < n; i++) { const a = x[i]; out[i] = ${UNARY_EXPR[op]}; } }`)(erf) as UnaryLoop;
    unaryLoops.set(op, loop);
  }
  loop(x, out);
}

// Odometer over all but the innermost dim; the innermost runs as a tight strided loop.
function stridedLoopSource(name: string, inputs: string[], body: string): string {
  const each = (f: (v: string) => string, sep = ' ') => inputs.map(f).join(sep);
  return `return function ${name}(${each((v) => `${v}Arr`, ', ')}, out, shape, ${each((v) => `s${v}`, ', ')}) {
    const nd = shape.length, inner = shape[nd - 1], total = out.length;
    ${each((v) => `const i${v} = s${v}[nd - 1];`)}
    const idx = new Int32Array(nd);
    ${each((v) => `let p${v} = 0;`)}
    for (let o = 0; o < total; ) {
      ${each((v) => `let j${v} = p${v};`)}
      for (let k = 0; k < inner; k++, o++) {
        ${each((v) => `const ${v} = ${v}Arr[j${v}]; j${v} += i${v};`)}
        out[o] = ${body};
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

const binaryLoops = new Map<string, { same: BinaryLoop; scalarB: BinaryLoop; strided: BinaryLoop }>();
function binaryLoopsFor(op: BinaryOp | CompareOp) {
  let loops = binaryLoops.get(op);
  if (!loops) {
    const expr = BINARY_EXPR[op];
    loops = {
      same: new Function(`return function ${op}Same(x, y, out) { const n = out.length; for (let i = 0; i < n; i++) { const a = x[i], b = y[i]; out[i] = ${expr}; } }`)() as BinaryLoop,
      scalarB: new Function(`return function ${op}Scalar(x, y, out) { const n = out.length; const b = y[0]; for (let i = 0; i < n; i++) { const a = x[i]; out[i] = ${expr}; } }`)() as BinaryLoop,
      strided: new Function(stridedLoopSource(`${op}Strided`, ['a', 'b'], expr))() as BinaryLoop,
    };
    binaryLoops.set(op, loops);
  }
  return loops;
}

export function binaryKernel(op: BinaryOp | CompareOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
  if (out.length === 0) return;
  const loops = binaryLoopsFor(op);
  if (a.length === out.length && b.length === out.length) return loops.same(a, b, out, [], [], []);
  if (a.length === out.length && b.length === 1) return loops.scalarB(a, b, out, [], [], []);
  const { shape, strides } = collapseDims(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  loops.strided(a, b, out, shape, strides[0]!, strides[1]!);
}

let whereLoop: TernaryLoop | undefined;
export function whereKernel(c: TypedArray, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
  if (out.length === 0) return;
  whereLoop ??= new Function(stridedLoopSource('where', ['c', 'a', 'b'], 'c ? a : b'))() as TernaryLoop;
  const { shape, strides } = collapseDims(outShape, [broadcastStrides(cShape, outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  whereLoop(c, a, b, out, shape, strides[0]!, strides[1]!, strides[2]!);
}

export function castKernel(x: TypedArray, out: TypedArray, toInt: boolean, toBool: boolean): void {
  const n = out.length;
  if (toBool) for (let i = 0; i < n; i++) out[i] = x[i] !== 0 ? 1 : 0;
  else if (toInt) for (let i = 0; i < n; i++) out[i] = Math.trunc(x[i]!);
  else out.set(x);
}
