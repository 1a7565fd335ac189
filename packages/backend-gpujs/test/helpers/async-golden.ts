/**
 * The core's golden op cases (test/fixtures/ops, through the same adapters) on a backend whose
 * values can only be read asynchronously (gpujs-webgpu, gpujs-webasm-async). The shared suite reads
 * with dataSync() right after each op, which such a backend cannot answer, so this runner queues
 * each case's forward and backward (float32, gradients into `.grad` through backward(), as the
 * shared suite's float32 half does), then awaits the values and compares them with the same
 * tolerances. Used by the async-engine test here and by tools/gpu-check.sh on WebGPU.
 */
import { type Backend, backward, keep, scope, type Tensor } from '@methodzoo/core';
import { diffValues } from '../../../core/test/helpers/compare.js';
import { caseInputs, decodeNumbers, fixtureTensor, loadOpFixtures, type OpCase } from '../../../core/test/helpers/fixtures.js';
import { runAdapter } from '../../../core/test/helpers/op-adapters.js';
import { TOLERANCE } from '../../../core/test/helpers/op-conformance.js';

/** Cases the async engines cannot run, each with the reason (none at present). */
export const ASYNC_EXCLUSIONS: Record<string, string> = {};

export interface AsyncCaseResult {
  family: string;
  name: string;
  /** null when the case passed; else what differed. */
  problem: string | null;
}

interface Check {
  label: string;
  tensor: Tensor | null;
  shape: readonly number[];
  expected: Float64Array;
  exact: boolean;
}

function queueCase(c: OpCase, backend: Backend): Check[] {
  return scope(() => {
    const { inputs, named } = caseInputs(c, 'float32', backend);
    const outs = runAdapter(c.op, inputs, c.attrs, named);
    if (outs.length !== c.outputs.length) throw new Error(`${outs.length} outputs, expected ${c.outputs.length}`);
    const checks: Check[] = outs.map((out, i) => {
      const want = c.outputs[i]!;
      const wantDType = want.dtype === 'float64' ? 'float32' : want.dtype;
      if (out.dtype !== wantDType) throw new Error(`output ${i} dtype ${out.dtype}, expected ${wantDType}`);
      return { label: `output ${i}`, tensor: out, shape: want.shape, expected: decodeNumbers(want.data), exact: want.dtype !== 'float64' };
    });
    const diff = inputs.filter((_, i) => c.inputs[i]!.requiresGrad);
    const seeded: Tensor[] = [];
    const seeds: Tensor[] = [];
    c.upstream.forEach((up, i) => {
      if (!up) return;
      seeded.push(outs[i]!);
      seeds.push(fixtureTensor({ shape: c.outputs[i]!.shape, dtype: 'float64', data: up }, 'float32', backend));
    });
    if (diff.length && seeded.length) {
      backward(seeded, seeds);
      let k = 0;
      c.inputs.forEach((spec, i) => {
        if (!spec.requiresGrad) return;
        // a view of the gradient: disposing the input at the end of the scope disposes its .grad
        const g = diff[k++]!.grad?.detach() ?? null;
        checks.push({ label: `gradient of input ${i}`, tensor: g, shape: spec.shape, expected: decodeNumbers(c.grads[i]!), exact: false });
      });
    }
    // the checks outlive the scope (their values are read after it); the caller disposes them
    for (const ch of checks) if (ch.tensor) keep(ch.tensor);
    return checks;
  });
}

/** Runs every float32 golden case on `backend`, skipping `exclusions` (case or op names). */
export async function runGoldenAsync(backend: Backend, exclusions: Record<string, string> = {}): Promise<AsyncCaseResult[]> {
  const results: AsyncCaseResult[] = [];
  for (const family of loadOpFixtures()) {
    for (const c of family.cases) {
      if (exclusions[c.name] ?? exclusions[c.op]) continue;
      let problem: string | null = null;
      let checks: Check[] = [];
      try {
        checks = queueCase(c, backend);
        for (const ch of checks) {
          if (ch.tensor === null) {
            if (!ch.expected.every((v) => v === 0)) problem ??= `${ch.label}: got none, expected non-zero values`;
            continue;
          }
          if (ch.tensor.shape.join() !== ch.shape.join()) {
            problem ??= `${ch.label}: shape [${ch.tensor.shape.join(', ')}], expected [${ch.shape.join(', ')}]`;
            continue;
          }
          const got = await ch.tensor.data();
          const d = diffValues(got as ArrayLike<number>, ch.expected, ch.shape, ch.exact ? { atol: 0, rtol: 0 } : TOLERANCE.float32);
          if (d) problem ??= `${ch.label}: ${d}`;
        }
      } catch (e) {
        problem = e instanceof Error ? e.message : String(e);
      } finally {
        for (const ch of checks) ch.tensor?.dispose();
      }
      results.push({ family: family.family, name: c.name, problem });
    }
  }
  return results;
}
