/**
 * @methodzoo/asr benchmark (arXiv 2304.06345, Table 1's question at toy scale): eval forward time of
 * the deployed ASR(SE) ResNet against the plain backbone (ratio about 1.0) and the SE ResNet
 * (slower: its gates depend on the input), and the training-step (forward + backward) overhead of
 * ASR(SE) against plain. ResNet-20 (basic blocks, widths 8/16/32), 1x14x14 inputs, on the current
 * default backend. The models take turns in every repeat so load spikes on a shared machine hit them
 * alike. Printed, not asserted; writes bench/results/asr.json.
 *
 *   nx run asr:bench            (options: --repeats N, default 7)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, crossEntropy, Generator, noGrad, randint, randn, scope, type Tensor } from '@methodzoo/core';
import { CifarResNet, SEBlock } from '@methodzoo/models';
import { asrify, reparameterize } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 7);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);

const build = (kind: 'plain' | 'se' | 'asr') => {
  const net = new CifarResNet({ depth: 20, inChannels: 1, width: 0.5, generator: new Generator(0) });
  const g = new Generator(1);
  if (kind === 'se') for (const b of net.blocks()) b.attention = new SEBlock(b.outChannels, { reduction: 4, generator: g });
  if (kind === 'asr') asrify(net, { reduction: 4, generator: g });
  return net;
};

const g = new Generator(2);
const x = randn([64, 1, 14, 14], { generator: g });
const y = randint(0, 10, [64], { generator: g });

function medians(cases: [string, () => void][]): Map<string, number> {
  const times = new Map(cases.map(([name]) => [name, [] as number[]]));
  for (let r = 0; r <= repeats; r++) {
    for (const [name, fn] of cases) {
      const t0 = performance.now();
      fn();
      if (r > 0) times.get(name)!.push(performance.now() - t0); // the first round warms up
    }
  }
  return new Map([...times].map(([name, t]) => [name, t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!]));
}

const plain = build('plain');
const se = build('se');
const asrTrain = build('asr');
const asrDeployed = reparameterize(build('asr'));
const asrGates = build('asr').eval();
for (const m of [plain, se]) m.eval();
const forward = (m: CifarResNet) => () => noGrad(() => scope(() => void (m.call(x) as Tensor).dataSync()));
const step = (m: CifarResNet) => () => scope(() => {
  m.zeroGrad();
  crossEntropy(m.call(x), y).backward();
});

const inference = medians([
  ['plain', forward(plain)],
  ['SE', forward(se)],
  ['ASR(SE) training form', forward(asrGates)],
  ['ASR(SE) deployed', forward(asrDeployed)],
]);
plain.train();
const training = medians([
  ['plain', step(plain)],
  ['ASR(SE)', step(asrTrain)],
  ['SE', step(se.train())],
]);

const p = inference.get('plain')!;
const results = [
  ...[...inference].map(([name, ms]) => ({ case: `eval forward, batch 64: ${name}`, medianMs: ms, ratioToPlain: ms / p, repeats })),
  ...[...training].map(([name, ms]) => ({ case: `train step (fwd + bwd), batch 64: ${name}`, medianMs: ms, ratioToPlain: ms / training.get('plain')!, repeats })),
];
for (const r of results) console.log(`${r.case}: ${r.medianMs.toFixed(1)} ms (${r.ratioToPlain.toFixed(2)}x plain, median of ${repeats})`);
console.log(`parameters: plain ${plain.numParameters()}, SE ${se.numParameters()}, ASR(SE) training ${asrTrain.numParameters()}, deployed ${asrDeployed.numParameters()}`);
const out = resolve(here, 'results/asr.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, results }, null, 2) + '\n');
console.log(`wrote ${out}`);
