/**
 * Loading the PyTorch golden fixtures written by `tools/golden/ops_golden.py` and turning their
 * inputs into tensors. Non-finite numbers travel as the strings "nan", "inf" and "-inf" (JSON has none).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Backend, type FloatDType, type Tensor, tensor } from '../../src/index.js';

export type FixtureNumber = number | 'nan' | 'inf' | '-inf';

export interface FixtureTensor {
  shape: number[];
  dtype: 'float64' | 'int32' | 'bool';
  data: FixtureNumber[];
}

export interface FixtureInput extends FixtureTensor {
  /** Set for optional arguments (bias, weight, mask, runningMean, ...). */
  name?: string;
  requiresGrad: boolean;
}

/** Attributes of a case, under the TypeScript option names. */
export interface Attrs {
  dim?: number | number[];
  keepdim?: boolean;
  correction?: number;
  scalar?: number;
  scalarFirst?: boolean;
  min?: number;
  max?: number;
  negativeSlope?: number;
  approximate?: 'none' | 'tanh';
  beta?: number;
  threshold?: number;
  p?: number;
  training?: boolean;
  shape?: number[];
  startDim?: number;
  endDim?: number;
  dims?: number[];
  dim0?: number;
  dim1?: number;
  repeats?: number[];
  splitSize?: number | number[];
  chunks?: number;
  start?: number;
  end?: number;
  step?: number;
  length?: number;
  /** `pad`'s flat list, or a conv/pool padding (number, pair or 'same'). */
  padding?: number | number[] | 'same' | 'valid';
  value?: number;
  paddingIdx?: number;
  numClasses?: number;
  stride?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  outputPadding?: number | [number, number];
  kernelSize?: number | [number, number];
  countIncludePad?: boolean;
  outputSize?: number | [number, number];
  size?: number | [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
  normalizedShape?: number[];
  numGroups?: number;
  eps?: number;
  momentum?: number;
  isCausal?: boolean;
  scale?: number;
  reduction?: 'mean' | 'sum' | 'none' | 'batchmean';
  ignoreIndex?: number;
  labelSmoothing?: number;
  logTarget?: boolean;
}

export interface OpCase {
  /** `op/label`, unique across all fixtures. */
  name: string;
  /** The TypeScript op the case exercises (a key of the adapter table). */
  op: string;
  attrs: Attrs;
  inputs: FixtureInput[];
  outputs: FixtureTensor[];
  /** Per output: the upstream gradient (flat), or null for outputs that are not differentiable. */
  upstream: (FixtureNumber[] | null)[];
  /** Per input: d sum(out * upstream) / d input (flat), or null for inputs without gradient. */
  grads: (FixtureNumber[] | null)[];
  /** Inputs sit on a kink on purpose (ties of max, ...): finite differences must jitter them first. */
  ties?: boolean;
  /** Why the gradient is a convention rather than a derivative (no finite-difference check). */
  noFiniteDiff?: string;
}

export interface OpFamily {
  family: string;
  generator: string;
  torch: string;
  cases: OpCase[];
}

const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ops');

let cache: OpFamily[] | null = null;

/** Every op fixture family, sorted by name. */
export function loadOpFixtures(): OpFamily[] {
  cache ??= readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as OpFamily);
  return cache;
}

export function decodeNumbers(values: readonly FixtureNumber[]): Float64Array {
  const out = new Float64Array(values.length);
  values.forEach((v, i) => {
    out[i] = v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v;
  });
  return out;
}

/** Builds a fixture tensor; float data becomes `floatDType` (float64 fixtures run in float32 too). */
export function fixtureTensor(spec: FixtureTensor, floatDType: FloatDType, backend: Backend, requiresGrad = false): Tensor {
  const values = decodeNumbers(spec.data);
  if (spec.dtype === 'int32') return tensor(Int32Array.from(values), { shape: spec.shape, backend });
  if (spec.dtype === 'bool') return tensor(Uint8Array.from(values), { shape: spec.shape, dtype: 'bool', backend });
  const data = floatDType === 'float64' ? values : Float32Array.from(values);
  return tensor(data, { shape: spec.shape, dtype: floatDType, backend, requiresGrad });
}

/** Input tensors of a case plus the optional ones by name. */
export function caseInputs(c: OpCase, floatDType: FloatDType, backend: Backend, values?: readonly (Float64Array | null)[]): { inputs: Tensor[]; named: Record<string, Tensor> } {
  const named: Record<string, Tensor> = {};
  const inputs = c.inputs.map((spec, i) => {
    const override = values?.[i];
    const t = fixtureTensor(override ? { ...spec, data: Array.from(override) } : spec, floatDType, backend, spec.requiresGrad);
    if (spec.name) named[spec.name] = t;
    return t;
  });
  return { inputs, named };
}
