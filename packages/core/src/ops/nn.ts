/**
 * Neural-network functional ops (PyTorch `torch.nn.functional`), all composed from primitives.
 * Convolution is im2col (`unfold`) + one GEMM; its two gradients fall out of the unfold/fold and
 * matmul rules as two more GEMMs and a col2im. A backend may register fused convolution kernels
 * instead (`ops/fused.ts`).
 */
import type { DType } from '../dtype.js';
import { defaultGenerator, type Generator } from '../random.js';
import { bernoulli, full } from '../creation.js';
import { convOutputSize, type Conv2dGeometry } from '../prims.js';
import { fmtShape, normAxis, OpError } from '../shape.js';
import { fromData, noGrad, runPrim, type Tensor } from '../tensor.js';
import {
  add, argmax, cast, div, eq, gather, indexSelect, matmul, mul, ne, pad, reshape, sub, sum, where, expand, type TensorOrScalar,
} from './basic.js';
import { mean, softmax, transpose, unsqueeze, variance, flatten } from './composite.js';
import { conv2dFused } from './fused.js';
import { allocArray } from '../dtype.js';
import { rsqrt } from './basic.js';

export type Pair = number | readonly [number, number];
const pair = (op: string, arg: string, v: Pair): [number, number] => {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 0)) throw new OpError(op, `${arg} must be non-negative integers, got ${JSON.stringify(v)}`);
  return p;
};

function expectDims(op: string, arg: string, t: Tensor, ndim: number, what: string): void {
  if (t.ndim !== ndim) throw new OpError(op, `${arg} must be ${ndim}-D (${what}), got shape ${fmtShape(t.shape)}`);
}

/** y = x W^T + b for x [..., in], W [out, in], b [out]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  expectDims('linear', 'weight', weight, 2, 'out_features x in_features');
  const inF = weight.shape[1]!;
  if (x.shape[x.ndim - 1] !== inF) throw new OpError('linear', `input's last dim is ${x.shape[x.ndim - 1]}, weight expects ${inF} (input ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)})`);
  const rows = x.size / inF;
  const y = runPrim('matmul', [reshape(x, [1, rows, inF]), reshape(weight, [1, weight.shape[0]!, inF])], { transA: false, transB: true });
  const out = reshape(y, [...x.shape.slice(0, -1), weight.shape[0]!]);
  if (!bias) return out;
  if (bias.shape.join() !== String(weight.shape[0])) throw new OpError('linear', `bias must have shape [${weight.shape[0]}], got ${fmtShape(bias.shape)}`);
  return add(out, bias);
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

/** Symmetric padding per side, or for 'same' with an even effective kernel the explicit [left, right, top, bottom] pad. */
function convPadding(
  op: string,
  padding: Conv2dOptions['padding'],
  kernel: [number, number],
  dilation: [number, number],
  stride: [number, number],
): { symmetric: [number, number]; explicit: number[] | null } {
  if (padding === 'valid' || padding === undefined) return { symmetric: [0, 0], explicit: null };
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) throw new OpError(op, "padding='same' needs stride 1");
    const total = kernel.map((k, i) => dilation[i]! * (k - 1)) as [number, number];
    const before = total.map((t) => Math.floor(t / 2)) as [number, number];
    if (total.every((t) => t % 2 === 0)) return { symmetric: before, explicit: null };
    // An even effective kernel needs one more pixel after than before, as PyTorch pads it.
    return { symmetric: [0, 0], explicit: [before[1], total[1] - before[1], before[0], total[0] - before[0]] };
  }
  return { symmetric: pair(op, 'padding', padding), explicit: null };
}

