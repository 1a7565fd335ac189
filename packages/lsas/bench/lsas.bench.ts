/**
 * @methodzoo/lsas benchmark: median forward + backward time of one LSAS-SE block (order 1 and 2)
 * against an SE block of the same width, measured in the same run on the current default backend;
 * prints the overhead ratios and writes bench/results/lsas.json.
 *
 *   nx run lsas:bench            (options: --repeats N, default 15)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, randn, scope, type nn, type Tensor } from '@methodzoo/core';
import { lsasSEBlock, seBlock } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 15);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

/** Median forward + backward time of each block; the blocks take turns so load changes hit all alike. */
function medians(blocks: nn.Module[], x: Tensor): number[] {
  const times: number[][] = blocks.map(() => []);
  for (let r = 0; r <= repeats; r++) {
    blocks.forEach((block, b) => {
      const t0 = performance.now();
      scope(() => (block.call(x) as Tensor).sum().backward());
      if (r > 0) times[b]!.push(performance.now() - t0); // the first round warms up
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

const results: { case: string; seMs: number; lsas1Ms: number; lsas2Ms: number; ratio1: number; ratio2: number; repeats: number }[] = [];
for (const [channels, size, batch] of [[64, 16, 32], [256, 8, 32]] as const) {
  const g = new Generator(0);
  const x = randn([batch, channels, size, size], { generator: g, requiresGrad: true });
  const [seMs, lsas1Ms, lsas2Ms] = medians([seBlock(channels, { generator: g }), lsasSEBlock(channels, { order: 1, generator: g }), lsasSEBlock(channels, { order: 2, generator: g })], x) as [number, number, number];
  const row = { case: `C=${channels} ${size}x${size} batch=${batch}`, seMs, lsas1Ms, lsas2Ms, ratio1: lsas1Ms / seMs, ratio2: lsas2Ms / seMs, repeats };
  results.push(row);
  console.log(`${row.case}: SE ${seMs.toFixed(2)} ms, LSAS-SE n=1 ${lsas1Ms.toFixed(2)} ms (x${row.ratio1.toFixed(2)}), n=2 ${lsas2Ms.toFixed(2)} ms (x${row.ratio2.toFixed(2)}) (medians of ${repeats})`);
}
const out = resolve(here, 'results/lsas.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, results }, null, 2) + '\n');
console.log(`wrote ${out}`);
