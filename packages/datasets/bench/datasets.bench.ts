/**
 * Load-time benchmark of @methodzoo/datasets: MNIST and Fashion-MNIST loaded cold (JSON parse, into a
 * fresh cache folder), from the on-disk binary cache (new-process equivalent: the in-process memo is
 * cleared), and memoised (same process), plus the synthetic generators. Prints a table and writes
 * bench/results/datasets.json.
 *
 * Usage: pnpm bench [-- --repeats 5 --skip-fashion]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tensor } from '@methodzoo/core';
import { clearImageMemo, dampedOscillator, generateInteractions, type ImageLoadOptions, loadFashionMnist, loadMnist, lorenz, odeTrajectories } from '../src/index.js';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '5' }, 'skip-fashion': { type: 'boolean', default: false } } });
const repeats = Number(values.repeats);
const here = dirname(fileURLToPath(import.meta.url));

/** Milliseconds `fn` takes; tensors it returns (one or two levels deep) are disposed afterwards. */
function time(fn: () => unknown): number {
  const t0 = performance.now();
  const r = fn();
  const ms = performance.now() - t0;
  const free = (v: unknown, depth: number): void => {
    if (v instanceof Tensor) v.dispose();
    else if (depth > 0 && v !== null && typeof v === 'object') for (const e of Object.values(v)) free(e, depth - 1);
  };
  free(r, 2);
  return ms;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: { case: string; ms: number; note: string }[] = [];
const cache = mkdtempSync(join(tmpdir(), 'mz-datasets-bench-'));
const loaders: [string, (o: ImageLoadOptions) => unknown][] = [['MNIST', loadMnist]];
if (!values['skip-fashion']) loaders.push(['Fashion-MNIST', loadFashionMnist]);
try {
  for (const [name, load] of loaders) {
    // a full load builds every image tensor; `limit: 0` isolates the file work (parse or cache read)
    for (const [label, opts] of [['full splits', {}], ['files only (limit 0)', { limit: 0 }]] as const) {
      const dir = join(cache, `${name}-${label.length}`);
      clearImageMemo();
      rows.push({ case: `${name} ${label}: first load (JSON parse)`, ms: time(() => load({ ...opts, cacheDir: dir })), note: '1 run' });
      const disk = Array.from({ length: repeats }, () => {
        clearImageMemo();
        return time(() => load({ ...opts, cacheDir: dir }));
      });
      rows.push({ case: `${name} ${label}: on-disk cache`, ms: median(disk), note: `median of ${repeats}` });
      const memo = Array.from({ length: repeats }, () => time(() => load({ ...opts, cacheDir: dir })));
      rows.push({ case: `${name} ${label}: memoised`, ms: median(memo), note: `median of ${repeats}` });
    }
  }
} finally {
  rmSync(cache, { recursive: true, force: true });
}
rows.push({ case: 'Lorenz 64 x 500 points (5,000 RK4 steps)', ms: median(Array.from({ length: repeats }, () => time(() => odeTrajectories(lorenz(), { batch: 64, steps: 500, dt: 0.01, seed: 0 })))), note: `median of ${repeats}` });
rows.push({ case: 'damped oscillator 256 x 200 points', ms: median(Array.from({ length: repeats }, () => time(() => odeTrajectories(dampedOscillator(), { batch: 256, steps: 200, dt: 0.05, seed: 0 })))), note: `median of ${repeats}` });
rows.push({ case: 'interactions 1,000 users x 2,000 items', ms: median(Array.from({ length: repeats }, () => time(() => generateInteractions({ numUsers: 1000, numItems: 2000, seed: 0 })))), note: `median of ${repeats}` });

const width = Math.max(...rows.map((r) => r.case.length));
console.log(`${'case'.padEnd(width)}  ${'ms'.padStart(9)}  note`);
for (const r of rows) console.log(`${r.case.padEnd(width)}  ${r.ms.toFixed(1).padStart(9)}  ${r.note}`);
const out = resolve(here, 'results/datasets.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ node: process.version, date: new Date().toISOString(), repeats, rows }, null, 2) + '\n');
console.log(`wrote ${out}`);