/** 2-D convolution: x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  expectDims('conv2d', 'input', x, 4, 'N x C x H x W');
  expectDims('conv2d', 'weight', weight, 4, 'out_channels x in_channels/groups x kH x kW');
  const groups = opts.groups ?? 1;
  const c = x.shape[1]!;
  const [o, cg, kh, kw] = weight.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || o % groups !== 0) {
    throw new OpError('conv2d', `groups=${groups} must divide in_channels ${c} and out_channels ${o}`);
  }
  if (cg * groups !== c) throw new OpError('conv2d', `weight ${fmtShape(weight.shape)} expects ${cg * groups} input channels (groups=${groups}), input has ${c}`);
  const stride = pair('conv2d', 'stride', opts.stride ?? 1);
  const dilation = pair('conv2d', 'dilation', opts.dilation ?? 1);
  const padding = convPadding('conv2d', opts.padding, [kh, kw], dilation, stride);
  const input = padding.explicit ? pad(x, padding.explicit) : x;
  // A backend's fused kernel when it registered one, else unfold + GEMM.
  const y = conv2dFused(input, weight, { stride, padding: padding.symmetric, dilation, groups });
  return bias ? add(y, reshape(checkBias('conv2d', bias, o), [1, o, 1, 1])) : y;
}

function checkBias(op: string, bias: Tensor, channels: number): Tensor {
  if (bias.ndim !== 1 || bias.shape[0] !== channels) throw new OpError(op, `bias must have shape [${channels}], got ${fmtShape(bias.shape)}`);
  return bias;
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
}
/** 1-D convolution: x [N, C, L], weight [O, C/groups, k]. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv1dOptions = {}): Tensor {
  expectDims('conv1d', 'input', x, 3, 'N x C x L');
  expectDims('conv1d', 'weight', weight, 3, 'out_channels x in_channels/groups x k');
  const p = opts.padding;
  const y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, {
    stride: [1, opts.stride ?? 1],
    padding: typeof p === 'string' || p === undefined ? p : [0, p],
    dilation: [1, opts.dilation ?? 1],
    groups: opts.groups ?? 1,
  });
  return reshape(y, [y.shape[0]!, y.shape[1]!, y.shape[3]!]);
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  dilation?: Pair;
  groups?: number;
}
/** Transposed convolution: x [N, Cin, H, W], weight [Cin, Cout/groups, kh, kw]. The col2im of W^T x. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  expectDims('convTranspose2d', 'input', x, 4, 'N x C x H x W');
  expectDims('convTranspose2d', 'weight', weight, 4, 'in_channels x out_channels/groups x kH x kW');
  const groups = opts.groups ?? 1;
  const [n, cin, h, w] = x.shape as [number, number, number, number];
  const [wc, cog, kh, kw] = weight.shape as [number, number, number, number];
  if (wc !== cin) throw new OpError('convTranspose2d', `weight ${fmtShape(weight.shape)} expects ${wc} input channels, input has ${cin}`);
  if (cin % groups !== 0) throw new OpError('convTranspose2d', `groups=${groups} must divide in_channels ${cin}`);
  const stride = pair('convTranspose2d', 'stride', opts.stride ?? 1);
  const padding = pair('convTranspose2d', 'padding', opts.padding ?? 0);
  const dilation = pair('convTranspose2d', 'dilation', opts.dilation ?? 1);
  const outPad = pair('convTranspose2d', 'outputPadding', opts.outputPadding ?? 0);
  if (outPad[0] >= Math.max(stride[0], dilation[0]) || outPad[1] >= Math.max(stride[1], dilation[1])) {
    throw new OpError('convTranspose2d', `outputPadding ${outPad} must be smaller than stride or dilation`);
  }
  const outH = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outPad[0] + 1;
  const outW = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outPad[1] + 1;
  const k = kh * kw;
  const cg = cin / groups;
  const wg = reshape(weight, [groups, cg, cog * k]);
  const xg = reshape(x, [n, groups, cg, h * w]);
  // cols[n, g, (co, ki, kj), hw] = sum_ci W[g, ci, (co, ki, kj)] x[n, g, ci, hw]
  const cols = reshape(matmul(transpose(wg, 1, 2), xg), [n, groups * cog * k, h * w]);
  const y = runPrim('fold', [cols], { kernel: [kh, kw], stride, padding, dilation, outputSize: [outH, outW] });
  const cout = cog * groups;
  return bias ? add(y, reshape(checkBias('convTranspose2d', bias, cout), [1, cout, 1, 1])) : y;
}

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

function poolGeometry(op: string, x: Tensor, kernel: Pair, opts: Pool2dOptions): Conv2dGeometry {
  expectDims(op, 'input', x, 4, 'N x C x H x W');
  const k = pair(op, 'kernelSize', kernel);
  const padding = pair(op, 'padding', opts.padding ?? 0);
  if (padding[0] * 2 > k[0] || padding[1] * 2 > k[1]) throw new OpError(op, `padding ${padding} should be at most half of kernel size ${k}`);
  return { kernel: k, stride: pair(op, 'stride', opts.stride ?? k), padding, dilation: pair(op, 'dilation', opts.dilation ?? 1) };
}

/** Max pooling; the gradient goes to the first maximum of each window, as in PyTorch. */
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: Pool2dOptions = {}): Tensor {
  const g = poolGeometry('maxPool2d', x, kernelSize, opts);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = convOutputSize('maxPool2d', h, w, g);
  const padded = pad(x, [g.padding[1], g.padding[1], g.padding[0], g.padding[0]], -Infinity);
  const kk = g.kernel[0] * g.kernel[1];
  const cols = reshape(runPrim('unfold', [padded], { ...g, padding: [0, 0] }), [n, c, kk, oh * ow]);
  const idx = noGrad(() => argmax(cols, 2, { keepdim: true }));
  return reshape(gather(cols, 2, idx), [n, c, oh, ow]);
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count zero padding in the divisor (PyTorch default true). */
  countIncludePad?: boolean;
}
export function avgPool2d(x: Tensor, kernelSize: Pair, opts: AvgPool2dOptions = {}): Tensor {
  const g = poolGeometry('avgPool2d', x, kernelSize, opts);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = convOutputSize('avgPool2d', h, w, g);
  const kk = g.kernel[0] * g.kernel[1];
  const summed = sum(reshape(runPrim('unfold', [x], g), [n, c, kk, oh * ow]), 2);
  let divisor: TensorOrScalar = kk;
  if (opts.countIncludePad === false && (g.padding[0] > 0 || g.padding[1] > 0)) {
    divisor = noGrad(() => sum(runPrim('unfold', [full([1, 1, h, w], 1, { dtype: x.dtype, backend: x.backend })], g), 1));
  }
  return reshape(div(summed, divisor), [n, c, oh, ow]);
}

