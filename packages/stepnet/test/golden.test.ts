/**
 * PyTorch golden values (tools/golden/stepnet_golden.py) for the SE bottleneck, the SAM baseline
 * of the paper: forward (step sizes, residual, output), gradients of sum(y * upstream) for the input
 * and every parameter, BN running statistics after the pass, and the NSI of the identity case.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { grad, tensor, type Tensor } from '@methodzoo/core';
import { ResidualStep, stiffnessIndex } from '../src/index.js';

interface Flat {
  shape: number[];
  data: number[];
}
interface Case {
  name: string;
  inplanes: number;
  planes: number;
  stride: number;
  reduction: number;
  state: Record<string, Flat>;
  input: Flat;
  attention: Flat;
  residual: Flat;
  output: Flat;
  upstream: Flat;
  grad: Record<string, Flat>;
  runningAfter: Record<string, Flat>;
  nsi?: Flat;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/stepnet_se_bottleneck.json', import.meta.url), 'utf8')) as { cases: Case[] };
const t = (f: Flat, requiresGrad = false) => tensor(f.data, { shape: f.shape, dtype: 'float64', requiresGrad });
function close(actual: Tensor, want: Flat, tol: number): void {
  expect(actual.shape).toEqual(want.shape);
  const a = actual.dataSync();
  let worst = 0;
  want.data.forEach((w, i) => (worst = Math.max(worst, Math.abs(a[i]! - w) / Math.max(1, Math.abs(w)))));
  expect(worst).toBeLessThan(tol);
}

describe.each(fixture.cases)('SE bottleneck golden ($name)', (c) => {
  const build = () => {
    const b = new ResidualStep(c.inplanes, c.planes, { block: 'bottleneck', activation: 'post', adaptor: 'se', reduction: c.reduction, stride: c.stride, dtype: 'float64' });
    const res = b.loadStateDict(new Map(Object.entries(c.state).map(([k, v]) => [k, t(v)])), { strict: false });
    expect(res.unexpectedKeys).toEqual([]);
    expect(res.mismatchedKeys).toEqual([]);
    expect(res.missingKeys.every((k) => k.endsWith('num_batches_tracked'))).toBe(true);
    return b;
  };

  it('forward matches PyTorch (train mode): step sizes, residual, output, running stats', () => {
    const b = build();
    b.train();
    const o = b.forwardStep(t(c.input));
    close(o.attention!, c.attention, 1e-10);
    close(o.residual, c.residual, 1e-10);
    close(o.output, c.output, 1e-10);
    const buffers = new Map(b.namedBuffers());
    for (const [k, v] of Object.entries(c.runningAfter)) close(buffers.get(k)!, v, 1e-10);
    if (c.nsi) close(stiffnessIndex(o.input, o.output), c.nsi, 1e-10);
  });

  it('gradients match PyTorch for the input and every parameter', () => {
    const b = build();
    b.train();
    const x = t(c.input, true);
    const y = b.call(x);
    const named = b.namedParameters();
    const gs = grad(y.mul(t(c.upstream)).sum(), [x, ...named.map(([, p]) => p)]);
    close(gs[0]!, c.grad.input!, 1e-9);
    named.forEach(([k], i) => close(gs[i + 1]!, c.grad[k]!, 1e-9));
    expect(named.length).toBe(Object.keys(c.grad).length - 1);
  });
});
