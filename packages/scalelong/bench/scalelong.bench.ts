/**
 * @methodzoo/scalelong benchmark: median time of one training step (epsilon loss, forward +
 * backward) of a small conv UNet and a small UViT with each skip-scaling strategy, as a ratio to
 * org measured in the same run (CS should cost about nothing, LS a little), and DDIM sampling
 * throughput in images/s. Prints the table and writes bench/results/scalelong.json.
 *
 *   nx run scalelong:bench            (options: --repeats N, default 3)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, randn, scope } from '@methodzoo/core';
import { epsilonLoss, linearSchedule, sample } from '@methodzoo/diffusion';
import { UNet, UViT } from '@methodzoo/models';
import { applyScaleLong, cs, ls, org, sqrt2, strategyName } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : (process.env.BENCH_REPEATS ?? 3));
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const schedule = linearSchedule(1000);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const models = {
  unet: () => new UNet({ inChannels: 1, modelChannels: 8, channelMult: [1, 2], numResBlocks: 1, numGroups: 4, attentionResolutions: [], middleAttention: false, generator: new Generator(0) }),
  uvit: () => new UViT({ imageSize: 14, patchSize: 2, inChannels: 1, embedDim: 16, depth: 6, numHeads: 2, mlpRatio: 2, generator: new Generator(0) }),
};
const strategies = [org(), sqrt2(), cs({ kappa: 0.7 }), ls(), ls({ shared: false })];
const rows: { model: string; strategy: string; stepMs: number; ratio: number }[] = [];
const sampling: { model: string; imagesPerSecond: number }[] = [];
for (const [name, make] of Object.entries(models)) {
  const x = randn([8, 1, 14, 14], { generator: new Generator(1) });
  // strategies interleaved within each repeat (after one untimed round), so load drifts hit all alike
  const ms = strategies.map(() => [] as number[]);
  const nets = strategies.map((s) => applyScaleLong(make(), s));
  for (let r = 0; r <= repeats; r++) {
    nets.forEach((m, k) => {
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
  const m = make();
  const t0 = performance.now();
  sample((a, t) => m.call(a, t), schedule, [8, 1, 14, 14], { steps: 5, generator: new Generator(2) }).dataSync();
  sampling.push({ model: name, imagesPerSecond: 8 / ((performance.now() - t0) / 1000) });
}
console.log(`backend ${backendInfo().current}; batch 8 of 1x14x14; median of ${repeats}`);
for (const r of rows) console.log(`${r.model.padEnd(5)} ${r.strategy.padEnd(16)} ${r.stepMs.toFixed(1).padStart(8)} ms/step  x${r.ratio.toFixed(2)} vs org`);
for (const s of sampling) console.log(`${s.model.padEnd(5)} DDIM 5 steps: ${s.imagesPerSecond.toFixed(1)} images/s`);
const out = resolve(here, 'results/scalelong.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ backend: backendInfo().current, repeats, trainingStep: rows, sampling }, null, 2)}\n`);