function matrixOn(x: Tensor, rows: number, cols: number, fill: (m: Float64Array) => void): Tensor {
  const m = new Float64Array(rows * cols);
  fill(m);
  const data = allocArray(x.dtype as DType, rows * cols);
  data.set(m);
  return fromData(data, [rows, cols], x.dtype, x.backend);
}

/** Adaptive average pooling to `outputSize`, PyTorch's bins: [floor(i*H/oh), ceil((i+1)*H/oh)). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  expectDims('adaptiveAvgPool2d', 'input', x, 4, 'N x C x H x W');
  const [oh, ow] = pair('adaptiveAvgPool2d', 'outputSize', outputSize);
  const [, , h, w] = x.shape as [number, number, number, number];
  if (oh === 1 && ow === 1) return mean(x, [2, 3], { keepdim: true });
  const bins = (out: number, size: number) =>
    matrixOn(x, out, size, (m) => {
      for (let i = 0; i < out; i++) {
        const s = Math.floor((i * size) / out);
        const e = Math.ceil(((i + 1) * size) / out);
        for (let j = s; j < e; j++) m[i * size + j] = 1 / (e - s);
      }
    });
  return matmul(matmul(bins(oh, h), x), transpose(bins(ow, w), 0, 1));
}

export interface InterpolateOptions {
  size?: Pair;
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}
/** Resizes x [N, C, H, W]; bilinear is two interpolation matrices, nearest two index selects. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  expectDims('interpolate', 'input', x, 4, 'N x C x H x W');
  const [, , h, w] = x.shape as [number, number, number, number];
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new OpError('interpolate', 'exactly one of size and scaleFactor must be given');
  const sf = opts.scaleFactor === undefined ? undefined : typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : opts.scaleFactor;
  const [oh, ow] = opts.size !== undefined ? pair('interpolate', 'size', opts.size) : [Math.floor(h * sf![0]!), Math.floor(w * sf![1]!)];
  if (oh <= 0 || ow <= 0) throw new OpError('interpolate', `output size ${oh}x${ow} is empty`);
  // PyTorch uses 1/scaleFactor as the step when a scale factor is given, else in/out.
  const scale = (i: number, inSize: number, outSize: number) => (sf ? 1 / sf[i]! : inSize / outSize);
  const mode = opts.mode ?? 'nearest';
  if (mode === 'nearest') {
    if (opts.alignCorners !== undefined) throw new OpError('interpolate', "alignCorners only applies to mode 'bilinear'");
    const index = (i: number, inSize: number, outSize: number) => {
      const data = new Int32Array(outSize);
      for (let j = 0; j < outSize; j++) data[j] = Math.min(Math.floor(j * scale(i, inSize, outSize)), inSize - 1);
      return fromData(data, [outSize], 'int32', x.backend);
    };
    return indexSelect(indexSelect(x, 2, index(0, h, oh)), 3, index(1, w, ow));
  }
  if (mode !== 'bilinear') throw new OpError('interpolate', `mode must be 'nearest' or 'bilinear', got '${String(mode)}'`);
  const align = opts.alignCorners ?? false;
  const weights = (i: number, inSize: number, outSize: number) =>
    matrixOn(x, outSize, inSize, (m) => {
      for (let j = 0; j < outSize; j++) {
        let src = align ? (outSize > 1 ? (j * (inSize - 1)) / (outSize - 1) : 0) : Math.max(scale(i, inSize, outSize) * (j + 0.5) - 0.5, 0);
        src = Math.min(src, inSize - 1);
        const i0 = Math.floor(src);
        const i1 = Math.min(i0 + 1, inSize - 1);
        const l = src - i0;
        m[j * inSize + i0]! += 1 - l;
        m[j * inSize + i1]! += l;
      }
    });
  return matmul(matmul(weights(0, h, oh), x), transpose(weights(1, w, ow), 0, 1));
}

export interface DropoutOptions {
  training?: boolean;
  generator?: Generator;
}
/** Zeroes each element with probability p and scales the rest by 1/(1-p) (inverted dropout). */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new OpError('dropout', `p must be in [0, 1], got ${p}`);
  if (opts.training === false || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const mask = bernoulli(x.shape, 1 - p, { dtype: x.dtype, backend: x.backend, generator: opts.generator ?? defaultGenerator });
  return mul(x, div(mask, 1 - p));
}

