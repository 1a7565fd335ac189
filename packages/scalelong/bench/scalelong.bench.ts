/**
 * @methodzoo/scalelong benchmark: median time of one training step (epsilon loss, forward +
 * backward) of a small conv UNet and a small UViT with each skip-scaling strategy, as a ratio to
 * org measured in the same run (CS should cost about nothing, LS a little), and DDIM sampling
 * throughput in images/s per strategy. Prints the table and writes bench/results/scalelong.json.
 *
 *   nx run scalelong:bench            (options: --repeats N, default 3)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, randn, scope } from '@methodzoo/core';
import { epsilonLoss, linearSchedule, sample } from '@methodzoo/diffusion';
import { applyScaleLong, buildModel, cs, ls, MEDIUM, MEDIUM_UVIT, org, sqrt2, strategyName } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : (process.env.BENCH_REPEATS ?? 3));
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const schedule = linearSchedule(1000);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
// the repro's medium backbones: conv UNet width 8, levels [1, 2] (4 skips); U-ViT patch 2, dim 16, depth 6 (3 skips)
const models = {
  unet: () => buildModel(MEDIUM, 0),
  uvit: () => buildModel(MEDIUM_UVIT, 0),
};
const strategies = [org(), sqrt2(), cs({ kappa: 0.7 }), ls(), ls({ shared: false })];
const rows: { model: string; strategy: string; stepMs: number; ratio: number }[] = [];
const sampling: { model: string; strategy: string; imagesPerSecond: number }[] = [];
for (const [name, make] of Object.entries(models)) {
  const x = randn([8, 1, 14, 14], { generator: new Generator(1) });
  // strategies interleaved within each repeat (after one untimed round), so load drifts hit all alike
  const ms = strategies.map(() => [] as number[]);
  const nets = strategies.map((s) => applyScaleLong(make(), s));
  for (let r = 0; r <= repeats; r++) {
    // each round starts at a different strategy, so no strategy always runs first after a model switch
    const order = nets.map((_, j) => (j + r) % nets.length);
    order.forEach((k) => {
      const m = nets[k]!;
      const t0 = performance.now();
      scope(() => {
        epsilonLoss((a, t) => m.call(a, t), schedule, x, { generator: new Generator(r) }).backward();
        m.parameters()[0]!.grad!.dataSync();
      });
      if (r > 0) ms[k]!.push(performance.now() - t0);
      m.zeroGrad();
    });
  }
  const orgMs = median(ms[0]!);
  strategies.forEach((s, k) => rows.push({ model: name, strategy: strategyName(s), stepMs: median(ms[k]!), ratio: median(ms[k]!) / orgMs }));
  // sampling, interleaved the same way: one untimed round, then the median of `repeats` timed calls per strategy
  const sms = strategies.map(() => [] as number[]);
  for (let r = 0; r <= repeats; r++) {
    nets.forEach((_, j) => {
      const k = (j + r) % nets.length;
      const m = nets[k]!;
      const t0 = performance.now();
      const imgs = sample((a, t) => m.call(a, t), schedule, [8, 1, 14, 14], { steps: 5, generator: new Generator(2) });
      imgs.dataSync();
      imgs.dispose();
      if (r > 0) sms[k]!.push(performance.now() - t0);
    });
  }
  strategies.forEach((s, k) => sampling.push({ model: name, strategy: strategyName(s), imagesPerSecond: 8 / (median(sms[k]!) / 1000) }));
}
console.log(`backend ${backendInfo().current}; batch 8 of 1x14x14; median of ${repeats}`);
for (const r of rows) console.log(`${r.model.padEnd(5)} ${r.strategy.padEnd(16)} ${r.stepMs.toFixed(1).padStart(8)} ms/step  x${r.ratio.toFixed(2)} vs org`);
for (const s of sampling) console.log(`${s.model.padEnd(5)} ${s.strategy.padEnd(16)} DDIM 5 steps, batch 8: ${s.imagesPerSecond.toFixed(1).padStart(6)} images/s`);
const out = resolve(here, 'results/scalelong.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ backend: backendInfo().current, repeats, trainingStep: rows, sampling }, null, 2)}\n`);
