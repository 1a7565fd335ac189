/**
 * Every primitive on the default tfjs backend against the reference backend, same inputs, one
 * process: the ops where tfjs is slower than the reference's plain loops are the ones to route
 * elsewhere (this sweep found argmax, gather, indexSelect, broadcasting maximum and pow 2-1000x
 * slower on tfjs-wasm before they moved to the heap). Inputs around [64,32,8,8] (131K elements);
 * tfjs-wasm runs synchronously, so a call's time is its kernel's. Samples of the two backends
 * alternate. Prints the table, slowest ratio first, and writes bench/results/ops.json.
 *
 *   pnpm bench (runs this after tfjs.bench.ts), or: tsx --conditions=methodzoo-source bench/ops.bench.ts [--repeats 15]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as mz from '@methodzoo/core';
import '../src/index.js';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '15' } } });
const repeats = Number(values.repeats);
const tfjs = await mz.initBackends();
const ref = mz.getBackend('reference');
const g = new mz.Generator(1);
const S = [64, 32, 8, 8];
const f32 = (shape: number[]) => mz.rand(shape, { generator: g, backend: ref }).mul(4).sub(2);
const index = (shape: number[], below: number) => mz.randint(0, below, shape, { generator: g, backend: ref });

type Case = { name: string; prim: mz.PrimName; inputs: mz.Tensor[]; attrs: object };
const cases: Case[] = [];
const add = (name: string, prim: mz.PrimName, inputs: mz.Tensor[], attrs: object = {}) => cases.push({ name, prim, inputs, attrs });
for (const op of ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'erf', 'floor', 'sign'] as const) add(op, op, [f32(S)]);
for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'lt'] as const) {
  const x = op === 'pow' ? f32(S).abs() : f32(S);
  add(`${op}, same shape`, op, [x, f32(S)]);
  add(`${op}, by [1,32,1,1]`, op, [x, f32([1, 32, 1, 1])]);
  add(`${op}, by [8]`, op, [x, f32([8])]);
}
add('where', 'where', [f32(S).gt(0), f32(S), f32(S)]);
add('where, broadcast', 'where', [f32(S).gt(0), f32([1, 32, 1, 1]), f32([])]);
add('cast to int32', 'cast', [f32(S)], { dtype: 'int32' });
add('cast to bool', 'cast', [f32(S)], { dtype: 'bool' });
for (const axes of [[0, 2, 3], [3], [1], [0, 1, 2, 3], [1, 3]]) for (const op of ['sum', 'max'] as const) add(`${op} over ${axes}`, op, [f32(S)], { axes });
add('argmax over 1', 'argmax', [f32(S)], { axis: 1 });
add('argmax over 3', 'argmax', [f32(S)], { axis: 3 });
add('permute to NHWC', 'permute', [f32(S)], { perm: [0, 2, 3, 1] });
add('expand', 'expand', [f32([64, 1, 8, 8])], { shape: S });
add('slice, step 2', 'slice', [f32(S)], { begin: [0, 0, 0, 0], end: S, step: [1, 1, 2, 2] });
add('pad', 'pad', [f32(S)], { before: [0, 0, 1, 1], after: [0, 0, 1, 1], value: 0 });
add('cat', 'cat', [f32(S), f32(S)], { axis: 1 });
add('gather', 'gather', [f32(S), index([64, 32, 8, 4], 8)], { axis: 3 });
add('scatterAdd', 'scatterAdd', [f32(S), index([64, 32, 8, 4], 8), f32([64, 32, 8, 4])], { axis: 3 });
add('indexSelect', 'indexSelect', [f32([1000, 64]), index([256], 1000)], { axis: 0 });
add('indexAdd', 'indexAdd', [f32([1000, 64]), index([256], 1000), f32([256, 64])], { axis: 0 });
add('matmul [1,256,64]x[1,64,64]', 'matmul', [f32([1, 256, 64]), f32([1, 64, 64])], { transA: false, transB: false });
add('reluBackward', 'reluBackward', [f32(S), f32(S)]);
add('unfold 3x3', 'unfold', [f32(S)], { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] });
add('fold 3x3', 'fold', [f32([64, 288, 64])], { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], outputSize: [8, 8] });

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const rows: { op: string; tfjsUs: number; referenceUs: number; ratio: number }[] = [];
for (const { name, prim, inputs, attrs } of cases) {
  const onTfjs = inputs.map((t) => t.to(tfjs));
  const run = (xs: mz.Tensor[]) => () => mz.scope(() => void mz.runPrim(prim, xs, attrs as never));
  const fns = [run(onTfjs), run(inputs)];
  const times: number[][] = [[], []];
  for (let r = -2; r < repeats; r++) {
    fns.forEach((f, i) => {
      const t0 = performance.now();
      f();
      if (r >= 0) times[i]!.push((performance.now() - t0) * 1000);
    });
  }
  const [t, rf] = times.map(median) as [number, number];
  rows.push({ op: name, tfjsUs: t, referenceUs: rf, ratio: t / rf });
}
rows.sort((a, b) => b.ratio - a.ratio);
console.log(`every primitive on ${tfjs.name} (${(tfjs as { engine?: string }).engine ?? ''}) against the reference, median of ${repeats}, microseconds:`);
for (const r of rows) console.log(`  ${r.op.padEnd(30)} ${r.tfjsUs.toFixed(0).padStart(8)}  reference ${r.referenceUs.toFixed(0).padStart(8)}  tfjs/reference ${r.ratio.toFixed(2).padStart(6)}`);
const out = new URL('./results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('ops.json', out), `${JSON.stringify({ date: new Date().toISOString(), backend: tfjs.name, repeats, rows }, null, 2)}\n`);
process.exit(0);