/** Rows of `weight` [V, D] at int32 `indices` [...]; rows at `paddingIdx` get no gradient. */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx?: number): Tensor {
  if (indices.dtype !== 'int32') throw new OpError('embedding', `indices must be int32, got ${indices.dtype}`);
  expectDims('embedding', 'weight', weight, 2, 'num_embeddings x embedding_dim');
  const rows = indexSelect(weight, 0, reshape(indices, [indices.size]));
  let out = reshape(rows, [...indices.shape, weight.shape[1]!]);
  if (paddingIdx !== undefined) {
    // A negative paddingIdx counts from the end, as in PyTorch.
    const v = weight.shape[0]!;
    if (!Number.isInteger(paddingIdx) || paddingIdx < -v || paddingIdx >= v) throw new OpError('embedding', `paddingIdx ${paddingIdx} must be within [-${v}, ${v})`);
    const keepGrad = unsqueeze(ne(indices, paddingIdx < 0 ? paddingIdx + v : paddingIdx), -1);
    out = where(keepGrad, out, out.detach());
  }
  return out;
}

/** int32 one-hot encoding, classes on a new last dim. */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  if (indices.dtype !== 'int32') throw new OpError('oneHot', `indices must be int32, got ${indices.dtype}`);
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new OpError('oneHot', `numClasses must be a positive integer, got ${numClasses}`);
  const values = indices.dataSync();
  for (const v of values) if (v < 0 || v >= numClasses) throw new OpError('oneHot', `class value ${v} is outside [0, ${numClasses})`);
  const classes = fromData(Int32Array.from({ length: numClasses }, (_, i) => i), [numClasses], 'int32', indices.backend);
  return cast(eq(unsqueeze(indices, -1), classes), 'int32');
}

// ---- normalisation -------------------------------------------------------------------------

function affine(y: Tensor, weight: Tensor | null | undefined, bias: Tensor | null | undefined, shape: number[]): Tensor {
  let out = y;
  if (weight) out = mul(out, reshape(weight, shape));
  if (bias) out = add(out, reshape(bias, shape));
  return out;
}

/** Normalises over the trailing `normalizedShape` dims (biased variance, as PyTorch). */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const k = normalizedShape.length;
  if (x.shape.slice(x.ndim - k).join() !== normalizedShape.join()) {
    throw new OpError('layerNorm', `input ${fmtShape(x.shape)} does not end with normalizedShape ${fmtShape(normalizedShape)}`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && p.shape.join() !== normalizedShape.join()) throw new OpError('layerNorm', `${name} must have shape ${fmtShape(normalizedShape)}, got ${fmtShape(p.shape)}`);
  }
  const axes = normalizedShape.map((_, i) => x.ndim - k + i);
  const mu = mean(x, axes, { keepdim: true });
  const centred = sub(x, mu);
  const v = mean(mul(centred, centred), axes, { keepdim: true });
  return affine(mul(centred, rsqrt(add(v, eps))), weight, bias, [...normalizedShape]);
}

