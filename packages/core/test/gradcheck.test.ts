/**
 * Finite-difference gradient checks in float64, on the inputs of the golden fixtures: for every
 * differentiable case, central differences (eps 1e-6) of L = sum(out * upstream) against `grad()`,
 * and for a few ops the second derivative through `grad(..., { createGraph: true })` against
 * central differences of the first gradient along a random direction.
 */
import { describe, it } from 'vitest';
import { Generator, getBackend, grad, noGrad, scope, type Tensor } from '../src/index.js';
import { expectCloseArrays, type Tolerance } from './helpers/compare.js';
import { caseInputs, decodeNumbers, fixtureTensor, loadOpFixtures, type OpCase } from './helpers/fixtures.js';
import { runAdapter } from './helpers/op-adapters.js';

const backend = getBackend('reference');
const EPS = 1e-6;
const TOL: Tolerance = { atol: 1e-7, rtol: 1e-6 };
/** Coordinates perturbed per input: all of them up to this many, else this many spread evenly. */
const MAX_COORDS = 48;

const cases = loadOpFixtures().flatMap((f) => f.cases);
const differentiable = (c: OpCase) => c.inputs.some((s) => s.requiresGrad) && c.upstream.some((u) => u !== null);

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Float64 input values; cases with deliberate ties get a seeded jitter (1e-3) so no input sits on a kink. */
function baseValues(c: OpCase): Float64Array[] {
  const g = new Generator(fnv1a(c.name));
  return c.inputs.map((spec) => {
    const v = decodeNumbers(spec.data);
    if (c.ties && spec.requiresGrad) for (let i = 0; i < v.length; i++) v[i]! += 1e-3 * (2 * g.random() - 1);
    return v;
  });
}

function upstreamOf(c: OpCase): (Float64Array | null)[] {
  return c.upstream.map((u) => (u ? decodeNumbers(u) : null));
}

/** L = sum(out * upstream), summed in JS doubles from the outputs' values, with no graph recorded. */
function lossAt(c: OpCase, values: Float64Array[], upstream: (Float64Array | null)[]): number {
  return noGrad(() =>
    scope(() => {
      const { inputs, named } = caseInputs(c, 'float64', backend, values);
      const outs = runAdapter(c.op, inputs, c.attrs, named);
      let total = 0;
      outs.forEach((o, i) => {
        const up = upstream[i];
        if (!up) return;
        const d = o.dataSync();
        for (let k = 0; k < up.length; k++) total += d[k]! * up[k]!;
      });
      return total;
    }),
  );
}

/** Autograd gradients of L for every input that requires grad (zeros where unused), in input order. */
function gradientsAt(c: OpCase, values: Float64Array[], upstream: (Float64Array | null)[]): (Float64Array | null)[] {
  return scope(() => {
    const { inputs, named } = caseInputs(c, 'float64', backend, values);
    const outs = runAdapter(c.op, inputs, c.attrs, named);
    const seeded = outs.filter((_, i) => upstream[i]);
    const seeds = outs.flatMap((o, i) => (upstream[i] ? [fixtureTensor({ shape: [...o.shape], dtype: 'float64', data: Array.from(upstream[i]!) }, 'float64', backend)] : []));
    const diff = inputs.filter((_, i) => c.inputs[i]!.requiresGrad);
    const gs = grad(seeded, diff, { gradOutputs: seeds, allowUnused: true });
    let k = 0;
    return c.inputs.map((s, i) => {
      if (!s.requiresGrad) return null;
      const g = gs[k++];
      return g ? Float64Array.from(g.dataSync()) : new Float64Array(values[i]!.length);
    });
  });
}

function coordinates(n: number): number[] {
  if (n <= MAX_COORDS) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: MAX_COORDS }, (_, i) => Math.floor(((i + 0.5) * n) / MAX_COORDS));
}

function checkFirstOrder(c: OpCase): void {
  const values = baseValues(c);
  const upstream = upstreamOf(c);
  const analytic = gradientsAt(c, values, upstream);
  c.inputs.forEach((spec, i) => {
    if (!spec.requiresGrad) return;
    const x = values[i]!;
    const coords = coordinates(x.length);
    const numeric = new Float64Array(coords.length);
    coords.forEach((p, k) => {
      const old = x[p]!;
      x[p] = old + EPS;
      const hi = lossAt(c, values, upstream);
      x[p] = old - EPS;
      const lo = lossAt(c, values, upstream);
      x[p] = old;
      numeric[k] = (hi - lo) / (2 * EPS);
    });
    const picked = coords.map((p) => analytic[i]![p]!);
    expectCloseArrays(picked, numeric, [coords.length], TOL, `autograd vs finite-difference gradient of input ${i}${spec.name ? ` (${spec.name})` : ''} (coordinates ${coords.length} of ${x.length})`);
  });
}

