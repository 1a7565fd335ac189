/**
 * nn layers against PyTorch: fixtures from tools/golden/nn_golden.py hold each module's state_dict,
 * inputs, outputs and the gradients of sum(out * upstream). Each case builds the TS module from the
 * same constructor spec, loads the state dict by name (strict), runs forward and backward and
 * compares outputs, input and parameter gradients, and BatchNorm's running statistics.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSafetensors, memory, nn, scope, type Tensor } from '../src/index.js';

const DIR = new URL('./fixtures/nn/', import.meta.url);

type Json = number | string | boolean | null | Json[] | { [k: string]: Json };
interface Spec {
  type: string;
  args?: Json[];
  kwargs?: Record<string, Json>;
  children?: Spec[];
}
interface Case {
  name: string;
  file: string;
  spec: Spec;
  training: boolean;
  call: string[];
  forward: Record<string, Json>;
  outputs: string[];
  stateKeys: string[];
  params: string[];
  gradInputs: string[];
  buffersAfter: string[];
}
const manifest = JSON.parse(readFileSync(new URL('layers.json', DIR), 'utf8')) as { cases: Case[] };

type Pair = number | [number, number];
const num = (v: Json | undefined) => v as number;
const pairOf = (v: Json | undefined) => v as Pair | undefined;

/** The TS module for a PyTorch constructor spec; kwargs keep PyTorch's names here and are mapped explicitly. */
function build(spec: Spec): nn.Module {
  const a = spec.args ?? [];
  const k = spec.kwargs ?? {};
  const known = (...names: string[]) => {
    const extra = Object.keys(k).filter((n) => !names.includes(n));
    if (extra.length) throw new Error(`${spec.type}: unmapped kwargs ${extra.join(', ')}`);
  };
  switch (spec.type) {
    case 'Sequential':
      return new nn.Sequential(...spec.children!.map(build));
    case 'Linear':
      known('bias');
      return new nn.Linear(num(a[0]), num(a[1]), { bias: k.bias as boolean | undefined });
    case 'Conv1d':
      known('stride', 'padding', 'dilation', 'groups', 'bias');
      return new nn.Conv1d(num(a[0]), num(a[1]), num(a[2]), {
        stride: num(k.stride ?? 1), padding: k.padding as number | 'same' | 'valid' | undefined, dilation: num(k.dilation ?? 1), groups: num(k.groups ?? 1), bias: k.bias as boolean | undefined,
      });
    case 'Conv2d':
      known('stride', 'padding', 'dilation', 'groups', 'bias');
      return new nn.Conv2d(num(a[0]), num(a[1]), pairOf(a[2])!, {
        stride: pairOf(k.stride), padding: k.padding as Pair | 'same' | 'valid' | undefined, dilation: pairOf(k.dilation), groups: k.groups as number | undefined, bias: k.bias as boolean | undefined,
      });
    case 'ConvTranspose2d':
      known('stride', 'padding', 'output_padding', 'dilation', 'groups', 'bias');
      return new nn.ConvTranspose2d(num(a[0]), num(a[1]), pairOf(a[2])!, {
        stride: pairOf(k.stride), padding: pairOf(k.padding), outputPadding: pairOf(k.output_padding), dilation: pairOf(k.dilation), groups: k.groups as number | undefined, bias: k.bias as boolean | undefined,
      });
    case 'BatchNorm1d':
    case 'BatchNorm2d': {
      known('eps', 'momentum', 'affine', 'track_running_stats');
      const opts = {
        eps: k.eps as number | undefined,
        momentum: k.momentum as number | null | undefined,
        affine: k.affine as boolean | undefined,
        trackRunningStats: k.track_running_stats as boolean | undefined,
      };
      return spec.type === 'BatchNorm1d' ? new nn.BatchNorm1d(num(a[0]), opts) : new nn.BatchNorm2d(num(a[0]), opts);
    }
    case 'GroupNorm':
      known('eps');
      return new nn.GroupNorm(num(a[0]), num(a[1]), { eps: k.eps as number | undefined });
    case 'LayerNorm':
      known('eps', 'bias');
      return new nn.LayerNorm(a[0] as number | number[], { eps: k.eps as number | undefined, bias: k.bias as boolean | undefined });
    case 'Embedding':
      known('padding_idx');
      return new nn.Embedding(num(a[0]), num(a[1]), { paddingIdx: k.padding_idx as number | undefined });
    case 'MultiheadAttention':
      known('batch_first', 'kdim', 'vdim', 'add_bias_kv', 'add_zero_attn');
      return new nn.MultiheadAttention(num(a[0]), num(a[1]), {
        batchFirst: k.batch_first as boolean | undefined,
        kdim: k.kdim as number | undefined,
        vdim: k.vdim as number | undefined,
        addBiasKv: k.add_bias_kv as boolean | undefined,
        addZeroAttn: k.add_zero_attn as boolean | undefined,
      });
    case 'MaxPool2d':
      known();
      return new nn.MaxPool2d(pairOf(a[0])!);
    case 'AvgPool2d':
      known('stride', 'padding', 'count_include_pad');
      return new nn.AvgPool2d(pairOf(a[0])!, { stride: pairOf(k.stride), padding: pairOf(k.padding), countIncludePad: k.count_include_pad as boolean | undefined });
    case 'AdaptiveAvgPool2d':
      known();
      return new nn.AdaptiveAvgPool2d(a[0] as number | [number, number]);
    case 'LeakyReLU':
      known();
      return new nn.LeakyReLU(num(a[0]));
    case 'Dropout':
      known();
      return new nn.Dropout(num(a[0]));
    case 'Flatten':
      return new nn.Flatten();
    case 'GELU':
      return new nn.GELU();
    case 'Tanh':
      return new nn.Tanh();
    case 'SiLU':
      return new nn.SiLU();
    case 'Sigmoid':
      return new nn.Sigmoid();
    case 'Softplus':
      return new nn.Softplus();
    default:
      throw new Error(`no TS builder for ${spec.type}`);
  }
}