/** GroupNorm over x [N, C, *]: statistics per (sample, group of C/groups channels). */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  if (x.ndim < 2) throw new OpError('groupNorm', `input must be at least 2-D (N x C x ...), got ${fmtShape(x.shape)}`);
  const [n, c] = x.shape as [number, number];
  if (!Number.isInteger(numGroups) || numGroups <= 0 || c % numGroups !== 0) throw new OpError('groupNorm', `numGroups=${numGroups} must divide the ${c} channels`);
  const g = reshape(x, [n, numGroups, -1]);
  const mu = mean(g, 2, { keepdim: true });
  const centred = sub(g, mu);
  const v = mean(mul(centred, centred), 2, { keepdim: true });
  const y = reshape(mul(centred, rsqrt(add(v, eps))), x.shape);
  return affine(y, weight, bias, [1, c, ...x.shape.slice(2).map(() => 1)]);
}

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
}
/**
 * BatchNorm over x [N, C, *]. In training it normalises with batch statistics and, when running
 * buffers are given, updates them in place (unbiased variance, exponential average with `momentum`).
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight?: Tensor | null, bias?: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  if (x.ndim < 2) throw new OpError('batchNorm', `input must be at least 2-D (N x C x ...), got ${fmtShape(x.shape)}`);
  const c = x.shape[1]!;
  const shape = [1, c, ...x.shape.slice(2).map(() => 1)];
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const eps = opts.eps ?? 1e-5;
  const training = opts.training ?? true;
  if (training) {
    const count = x.size / c;
    if (count <= 1) throw new OpError('batchNorm', `expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
    const mu = mean(x, axes, { keepdim: true });
    const centred = sub(x, mu);
    const v = mean(mul(centred, centred), axes, { keepdim: true });
    if (runningMean && runningVar) {
      const m = opts.momentum ?? 0.1;
      noGrad(() => {
        runningMean.assign(add(mul(runningMean, 1 - m), mul(reshape(mu, [c]), m)));
        runningVar.assign(add(mul(runningVar, 1 - m), mul(reshape(v, [c]), (m * count) / (count - 1))));
      });
    }
    return affine(mul(centred, rsqrt(add(v, eps))), weight, bias, shape);
  }
  if (!runningMean || !runningVar) throw new OpError('batchNorm', 'running statistics are required in eval mode');
  const y = mul(sub(x, reshape(runningMean, shape)), reshape(rsqrt(add(runningVar, eps)), shape));
  return affine(y, weight, bias, shape);
}

// ---- attention -----------------------------------------------------------------------------

export interface AttentionOptions {
  /** Bool mask (true = attend) or additive float mask, broadcastable to [..., Lq, Lk]. */
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  /** Defaults to 1/sqrt(head dim). */
  scale?: number;
  training?: boolean;
  generator?: Generator;
}

/** softmax(q k^T * scale + mask) v, also returning the attention weights. */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): { output: Tensor; weights: Tensor } {
  if (q.ndim < 2 || k.ndim !== q.ndim || v.ndim !== q.ndim) {
    throw new OpError('scaledDotProductAttention', `query, key and value must have the same rank >= 2, got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  }
  const d = q.shape[q.ndim - 1]!;
  if (k.shape[k.ndim - 1] !== d) throw new OpError('scaledDotProductAttention', `key's last dim ${k.shape[k.ndim - 1]} must equal query's ${d}`);
  if (k.shape[k.ndim - 2] !== v.shape[v.ndim - 2]) throw new OpError('scaledDotProductAttention', `key and value must have the same sequence length, got ${fmtShape(k.shape)} and ${fmtShape(v.shape)}`);
  const lq = q.shape[q.ndim - 2]!;
  const lk = k.shape[k.ndim - 2]!;
  let scores = mul(matmul(q, transpose(k, -2, -1)), opts.scale ?? 1 / Math.sqrt(d));
  if (opts.isCausal) {
    if (opts.attnMask) throw new OpError('scaledDotProductAttention', 'pass either attnMask or isCausal, not both');
    const causal = new Uint8Array(lq * lk);
    for (let i = 0; i < lq; i++) for (let j = 0; j <= i && j < lk; j++) causal[i * lk + j] = 1;
    scores = where(fromData(causal, [lq, lk], 'bool', q.backend), scores, -Infinity);
  } else if (opts.attnMask) {
    const m = opts.attnMask;
    scores = m.dtype === 'bool' ? where(m, scores, -Infinity) : add(scores, m);
  }
  let weights = softmax(scores, -1);
  if (opts.dropoutP && opts.training !== false) weights = dropout(weights, opts.dropoutP, { ...(opts.generator ? { generator: opts.generator } : {}) });
  return { output: matmul(weights, v), weights };
}

/** PyTorch `F.scaled_dot_product_attention`. */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  return attention(q, k, v, opts).output;
}