describe('first-order gradients match central differences (float64)', () => {
  const checked = cases.filter((c) => differentiable(c) && !c.noFiniteDiff);
  it.each(checked.map((c) => [c.name, c] as const))('%s', (_name, c) => checkFirstOrder(c));
  const excused = cases.filter((c) => differentiable(c) && c.noFiniteDiff);
  it.skip.each(excused.map((c) => [`${c.name}: ${c.noFiniteDiff}`]))('%s', () => {});
});

/**
 * Hessian-vector products: d/dx <grad L(x), v> from a second backward pass through the recorded
 * first one, against (grad L(x + eps v) - grad L(x - eps v)) / (2 eps).
 */
function checkSecondOrder(c: OpCase): void {
  const values = baseValues(c);
  const upstream = upstreamOf(c);
  const gen = new Generator(12345);
  const direction = c.inputs.map((s, i) => (s.requiresGrad ? Float64Array.from(values[i]!, () => gen.normal()) : null));
  const analytic = scope(() => {
    const { inputs, named } = caseInputs(c, 'float64', backend, values);
    const outs = runAdapter(c.op, inputs, c.attrs, named);
    const seeded = outs.filter((_, i) => upstream[i]);
    const seeds = outs.flatMap((o, i) => (upstream[i] ? [fixtureTensor({ shape: [...o.shape], dtype: 'float64', data: Array.from(upstream[i]!) }, 'float64', backend)] : []));
    const diffIdx = c.inputs.flatMap((s, i) => (s.requiresGrad ? [i] : []));
    const diff = diffIdx.map((i) => inputs[i]!);
    const first = grad(seeded, diff, { gradOutputs: seeds, createGraph: true });
    let dot: Tensor | null = null;
    first.forEach((g, k) => {
      if (!g || !g.requiresGrad) return;
      const v = fixtureTensor({ shape: [...g.shape], dtype: 'float64', data: Array.from(direction[diffIdx[k]!]!) }, 'float64', backend);
      const term = g.mul(v).sum();
      dot = dot ? dot.add(term) : term;
    });
    if (!dot) throw new Error(`${c.name}: the first gradient does not depend on the inputs; pick an op with a non-zero second derivative`);
    return grad(dot, diff, { allowUnused: true }).map((h, k) => (h ? Float64Array.from(h.dataSync()) : new Float64Array(values[diffIdx[k]!]!.length)));
  });
  const shifted = (sign: number) => gradientsAt(c, values.map((v, i) => (direction[i] ? v.map((x, k) => x + sign * EPS * direction[i]![k]!) : v)), upstream);
  const plus = shifted(1);
  const minus = shifted(-1);
  let k = 0;
  c.inputs.forEach((spec, i) => {
    if (!spec.requiresGrad) return;
    const numeric = plus[i]!.map((p, j) => (p - minus[i]![j]!) / (2 * EPS));
    expectCloseArrays(analytic[k++]!, numeric, spec.shape, TOL, `Hessian-vector product for input ${i}${spec.name ? ` (${spec.name})` : ''}`);
  });
}

const SECOND_ORDER = [
  'tanh/2d',
  'sigmoid/2d',
  'exp/2d',
  'log/2d',
  'sqrt/2d',
  'rsqrt/2d',
  'sin/2d',
  'erf/2d',
  'mul/broadcast',
  'div/same',
  'pow/same',
  'matmul/batched',
  'matmul/broadcast_batch',
  'linear/bias',
  'conv2d/stride_padding',
  'conv2d/groups',
  'convTranspose2d/groups',
  'softmax/3d_middle',
  'logSoftmax/last',
  'logsumexp/dims_keepdim',
  'gelu/tanh',
  'gelu/exact',
  'silu/2d',
  'softplus/default',
  'std/all',
  'var/dims_keepdim',
  'layerNorm/affine',
  'groupNorm/affine',
  'batchNorm/train_running_affine',
  'scaledDotProductAttention/basic',
  'crossEntropy/label_smoothing',
  'binaryCrossEntropyWithLogits/pos_weight',
  'klDiv/log_target',
];

describe('second-order gradients through createGraph match central differences (float64)', () => {
  it.each(SECOND_ORDER)('%s', (name) => {
    const c = cases.find((x) => x.name === name);
    if (!c) throw new Error(`no fixture case named ${name}`);
    checkSecondOrder(c);
  });
});