/**
 * Float32 comparison, relative-ish: |a - e| <= tol * (|e| + scale) with scale = max(1, max |e|),
 * so values near zero in a tensor of large ones are held to the tensor's scale.
 */
function expectClose(what: string, actual: Tensor | null | undefined, expected: Tensor, tol = 1e-5): void {
  expect(actual, `${what} is missing`).toBeTruthy();
  expect(actual!.shape, `${what} shape`).toEqual(expected.shape);
  const a = actual!.dataSync();
  const e = expected.dataSync();
  let scale = 1;
  for (const v of e) scale = Math.max(scale, Math.abs(Number(v)));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(Number(a[i]) - Number(e[i])) / (Math.abs(Number(e[i])) + scale);
    if (!(excess <= worst)) [worst, at] = [excess, i];
  }
  if (worst > tol) expect.fail(`${what}: element ${at} is ${a[at]}, PyTorch has ${e[at]} (relative error ${worst.toExponential(2)} > ${tol})`);
}

async function load(c: Case) {
  const { tensors } = await loadSafetensors(fileURLToPath(new URL(c.file, DIR)));
  const group = (prefix: string) => new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
  return { all: tensors, state: group('state.'), input: group('input.'), output: group('output.'), upstream: group('upstream.'), gradInput: group('grad.input.'), gradParam: group('grad.param.'), after: group('after.') };
}

