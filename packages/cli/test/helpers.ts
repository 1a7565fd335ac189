import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ReproEntry } from '@methodzoo/core';
import type { MethodSource } from '../src/methods.js';

/** A writable stream that keeps what is written. */
export function collector(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, { text: () => chunks.join('') });
}

export function tempDir(prefix = 'methodzoo-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A tiny method: "training" is a closed-form loss curve per seed, so the test checks the plumbing
 * (progress, table, metrics, plots, report) with known numbers.
 */
export const fakeEntry: ReproEntry = {
  name: 'fake',
  title: 'Fake method',
  paper: { title: 'A paper about nothing', arxiv: '2401.00001', venue: 'Nowhere 2024' },
  claim: 'the method reaches lower loss than the baseline',
  async run(options, progress) {
    const seeds = options.seeds ?? [options.seed];
    const steps = 10;
    const curves = seeds.map((seed) => {
      const task = progress.task(`seed ${seed}`, steps);
      const y: number[] = [];
      for (let s = 1; s <= steps; s++) {
        y.push(2 / s + 0.01 * seed);
        task.tick(1, { loss: y[y.length - 1]! });
      }
      task.done();
      return { seed, y };
    });
    progress.log('fake training finished');
    // a method may write its own files into its report folder, which exists by now
    writeFileSync(join(options.outDir, 'curves.csv'), curves.map((c) => `${c.seed},${c.y.join(',')}`).join('\n'));
    const finals = curves.map((c) => c.y[c.y.length - 1]!);
    const baseline = finals.map((f) => f + 0.5);
    return {
      table: { columns: ['seed', 'method loss', 'baseline loss'], rows: curves.map((c, i) => [c.seed, finals[i]!, baseline[i]!]) },
      metrics: { 'final loss': finals, 'baseline final loss': baseline, steps },
      series: [
        {
          name: 'loss',
          title: 'Fake loss curves',
          x: { label: 'training step', unit: 'steps' },
          y: { label: 'loss', unit: 'nats', log: true },
          series: curves.map((c) => ({ name: `seed ${c.seed}`, x: c.y.map((_, i) => i + 1), y: c.y })),
        },
      ],
      bars: [{ name: 'final', title: 'Final loss', y: { label: 'final loss', unit: 'nats' }, bars: [{ label: 'method', values: finals }, { label: 'baseline', values: baseline }], reference: { value: 0.5, label: 'target 0.5' } }],
      images: [
        {
          name: 'samples',
          title: 'Fake samples',
          columns: 2,
          images: [0, 1, 2].map((k) => ({
            image: { width: 4, height: 3, channels: 1 as const, pixels: Array.from({ length: 12 }, (_, i) => ((i + k) % 4) / 3) },
            caption: `sample ${k}`,
          })),
        },
      ],
      notes: ['closed-form curves, no training'],
      claimHolds: finals.every((f, i) => f < baseline[i]!),
      claimSummary: `final loss ${finals[0]} vs baseline ${baseline[0]} (seed ${seeds[0]}).`,
    };
  },
};

export const fakeMethods: MethodSource[] = [
  { name: 'fake', load: async () => ({ repro: fakeEntry }) },
  { name: 'ghost', package: '@methodzoo/ghost-package-that-does-not-exist' },
];
