/**
 * @methodzoo/models benchmark: forward and backward time of every backbone at a small batch on the
 * current default backend. Prints a table of medians and writes bench/results/models.json.
 *
 *   nx run models:bench
 *   pnpm bench -- --repeats 5 --only resnet20,unet_small
 *
 * Options: --repeats N (BENCH_REPEATS, default 3; one untimed warm-up run precedes them),
 * --only a,b (case names), --out FILE.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, nn, randint, randn, scope, type Tensor } from '@methodzoo/core';
import { GPT, MLP, resnet20, resnet164, SEBlock, TransformerBlock, UNet, UViT } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
};
const repeats = Number(flag('repeats') ?? process.env.BENCH_REPEATS ?? 3);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${repeats}`);
const only = (flag('only') ?? process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
const out = resolve(flag('out') ?? resolve(here, 'results/models.json'));

interface Case {
  name: string;
  input: string;
  build: (g: Generator) => nn.Module;
  /** One forward returning a scalar loss. */
  run: (m: nn.Module, g: Generator) => Tensor;
}

const img = (shape: number[], g: Generator) => randn(shape, { generator: g });
const CASES: Case[] = [
  { name: 'resnet20', input: '8x3x32x32', build: (g) => resnet20({ generator: g }), run: (m, g) => (m.call(img([8, 3, 32, 32], g)) as Tensor).square().mean() },
  { name: 'resnet20_se', input: '8x3x32x32', build: (g) => resnet20({ generator: g, attention: (c) => new SEBlock(c, { generator: g }) }), run: (m, g) => (m.call(img([8, 3, 32, 32], g)) as Tensor).square().mean() },
  { name: 'resnet20_mnist', input: '8x1x28x28', build: (g) => resnet20({ inChannels: 1, generator: g }), run: (m, g) => (m.call(img([8, 1, 28, 28], g)) as Tensor).square().mean() },
  { name: 'resnet164_w0.25', input: '8x3x32x32', build: (g) => resnet164({ width: 0.25, generator: g }), run: (m, g) => (m.call(img([8, 3, 32, 32], g)) as Tensor).square().mean() },
  { name: 'mlp_784_256_10', input: '64x784', build: (g) => new MLP([784, 256, 10], { generator: g }), run: (m, g) => (m.call(img([64, 784], g)) as Tensor).square().mean() },
  {
    name: 'unet_small',
    input: '4x1x28x28',
    build: (g) => new UNet({ inChannels: 1, modelChannels: 32, channelMult: [1, 2], numResBlocks: 1, attentionResolutions: [2], numHeads: 2, generator: g }),
    run: (m, g) => (m as UNet).call(img([4, 1, 28, 28], g), [1, 250, 500, 999]).square().mean(),
  },
  {
    name: 'uvit_small',
    input: '4x1x28x28',
    build: (g) => new UViT({ imageSize: 28, patchSize: 4, inChannels: 1, embedDim: 64, depth: 4, numHeads: 2, generator: g }),
    run: (m, g) => (m as UViT).call(img([4, 1, 28, 28], g), [1, 250, 500, 999]).square().mean(),
  },
  { name: 'block_dense', input: '8x32x64', build: (g) => new TransformerBlock(64, { numHeads: 4, generator: g }), run: (m, g) => (m.call(img([8, 32, 64], g)) as Tensor).square().mean() },
  {
    name: 'block_moe_e8_k2',
    input: '8x32x64',
    build: (g) => new TransformerBlock(64, { numHeads: 4, moe: { numExperts: 8, topK: 2 }, generator: g }),
    run: (m, g) => {
      const b = m as TransformerBlock;
      return b.call(img([8, 32, 64], g)).square().mean().add(b.moe!.balanceLoss.mul(0.01));
    },
  },
  {
    name: 'gpt_tiny_moe',
    input: '8x32 tokens',
    build: (g) => new GPT({ vocabSize: 65, blockSize: 32, dim: 64, numLayers: 2, numHeads: 4, moe: { numExperts: 4, topK: 2 }, moeLayers: 'alternate', generator: g }),
    run: (m, g) => {
      const gpt = m as GPT;
      return gpt.call(randint(0, 65, [8, 32], { dtype: 'int32', generator: g })).square().mean().add(gpt.auxLoss());
    },
  },
];
const unknown = only.filter((n) => !CASES.some((c) => c.name === n));
if (unknown.length) throw new Error(`unknown cases ${unknown.join(', ')}; known: ${CASES.map((c) => c.name).join(', ')}`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const rows: { name: string; input: string; params: number; forwardMs: number; backwardMs: number }[] = [];
console.log(`[bench] @methodzoo/models on the ${backendInfo().current} backend, ${repeats} repeats (+1 warm-up)`);
for (const c of CASES) {
  if (only.length && !only.includes(c.name)) continue;
  const g = new Generator(0);
  const model = c.build(g);
  model.train();
  const fwd: number[] = [];
  const bwd: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    scope(() => {
      const t0 = performance.now();
      const loss = c.run(model, g);
      loss.dataSync();
      const t1 = performance.now();
      loss.backward();
      for (const p of model.parameters()) p.grad?.dataSync();
      const t2 = performance.now();
      if (r > 0) {
        fwd.push(t1 - t0);
        bwd.push(t2 - t1);
      }
    });
    model.zeroGrad();
  }
  const row = { name: c.name, input: c.input, params: model.numParameters(), forwardMs: median(fwd), backwardMs: median(bwd) };
  rows.push(row);
  console.log(`${row.name.padEnd(18)} ${row.input.padEnd(12)} ${String(row.params).padStart(9)} params  forward ${row.forwardMs.toFixed(1).padStart(8)} ms  backward ${row.backwardMs.toFixed(1).padStart(8)} ms`);
  model.dispose();
}

mkdirSync(dirname(out), { recursive: true });
const env = { node: process.version, platform: platform(), arch: arch(), cpu: cpus()[0]?.model ?? 'unknown', backend: backendInfo() };
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), repeats, env, results: rows }, null, 2)}\n`);
console.log(`[bench] wrote ${out}`);
