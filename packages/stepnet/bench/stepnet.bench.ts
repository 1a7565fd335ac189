/**
 * @methodzoo/stepnet benchmark: median forward + backward time of one ResidualStep with each
 * adaptor ('none', 'se', 'r1', 'r2') and of each adaptor alone, measured in the same run on the
 * current default backend, with the overhead ratio of each against SE (the SAM baseline) and the
 * parameters; prints a table and writes bench/results/stepnet.json.
 *
 *   nx run stepnet:bench            (options: --repeats N, default 15)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, noGrad, randn, scope } from '@methodzoo/core';
import { ResidualStep, type AdaptorOption, type BlockKind } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 15);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const ADAPTORS: AdaptorOption[] = ['none', 'se', 'r1', 'r2'];

/** Median time of each function; they take turns so load changes hit all alike. */
function medians(fns: (() => void)[]): number[] {
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r <= repeats; r++) {
    fns.forEach((fn, b) => {
      const t0 = performance.now();
      scope(fn);
      if (r > 0) times[b]!.push(performance.now() - t0); // the first round warms up
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

interface Row {
  case: string;
  /** Whole block, forward + backward. */
  ms: Record<string, number>;
  ratioToSE: Record<string, number>;
  /** The adaptor alone (step sizes and scaling of a given residual), forward + backward. */
  adaptorMs: Record<string, number>;
  adaptorRatioToSE: Record<string, number>;
  params: Record<string, number>;
  repeats: number;
}
const results: Row[] = [];
const cases: [BlockKind, number, number, number, number][] = [
  // kind, inplanes, planes, spatial size, batch
  ['bottleneck', 64, 16, 8, 16],
  ['basic', 32, 32, 16, 16],
  ['mlp', 64, 64, 0, 128],
];
for (const [kind, inplanes, planes, size, batch] of cases) {
  const g = new Generator(0);
  const blocks = ADAPTORS.map((adaptor) => new ResidualStep(inplanes, planes, { block: kind, adaptor, reduction: kind === 'mlp' ? 4 : 16, generator: g }));
  const x = (kind === 'mlp' ? randn([batch, inplanes], { generator: g }) : randn([batch, inplanes, size, size], { generator: g })).requiresGrad_();
  const memory = randn([batch, 2], { generator: g });
  // R2 also computes its own memory m_t for the next block, as inside a network.
  const ms = medians(blocks.map((block) => () => block.forwardStep(x, memory, block.adaptorKind === 'r2').output.sum().backward()));
  const f = noGrad(() => blocks[0]!.residual(x)).requiresGrad_();
  const sc = noGrad(() => blocks[0]!.shortcut(x));
  const adaptors = blocks.slice(1).map((b) => b.attention!);
  const am = medians(adaptors.map((ad) => () => ad.call(f, ad.usesState ? sc : null, ad.usesMemory ? memory : null).sum().backward()));
  const se = ms[1]!;
  const row: Row = {
    case: kind === 'mlp' ? `mlp ${inplanes}->${planes} batch=${batch}` : `${kind} ${inplanes}->${blocks[0]!.outChannels} ${size}x${size} batch=${batch}`,
    ms: Object.fromEntries(ADAPTORS.map((a, k) => [a, ms[k]!])),
    ratioToSE: Object.fromEntries(ADAPTORS.map((a, k) => [a, ms[k]! / se])),
    adaptorMs: Object.fromEntries(ADAPTORS.slice(1).map((a, k) => [a, am[k]!])),
    adaptorRatioToSE: Object.fromEntries(ADAPTORS.slice(1).map((a, k) => [a, am[k]! / am[0]!])),
    params: Object.fromEntries(ADAPTORS.map((a, k) => [a, blocks[k]!.numParameters()])),
    repeats,
  };
  results.push(row);
  console.log(`${row.case} (medians of ${repeats}, forward + backward):`);
  for (const a of ADAPTORS) {
    const ad = a === 'none' ? '' : `   adaptor alone ${row.adaptorMs[a]!.toFixed(3).padStart(7)} ms  x${row.adaptorRatioToSE[a]!.toFixed(3)} of SE`;
    console.log(`  ${a.padEnd(5)} block ${row.ms[a]!.toFixed(2).padStart(8)} ms  x${row.ratioToSE[a]!.toFixed(3)} of SE  ${String(row.params[a]).padStart(6)} params${ad}`);
  }
}
const out = resolve(here, 'results/stepnet.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, results }, null, 2) + '\n');
console.log(`wrote ${out}`);
