/**
 * The op conformance suite, shared by every backend's tests: each case of `test/fixtures/ops/*.json`
 * (written by `tools/golden/ops_golden.py`) runs through the adapter table on a backend, in float64
 * (tight tolerance) and float32, checking output shapes, dtypes and values, and the input gradients
 * of sum(out * upstream): from `grad()` in float64 and from `backward()` into `.grad` in float32.
 * Core runs it on the reference backend (`ops.golden.test.ts`); backend packages run it on theirs
 * by importing this file, so there is one suite and core does not depend on any backend.
 */
import { describe, expect, it } from 'vitest';
import { type Backend, backward, type FloatDType, grad, scope, type Tensor } from '../../src/index.js';
import { expectClose, type Tolerance } from './compare.js';
import { caseInputs, decodeNumbers, fixtureTensor, loadOpFixtures, type OpCase } from './fixtures.js';
import { runAdapter } from './op-adapters.js';

export interface BackendUnderTest {
  name: string;
  backend: Backend;
  /** Case names (or op names) this backend is excused from, each with the reason. */
  exclusions: Record<string, string>;
  /** Float dtypes the backend does not run, each with the reason (all run when omitted). */
  skipDTypes?: Partial<Record<FloatDType, string>>;
  /** Looser tolerances where a backend's float32 math differs in the last bits (default: TOLERANCE). */
  tolerance?: Partial<Record<FloatDType, Tolerance>>;
}

export const TOLERANCE: Record<FloatDType, Tolerance> = {
  float64: { atol: 1e-10, rtol: 1e-10 },
  float32: { atol: 1e-4, rtol: 1e-4 },
};

export function runCase(c: OpCase, dtype: FloatDType, backend: Backend, tolerance: Record<FloatDType, Tolerance> = TOLERANCE): void {
  scope(() => {
    const { inputs, named } = caseInputs(c, dtype, backend);
    const outs = runAdapter(c.op, inputs, c.attrs, named);
    expect(outs.length, 'number of outputs').toBe(c.outputs.length);
    outs.forEach((out, i) => {
      const want = c.outputs[i]!;
      const wantDType = want.dtype === 'float64' ? dtype : want.dtype;
      expect(out.dtype, `output ${i} dtype`).toBe(wantDType);
      const tol = want.dtype === 'float64' ? tolerance[dtype] : { atol: 0, rtol: 0 };
      expectClose(out, { shape: want.shape, data: decodeNumbers(want.data) }, tol, `${dtype} output ${i}`);
    });

    const diffInputs = inputs.filter((_, i) => c.inputs[i]!.requiresGrad);
    if (diffInputs.length === 0) return;
    const seeded: Tensor[] = [];
    const seeds: Tensor[] = [];
    c.upstream.forEach((up, i) => {
      if (!up) return;
      const out = outs[i]!;
      expect(out.requiresGrad, `output ${i} should be differentiable`).toBe(true);
      seeded.push(out);
      seeds.push(fixtureTensor({ shape: c.outputs[i]!.shape, dtype: 'float64', data: up }, dtype, backend));
    });
    if (seeded.length === 0) return;
    let grads: (Tensor | null)[];
    if (dtype === 'float64') grads = grad(seeded, diffInputs, { gradOutputs: seeds, allowUnused: true });
    else {
      backward(seeded, seeds);
      grads = diffInputs.map((t) => t.grad);
    }
    let k = 0;
    c.inputs.forEach((spec, i) => {
      if (!spec.requiresGrad) return;
      const g = grads[k++];
      const want = decodeNumbers(c.grads[i]!);
      const label = `${dtype} gradient of input ${i}${spec.name ? ` (${spec.name})` : ''}`;
      if (g === null || g === undefined) {
        expect(want.every((v) => v === 0), `${label}: got none, expected non-zero values`).toBe(true);
        return;
      }
      expectClose(g, { shape: spec.shape, data: want }, tolerance[dtype], label);
    });
  });
}

/** Defines the suite (a describe block per backend, family and dtype) for `backends`. */
export function describeOpConformance(backends: BackendUnderTest[]): void {
  const families = loadOpFixtures();
  describe.each(backends)('$name backend', ({ backend, exclusions, skipDTypes = {}, tolerance = {} }) => {
    const tol = { ...TOLERANCE, ...tolerance };
    const excusedBecause = (c: OpCase) => exclusions[c.name] ?? exclusions[c.op];
    describe.each(families.map((f) => [f.family, f.cases] as const))('%s', (_family, cases) => {
      describe.each(['float64', 'float32'] as const)('%s', (dtype) => {
        const skipped = skipDTypes[dtype];
        if (skipped) {
          it.skip(`all ${cases.length} cases: ${skipped}`, () => {});
          return;
        }
        const run = cases.filter((c) => !excusedBecause(c));
        const excused = cases.filter((c) => excusedBecause(c));
        it.each(run.map((c) => [c.name, c] as const))('%s', (_name, c) => runCase(c, dtype, backend, tol));
        if (excused.length) it.skip.each(excused.map((c) => [`${c.name}: ${excusedBecause(c)}`]))('%s', () => {});
      });
    });
  });
}
