/**
 * Report-rendering benchmark of @methodzoo/cli: how long each plot kind takes from a spec to SVG
 * (Vega, headless) and from SVG to PNG (resvg), so the report step stays small next to training.
 * The peer in the same run is the SVG step itself: the ratio column is PNG time / SVG time.
 * Prints a table and writes bench/results/plot.json.
 *
 * Usage: pnpm bench [-- --repeats 7]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { plotSpec, renderSvg, svgToPng, type Plot } from '../src/plot.js';
import { textTable } from '../src/table.js';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '7' } } });
const repeats = Number(values.repeats);
const here = dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const steps = Array.from({ length: 500 }, (_, i) => i + 1);
const cases: [string, Plot][] = [
  [
    'line: 3 series x 500 points, log y',
    {
      kind: 'line',
      plot: { name: 'loss', title: 'Loss', x: { label: 'step' }, y: { label: 'loss', unit: 'nats', log: true }, series: [1, 2, 3].map((k) => ({ name: `seed ${k}`, x: steps, y: steps.map((s) => 2 / Math.sqrt(s) + 0.01 * k) })) },
    },
  ],
  ['bar: 4 bars x 5 seeds', { kind: 'bar', plot: { name: 'acc', title: 'Accuracy', y: { label: 'accuracy', unit: '%' }, bars: ['a', 'b', 'c', 'd'].map((label, j) => ({ label, values: [0, 1, 2, 3, 4].map((s) => 80 + j + 0.3 * s) })) } }],
  [
    'image grid: 30 images 28x28',
    {
      kind: 'images',
      plot: { name: 'grid', title: 'Digits', columns: 10, images: Array.from({ length: 30 }, (_, k) => ({ image: { width: 28, height: 28, channels: 1 as const, pixels: Array.from({ length: 784 }, (_, i) => ((i + k) % 7) / 6) }, caption: `${k % 10}` })) },
    },
  ],
];

const rows: { case: string; svgMs: number; pngMs: number; ratio: number; svgBytes: number; pngBytes: number }[] = [];
for (const [name, plot] of cases) {
  await renderSvg(plotSpec(plot)); // warm-up: module initialisation and JIT
  const svgTimes: number[] = [];
  const pngTimes: number[] = [];
  let svg = '';
  let png: Uint8Array = new Uint8Array(0);
  for (let r = 0; r < repeats; r++) {
    let t0 = performance.now();
    svg = await renderSvg(plotSpec(plot));
    svgTimes.push(performance.now() - t0);
    t0 = performance.now();
    png = svgToPng(svg);
    pngTimes.push(performance.now() - t0);
  }
  const svgMs = median(svgTimes);
  const pngMs = median(pngTimes);
  rows.push({ case: name, svgMs, pngMs, ratio: pngMs / svgMs, svgBytes: svg.length, pngBytes: png.length });
}

console.log(`plot rendering, median of ${repeats} runs (Node.js ${process.version})\n`);
console.log(
  textTable({
    columns: ['case', 'SVG (ms)', 'PNG (ms)', 'PNG / SVG', 'SVG (kB)', 'PNG (kB)'],
    rows: rows.map((r) => [r.case, r.svgMs, r.pngMs, r.ratio, r.svgBytes / 1024, r.pngBytes / 1024]),
  }),
);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'plot.json'), `${JSON.stringify({ node: process.version, repeats, rows }, null, 2)}\n`);
console.log('\nwrote bench/results/plot.json');
