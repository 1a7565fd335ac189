/**
 * @methodzoo/attsolver benchmark: steps per second of the hybrid solver against the plain base scheme,
 * plain RK4 and the fine reference, at equal accuracy.
 *
 * For each system (spring chain with Euler at dt = 0.2, elastic pendulum with RK4 at dt = 0.1) a
 * NeurVec and an AttSolver-m corrector are trained briefly (the repro's quick data and budget), then
 * 64 test states are rolled out for 100 saved steps by: each hybrid solver at dt; the plain base scheme
 * and plain RK4 at dt / k, k = 1, 2, 4, ...; the float64 fine reference (RK4 at dt / 1000, array path).
 * Error = mean rollout MSE against the reference. "At equal accuracy" is the cost at which a plain
 * solver reaches the hybrid's error (log-log interpolated between bracketing k, `speedupAtEqualError`).
 * Steps/s counts saved steps of dt for the whole batch of 64 states (simulated time per wall time).
 * Prints the fastest of N runs and writes bench/results/attsolver.json.
 *
 *   nx run attsolver:bench            (options: --repeats N, default 7)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, noGrad, scope, type Tensor } from '@methodzoo/core';
import {
  AttSolverCorrector,
  elasticPendulum,
  HybridSolver,
  NeurVecCorrector,
  referenceTrajectories,
  rolloutMse,
  speedupAtEqualError,
  trainOneStep,
  windowDataset,
  type Corrector,
  type OdeSystem,
} from '../src/index.js';
import { QUICK, reproSpringChain, sampleInitial, sampleSpringInitial, type ExperimentSettings } from '../src/repro.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 7);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const B = 64;
const STEPS = 100;
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/**
 * Fastest wall time (s) of `repeats` runs after one warm-up (the minimum, not the median: on a shared
 * machine the noise only ever adds time); the last run's result is kept.
 */
function timed<T>(fn: () => T): { seconds: number; value: T } {
  let value = fn();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    value = fn();
    times.push((performance.now() - t0) / 1000);
  }
  return { seconds: Math.min(...times), value };
}

interface Row {
  system: string;
  solver: string;
  error: number;
  seconds: number;
  stepsPerSecond: number;
}

interface Case {
  name: string;
  system: OdeSystem;
  base: 'euler' | 'rk4';
  dt: number;
  lossScale: number;
  sample: (n: number, g: Generator) => Tensor;
  cfg: ExperimentSettings;
  ks: number[];
}

const spring = reproSpringChain().system;
const cases: Case[] = [
  { name: 'spring chain (Euler, dt 0.2)', system: spring, base: 'euler', dt: 0.2, lossScale: 1, sample: sampleSpringInitial, cfg: QUICK.spring, ks: [1, 2, 4, 8, 16, 32, 64] },
  { name: 'elastic pendulum (RK4, dt 0.1)', system: elasticPendulum(), base: 'rk4', dt: 0.1, lossScale: 1e6, sample: sampleInitial, cfg: QUICK.pendulum, ks: [1, 2, 4, 8] },
];

