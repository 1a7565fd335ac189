/**
 * @methodzoo/stepnet benchmark: median forward + backward time of one ResidualStep with each
 * adaptor ('none', 'se', 'r1', 'r2') measured in the same run on the current default backend, with
 * the overhead ratio of each against the SE block (the SAM baseline) and the extra parameters;
 * prints a table and writes bench/results/stepnet.json.
 *
 *   nx run stepnet:bench            (options: --repeats N, default 15)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, randn, scope, type Tensor } from '@methodzoo/core';
import { ResidualStep, type AdaptorOption, type BlockKind } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 15);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const ADAPTORS: AdaptorOption[] = ['none', 'se', 'r1', 'r2'];

/** Median forward + backward time of each block; the blocks take turns so load changes hit all alike. */
function medians(blocks: ResidualStep[], x: Tensor, memory: Tensor): number[] {
  const times: number[][] = blocks.map(() => []);
  for (let r = 0; r <= repeats; r++) {
    blocks.forEach((block, b) => {
      const t0 = performance.now();
      scope(() => block.forwardStep(x, memory).output.sum().backward());
      if (r > 0) times[b]!.push(performance.now() - t0); // the first round warms up
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

interface Row {
  case: string;
  ms: Record<string, number>;
  ratioToSE: Record<string, number>;
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
  const ms = medians(blocks, x, memory);
  const se = ms[1]!;
  const row: Row = {
    case: kind === 'mlp' ? `mlp ${inplanes}->${planes} batch=${batch}` : `${kind} ${inplanes}->${blocks[0]!.outChannels} ${size}x${size} batch=${batch}`,
    ms: Object.fromEntries(ADAPTORS.map((a, k) => [a, ms[k]!])),
    ratioToSE: Object.fromEntries(ADAPTORS.map((a, k) => [a, ms[k]! / se])),
    params: Object.fromEntries(ADAPTORS.map((a, k) => [a, blocks[k]!.numParameters()])),
    repeats,
  };
  results.push(row);
  console.log(`${row.case} (medians of ${repeats}, forward + backward):`);
  for (const a of ADAPTORS) console.log(`  ${a.padEnd(5)} ${row.ms[a]!.toFixed(2).padStart(8)} ms  x${row.ratioToSE[a]!.toFixed(3)} of SE  ${row.params[a]} params`);
}
const out = resolve(here, 'results/stepnet.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, results }, null, 2) + '\n');
console.log(`wrote ${out}`);
