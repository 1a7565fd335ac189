/**
 * Runs the reproduction without the CLI: `pnpm repro` (quick settings) or `pnpm repro -- --full`;
 * `--out <file>` writes the whole result as JSON (input of repro/figure.ts), `--json` prints the metrics.
 * `methodzoo repro stepnet` runs the same entry with progress bars, plots and a report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ProgressReporter } from '@methodzoo/core';
import { repro } from '../src/repro.js';

const full = process.argv.includes('--full');
const progress: ProgressReporter = {
  task(name, total) {
    let n = 0;
    return {
      tick(k = 1) {
        n += k;
      },
      done() {
        console.log(`${name}: ${n}/${total} steps`);
      },
    };
  },
  log: (message) => console.log(message),
};

const t0 = performance.now();
const result = await repro.run({ quick: !full, seed: 0, seeds: full ? [0, 1, 2] : [0], outDir: `reports/stepnet` }, progress);
console.log(`wall time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const widths = result.table.columns.map((c, i) => Math.max(c.length, ...result.table.rows.map((r) => String(r[i] ?? '').length)));
const line = (cells: (string | number | null)[]) => cells.map((c, i) => String(c ?? '').padEnd(widths[i]!)).join('  ');
console.log(`\n${repro.title}: ${repro.claim}\n`);
console.log(line(result.table.columns));
for (const row of result.table.rows) console.log(line(row));
console.log(`\nclaim holds: ${result.claimHolds} (${result.claimSummary})`);
for (const n of result.notes ?? []) console.log(`- ${n}`);
// The stiffness figure's data (seed 0): mean [min, max] NSI per block and stage.
for (const plot of result.series ?? []) {
  if (!plot.name.startsWith('nsi-')) continue;
  console.log(`\n${plot.title}`);
  for (const s of plot.series) console.log(`  ${s.name.padEnd(28)} ${s.x.map((x, k) => `${x}:${s.y[k]!.toFixed(3)}`).join(' ')}`);
}
if (process.argv.includes('--json')) console.log(JSON.stringify(result.metrics));
const o = process.argv.indexOf('--out');
if (o >= 0) {
  const file = process.argv[o + 1]!;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result) + '\n');
  console.log(`wrote ${file}`);
}