const rows: Row[] = [];
const summary: string[] = [];
for (const c of cases) {
  const d = c.system.dim;
  const g = new Generator(11);
  const train = referenceTrajectories(c.system, c.sample(c.cfg.trainTraj, g), { dt: c.dt, steps: c.cfg.trainSteps, coarse: c.cfg.refCoarse }).float();
  const pairs = windowDataset(train, { window: 2 });
  const n = pairs.shape[0]!;
  const u0 = pairs.narrow(1, 0, 1).reshape([n, d]);
  const u1 = pairs.narrow(1, 1, 1).reshape([n, d]);
  const testU0 = c.sample(B, g);
  const ref = timed(() => scope(() => referenceTrajectories(c.system, testU0, { dt: c.dt, steps: STEPS, coarse: 1000 })));
  const truth = ref.value.float();
  const x0 = testU0.float();
  const add = (solver: string, seconds: number, error: number) => {
    rows.push({ system: c.name, solver, error, seconds, stepsPerSecond: STEPS / seconds });
    return { error, seconds };
  };
  add('fine reference (RK4 dt/1000, float64 arrays)', ref.seconds, 0);
  const run = (solver: HybridSolver, coarse = 1) => timed(() => scope(() => noGrad(() => solver.rollout(x0, STEPS, { coarse }))));
  const plain = (base: 'euler' | 'rk4', ks: number[]) =>
    ks.map((k) => {
      const r = run(new HybridSolver({ F: c.system.F, base, dt: c.dt }), k);
      const p = add(`plain ${base} dt/${k}`, r.seconds, mean(rolloutMse(r.value, truth)));
      r.value.dispose();
      return p;
    });
  const plainBase = plain(c.base, c.ks);
  const plainRk4 = c.base === 'rk4' ? plainBase : plain('rk4', [1, 2, 4]);
  const learned: [string, Corrector][] = [
    ['NeurVec', new NeurVecCorrector(d, { hidden: c.cfg.hidden, generator: new Generator(0) })],
    ['AttSolver-m', new AttSolverCorrector(d, { combine: 'mul', networkHidden: c.cfg.hidden, generator: new Generator(0) })],
  ];
  for (const [name, corrector] of learned) {
    const solver = new HybridSolver({ F: c.system.F, base: c.base, corrector, dt: c.dt });
    trainOneStep(solver, u0, u1, { epochs: c.cfg.epochs, batchSize: c.cfg.batchSize, lossScale: c.lossScale, generator: new Generator(0) });
    const r = run(solver);
    const h = add(`${c.base} + ${name} dt (trained, quick budget)`, r.seconds, mean(rolloutMse(r.value, truth)));
    r.value.dispose();
    const vs = (label: string, pts: { error: number; seconds: number }[]) => {
      const s = speedupAtEqualError(h, pts);
      if (s === null) return `${label}: no run up to the finest k is as accurate (the hybrid is more than ${(pts.at(-1)!.seconds / h.seconds).toFixed(2)}x faster)`;
      // the cheapest plain run may already be more accurate than the hybrid: then there is nothing to interpolate
      if (pts[0]!.error <= h.error) return `${label} at dt is already more accurate (MSE ${pts[0]!.error.toExponential(2)}) and takes ${s.toFixed(2)}x the hybrid's time`;
      return `${label} at equal error takes ${s.toFixed(2)}x the hybrid's time`;
    };
    summary.push(`${c.name}, ${name}: error ${h.error.toExponential(2)}, ${(STEPS / h.seconds).toFixed(0)} steps/s; ${vs(`plain ${c.base}`, plainBase)}; ${c.base === 'rk4' ? '' : `${vs('plain RK4', plainRk4)}; `}fine reference ${(STEPS / ref.seconds).toFixed(0)} steps/s (${(ref.seconds / h.seconds).toFixed(1)}x the hybrid's time)`);
  }
  train.dispose();
}

const w = Math.max(...rows.map((r) => r.solver.length));
let last = '';
for (const r of rows) {
  if (r.system !== last) console.log(`\n${r.system}: ${B} states x ${STEPS} saved steps, fastest of ${repeats}`);
  last = r.system;
  console.log(`  ${r.solver.padEnd(w)}  mean rollout MSE ${r.error.toExponential(2).padStart(9)}  ${(r.seconds * 1000).toFixed(1).padStart(8)} ms  ${r.stepsPerSecond.toFixed(0).padStart(6)} steps/s`);
}
console.log('\nAt equal accuracy:');
for (const s of summary) console.log(`- ${s}`);
const out = resolve(here, 'results/attsolver.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, batch: B, steps: STEPS, repeats, rows, summary }, null, 2) + '\n');
console.log(`wrote ${out}`);
