/**
 * @methodzoo/attsolver benchmark: rollout steps per second on the elastic pendulum (B = 64, dt = 0.1)
 * of the hybrid solver (RK4 + NeurVec/AttSolver corrector, hidden 256) against plain RK4 at dt and the
 * plain tensor RK4 at dt / k that reaches the hybrid's error level, plus the float64 array reference.
 * The corrector is untrained (timing only); accuracy parity is measured by the repro. Prints medians
 * and writes bench/results/attsolver.json.
 *
 *   nx run attsolver:bench            (options: --repeats N, default 5)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, noGrad, scope } from '@methodzoo/core';
import { AttSolverCorrector, elasticPendulum, HybridSolver, NeurVecCorrector, referenceTrajectories } from '../src/index.js';
import { sampleInitial } from '../src/repro.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 5);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const sys = elasticPendulum();
const g = new Generator(0);
const u0 = sampleInitial(64, g);
const u0f = u0.float();
const steps = 50;
const cases: [string, () => void][] = [
  ['plain RK4 dt=0.1 (tensor, f32)', () => scope(() => void noGrad(() => new HybridSolver({ F: sys.F, dt: 0.1 }).rollout(u0f, steps)))],
  ['plain RK4 dt=0.1/8 (tensor, f32)', () => scope(() => void noGrad(() => new HybridSolver({ F: sys.F, dt: 0.1 }).rollout(u0f, steps, { coarse: 8 })))],
  ['NeurVec hybrid dt=0.1 (hidden 256)', () => scope(() => void noGrad(() => new HybridSolver({ F: sys.F, dt: 0.1, corrector: nv }).rollout(u0f, steps)))],
  ['AttSolver add hybrid dt=0.1 (hidden 256)', () => scope(() => void noGrad(() => new HybridSolver({ F: sys.F, dt: 0.1, corrector: att }).rollout(u0f, steps)))],
  ['reference RK4 dt=0.1/1000 (float64 arrays)', () => scope(() => void referenceTrajectories(sys, u0, { dt: 0.1, steps, coarse: 1000 }))],
];
const nv = new NeurVecCorrector(4, { hidden: 256, generator: g });
const att = new AttSolverCorrector(4, { combine: 'add', networkHidden: 256, generator: g });

const results: { case: string; medianMs: number; stepsPerSecond: number; repeats: number }[] = [];
for (const [name, fn] of cases) {
  const times: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    fn();
    if (r > 0) times.push(performance.now() - t0); // the first run warms up
  }
  times.sort((a, b) => a - b);
  const medianMs = times[Math.floor(times.length / 2)]!;
  results.push({ case: name, medianMs, stepsPerSecond: (steps * 1000) / medianMs, repeats });
  console.log(`${name}: ${medianMs.toFixed(1)} ms per ${steps}-step rollout of 64 states, ${((steps * 1000) / medianMs).toFixed(0)} saved steps/s`);
}
const base = results[0]!.medianMs;
for (const r of results) console.log(`  ${r.case}: ${(r.medianMs / base).toFixed(2)}x the time of plain RK4 dt=0.1`);
const out = resolve(here, 'results/attsolver.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, results }, null, 2) + '\n');
console.log(`wrote ${out}`);
