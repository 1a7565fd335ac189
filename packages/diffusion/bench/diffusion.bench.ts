/**
 * @methodzoo/diffusion benchmark: the sampler's own overhead per step (everything but the
 * network), i.e. qSample, the DDPM step and the DDIM step on an MNIST-sized batch, with a free
 * noise predictor. Prints medians and writes bench/results/diffusion.json.
 *
 *   nx run diffusion:bench        Options: --repeats N (default 5).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, randn, scope } from '@methodzoo/core';
import { ddimStep, ddpmStep, linearSchedule, qSample, sample } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : (process.env.BENCH_REPEATS ?? 5));
const s = linearSchedule(1000);
const g = new Generator(0);
const shape = [64, 1, 28, 28];
const x = randn(shape, { generator: g });
const eps = randn(shape, { generator: g });
const t = Array.from({ length: 64 }, (_, k) => (k * 13) % 1000);

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
function time(fn: () => void): number {
  fn();
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}
const rows = {
  qSample: time(() => scope(() => void qSample(s, x, t, eps).dataSync())),
  ddpmStep: time(() => scope(() => void ddpmStep(s, x, 500, eps, { generator: g }).dataSync())),
  ddimStep: time(() => scope(() => void ddimStep(s, x, 500, 480, eps).dataSync())),
  ddim50: time(() => scope(() => void sample((z) => z.mul(0.1), s, shape, { steps: 50, generator: g }).dataSync())),
};
console.log(`backend ${backendInfo().current}, batch [${shape.join(', ')}], median of ${repeats}`);
for (const [k, v] of Object.entries(rows)) console.log(`${k.padEnd(10)} ${v.toFixed(2)} ms`);
console.log(`ddim50 sampler overhead: ${((64 * 1000) / rows.ddim50).toFixed(0)} images/s (network excluded)`);
const out = resolve(here, 'results/diffusion.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ backend: backendInfo().current, shape, repeats, medianMs: rows }, null, 2)}\n`);
