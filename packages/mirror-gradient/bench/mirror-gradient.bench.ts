/**
 * @methodzoo/mirror-gradient benchmark on the current default backend: VBPR + Adam on synthetic data.
 * Prints the median time of a normal and of a mirror iteration (their ratio), the per-epoch time
 * without MG and with MG at beta = 1 and beta = 3 (overhead), and the training throughput in
 * interactions/s. Writes bench/results/mirror-gradient.json.
 *
 *   nx run mirror-gradient:bench            (options: --repeats N, default 5)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, optim, scope } from '@methodzoo/core';
import { generateInteractions } from '@methodzoo/datasets';
import { concatFeatures, mirrorGradient, sampleBprBatches, Vbpr } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 5);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const d = generateInteractions({ numUsers: 400, numItems: 600, latentDim: 8, imageDim: 32, textDim: 32, seed: 0 });
const feats = concatFeatures(d.imageFeatures, d.textFeatures);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

function setup(beta: number, enabled: boolean) {
  const model = new Vbpr(d.numUsers, feats, { dim: 32, generator: new Generator(1) });
  const mg = mirrorGradient(new optim.Adam(model.parameters(), { lr: 5e-3 }), { beta, enabled });
  return { model, mg };
}

const batches = sampleBprBatches(d.train, d.numItems, 512, new Generator(2));
const results: Record<string, number> = {};

// one iteration: batch 1 of an epoch never mirrors under the epoch counter at beta 3, batch 0 always does
const { model, mg } = setup(3, true);
const iter = (mirror: boolean) => {
  const times: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    mg.startEpoch();
    if (!mirror) mg.batchInEpoch = 1;
    const t0 = performance.now();
    scope(() => mg.step(() => model.loss(batches[0]!)));
    if (r > 0) times.push(performance.now() - t0);
  }
  return median(times);
};
results.normalIterationMs = iter(false);
results.mirrorIterationMs = iter(true);
results.mirrorOverNormal = results.mirrorIterationMs / results.normalIterationMs;
console.log(`iteration (batch 512): normal ${results.normalIterationMs.toFixed(1)} ms, mirror ${results.mirrorIterationMs.toFixed(1)} ms (x${results.mirrorOverNormal.toFixed(2)})`);

for (const [name, beta, enabled] of [['off', 3, false], ['beta1', 1, true], ['beta3', 3, true]] as const) {
  const s = setup(beta, enabled);
  const times: number[] = [];
  for (let r = 0; r < Math.max(2, Math.ceil(repeats / 2)); r++) {
    s.mg.startEpoch();
    const t0 = performance.now();
    for (const b of batches) scope(() => s.mg.step(() => s.model.loss(b)));
    times.push(performance.now() - t0);
  }
  results[`epochMs_${name}`] = median(times);
}
results.epochOverheadBeta1 = results.epochMs_beta1! / results.epochMs_off! - 1;
results.epochOverheadBeta3 = results.epochMs_beta3! / results.epochMs_off! - 1;
results.interactionsPerSecond = d.train.items.length / (results.epochMs_off! / 1000);
console.log(`epoch (${batches.length} batches, ${d.train.items.length} interactions): off ${results.epochMs_off!.toFixed(0)} ms, beta 1 ${results.epochMs_beta1!.toFixed(0)} ms (+${(100 * results.epochOverheadBeta1).toFixed(0)}%), beta 3 ${results.epochMs_beta3!.toFixed(0)} ms (+${(100 * results.epochOverheadBeta3).toFixed(0)}%)`);
console.log(`VBPR (d = 32 + 32) training throughput without MG: ${results.interactionsPerSecond.toFixed(0)} interactions/s`);
const out = resolve(here, 'results/mirror-gradient.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, repeats, results }, null, 2) + '\n');
console.log(`wrote ${out}`);