describe('nn layers match PyTorch (forward, backward, state)', () => {
  it('the fixture covers every layer type the task names', () => {
    const types = new Set<string>();
    const visit = (s: Spec) => (types.add(s.type), s.children?.forEach(visit));
    manifest.cases.forEach((c) => visit(c.spec));
    for (const t of ['Linear', 'Conv1d', 'Conv2d', 'ConvTranspose2d', 'BatchNorm2d', 'GroupNorm', 'LayerNorm', 'Embedding', 'MultiheadAttention', 'Sequential']) expect(types).toContain(t);
    expect(manifest.cases.filter((c) => c.spec.type === 'BatchNorm2d').map((c) => c.training)).toEqual(expect.arrayContaining([true, false]));
  });

  for (const c of manifest.cases) {
    it(c.name, async () => {
      const f = await load(c);
      const m = build(c.spec);
      // State-dict keys: the same set as the file and the same order as PyTorch's state_dict().
      expect([...m.stateDict().keys()]).toEqual(c.stateKeys);
      expect(new Set(f.state.keys())).toEqual(new Set(c.stateKeys));
      expect(m.namedParameters().map(([n]) => n)).toEqual(c.params);
      const res = m.loadStateDict(f.state);
      expect(res).toEqual({ missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
      for (const [k, t] of m.stateDict()) expect(Array.from(t.dataSync()), `loaded ${k}`).toEqual(Array.from(f.state.get(k)!.dataSync()));
      m.train(c.training);

      scope(() => {
        const inputs = new Map([...f.input].map(([n, t]) => [n, c.gradInputs.includes(n) ? t.detach().requiresGrad_() : t]));
        const args = c.call.map((n) => inputs.get(n)!);
        let outs: (Tensor | null)[];
        if (c.spec.type === 'MultiheadAttention') {
          const fw = c.forward;
          const mha = m as nn.MultiheadAttention;
          const known = ['attn_mask', 'key_padding_mask', 'need_weights', 'average_attn_weights'];
          expect(Object.keys(fw).filter((n) => !known.includes(n))).toEqual([]);
          outs = mha.call(args[0]!, args[1]!, args[2]!, {
            attnMask: inputs.get(fw.attn_mask as string) ?? null,
            keyPaddingMask: inputs.get(fw.key_padding_mask as string) ?? null,
            needWeights: fw.need_weights as boolean,
            averageAttnWeights: fw.average_attn_weights as boolean,
          });
        } else outs = [(m as nn.Sequential).call(args[0]!) as Tensor];
        expect(outs.length).toBe(c.outputs.length);
        c.outputs.forEach((n, i) => expectClose(`output ${n}`, outs[i], f.output.get(n)!));

        let loss: Tensor | null = null;
        c.outputs.forEach((n, i) => {
          const term = outs[i]!.mul(f.upstream.get(n)!).sum();
          loss = loss ? loss.add(term) : term;
        });
        loss!.backward();
        for (const n of c.gradInputs) expectClose(`grad of input ${n}`, inputs.get(n)!.grad, f.gradInput.get(n)!);
        const params = new Map(m.namedParameters());
        for (const n of c.params) expectClose(`grad of ${n}`, params.get(n)!.grad, f.gradParam.get(n)!);
        const state = m.stateDict();
        expect([...f.after.keys()].sort()).toEqual([...c.buffersAfter].sort());
        for (const k of c.buffersAfter) expectClose(`${k} after forward`, state.get(k), f.after.get(k)!);
      });
      m.dispose();
      for (const t of f.all.values()) t.dispose();
    });
  }
});

describe('loadStateDict memory', () => {
  it('leaves no tensors behind beyond the loaded ones', async () => {
    const c = manifest.cases.find((x) => x.name === 'sequential')!;
    const m = build(c.spec);
    const { tensors } = await loadSafetensors(fileURLToPath(new URL(c.file, DIR)));
    const state = new Map([...tensors].filter(([k]) => k.startsWith('state.')).map(([k, t]) => [k.slice(6), t]));
    const before = memory();
    m.loadStateDict(state);
    m.loadStateDict(state);
    const after = memory();
    expect(after.tensors).toBe(before.tensors);
    expect(after.buffers).toBe(before.buffers);
    // The module owns copies: disposing the loaded tensors leaves its values intact.
    const w = Array.from(state.get('0.weight')!.dataSync());
    for (const t of tensors.values()) t.dispose();
    expect(memory().tensors).toBe(before.tensors - tensors.size);
    expect(Array.from((m.stateDict().get('0.weight') as Tensor).dataSync())).toEqual(w);
    m.dispose();
  });
});
