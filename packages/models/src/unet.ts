/**
 * DDPM conv UNet (Ho et al., "Denoising Diffusion Probabilistic Models", 2020, appendix B) in the
 * layout of improved-diffusion's `UNetModel` (Nichol & Dhariwal 2021), whose member names it keeps
 * (`time_embed`, `input_blocks`, `middle_block`, `output_blocks`, `out`; ResBlocks with
 * `in_layers`, `emb_layers`, `out_layers`, `skip_connection`; attention with `norm`, `qkv`,
 * `proj_out`; `op` and `conv` in the resamplers):
 *
 *   emb = MLP(sinusoidal(t))                                         time embedding, 4C wide
 *   ResBlock(x, emb) = skip(x) + conv(drop(SiLU(GN(conv(SiLU(GN(x))) + W emb))))
 *   Attention(x) = x + proj(softmax(q k^T / sqrt(d)) v),  q, k, v from a 1x1 conv of GN(x)
 *
 * Encoder: a 3x3 conv, then per level `numResBlocks` ResBlocks (+ attention at the chosen
 * downsampling factors) and a stride-2 conv between levels. Every input block's output is a long
 * skip; the decoder has one block per skip and fuses the skip into its input through the single
 * overridable method `fuseSkip(h, skip, index)`: channel concat by default, or addition
 * (`skipMode: 'add'`). ScaleLong (Huang et al. 2023) scales the skips by overriding it.
 *
 * Skip indices count from the outermost skip: index 0 is the stem conv's output, consumed by the
 * last decoder block; index `numSkips - 1` is the deepest, consumed first. `fuseSkip` is therefore
 * called once per skip per forward, in the order numSkips - 1, ..., 1, 0.
 */
import { add, cat, interpolate, nn, OpError, permute, reshape, scaledDotProductAttention, split, type Tensor } from '@methodzoo/core';
import { takesEmbedding, timestepEmbedding, timestepTensor, type Timesteps } from './timestep.js';

export interface UNetOptions extends nn.FactoryOptions {
  /** Image channels in (3). */
  inChannels?: number;
  /** Channels out (inChannels): the predicted noise. */
  outChannels?: number;
  /** Base width C (64). */
  modelChannels?: number;
  /** Width multiplier per level ([1, 2, 2]); one downsampling between consecutive levels. */
  channelMult?: readonly number[];
  /** ResBlocks per level (2). */
  numResBlocks?: number;
  /** Downsampling factors (1 = input resolution, 2 = half, ...) with self-attention after each ResBlock ([2]). */
  attentionResolutions?: readonly number[];
  /** Attention heads (1). */
  numHeads?: number;
  /** Dropout inside ResBlocks (0). */
  dropout?: number;
  /** GroupNorm groups (32, as improved-diffusion's GroupNorm32); must divide every width. */
  numGroups?: number;
  /** Self-attention in the middle block (true). */
  middleAttention?: boolean;
  /** Class-conditional: adds `label_emb` (Embedding numClasses x 4C) to the time embedding. */
  numClasses?: number;
  /** How `fuseSkip` merges a skip: 'concat' (default) or 'add' (1x1 conv projections where widths differ). */
  skipMode?: 'concat' | 'add';
}

const zero = (m: nn.Conv2d | nn.Conv1d): void => {
  nn.init.zeros_(m.weight);
  if (m.bias) nn.init.zeros_(m.bias);
};

/**
 * A Sequential whose forward also hands the timestep embedding to the children that take one: those
 * with `takesTimestepEmbedding = true` (ResBlock; set it on a replacement block to receive `emb`).
 */
export class TimestepEmbedSequential extends nn.Module {
  constructor(...modules: nn.Module[]) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }

  [Symbol.iterator](): Iterator<nn.Module> {
    return this.children()[Symbol.iterator]();
  }

  forward(x: Tensor, emb: Tensor): Tensor {
    let h = x;
    for (const [, m] of this.ownModules()) h = (takesEmbedding(m) ? m.call(h, emb) : m.call(h)) as Tensor;
    return h;
  }
}

/**
 * Residual block with a timestep projection (improved-diffusion `ResBlock`, no scale-shift norm).
 * Children: `in_layers` (GroupNorm, SiLU, conv3x3), `emb_layers` (SiLU, Linear), `out_layers`
 * (GroupNorm, SiLU, Dropout, zero-initialised conv3x3), `skip_connection` (Identity or 1x1 conv).
 */
export class ResBlock extends nn.Module {
  readonly takesTimestepEmbedding = true;
  readonly channels: number;
  readonly outChannels: number;
  in_layers: nn.Sequential;
  emb_layers: nn.Sequential;
  out_layers: nn.Sequential;
  skip_connection: nn.Module;

  constructor(channels: number, embDim: number, outChannels: number, opts: { dropout?: number; numGroups: number } & nn.FactoryOptions) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.channels = channels;
    this.outChannels = outChannels;
    this.in_layers = new nn.Sequential(new nn.GroupNorm(opts.numGroups, channels, layer), new nn.SiLU(), new nn.Conv2d(channels, outChannels, 3, { ...layer, padding: 1 }));
    this.emb_layers = new nn.Sequential(new nn.SiLU(), new nn.Linear(embDim, outChannels, layer));
    const last = new nn.Conv2d(outChannels, outChannels, 3, { ...layer, padding: 1 });
    zero(last);
    this.out_layers = new nn.Sequential(new nn.GroupNorm(opts.numGroups, outChannels, layer), new nn.SiLU(), new nn.Dropout(opts.dropout ?? 0, { generator: opts.generator }), last);
    this.skip_connection = outChannels === channels ? new nn.Identity() : new nn.Conv2d(channels, outChannels, 1, layer);
  }

  forward(x: Tensor, emb: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) throw new OpError('ResBlock', `expected input [N, ${this.channels}, H, W], got [${x.shape.join(', ')}]`);
    const h = this.in_layers.call(x) as Tensor;
    const e = this.emb_layers.call(emb) as Tensor;
    const out = this.out_layers.call(add(h, reshape(e, [e.shape[0]!, this.outChannels, 1, 1]))) as Tensor;
    return add(this.skip_connection.call(x) as Tensor, out);
  }
}

/**
 * Spatial self-attention (improved-diffusion `AttentionBlock` with its legacy QKV order: the 3C
 * channels of `qkv` split per head into that head's q, k, v). Children: `norm` (GroupNorm), `qkv`
 * (Conv1d C -> 3C, kernel 1), `proj_out` (zero-initialised Conv1d C -> C).
 */
export class AttentionBlock extends nn.Module {
  readonly channels: number;
  readonly numHeads: number;
  norm: nn.GroupNorm;
  qkv: nn.Conv1d;
  proj_out: nn.Conv1d;

  constructor(channels: number, opts: { numHeads?: number; numGroups: number } & nn.FactoryOptions) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const heads = opts.numHeads ?? 1;
    if (!Number.isInteger(heads) || heads <= 0 || channels % heads !== 0) throw new OpError('AttentionBlock', `numHeads (${heads}) must divide the ${channels} channels`);
    this.channels = channels;
    this.numHeads = heads;
    this.norm = new nn.GroupNorm(opts.numGroups, channels, layer);
    this.qkv = new nn.Conv1d(channels, 3 * channels, 1, layer);
    this.proj_out = new nn.Conv1d(channels, channels, 1, layer);
    zero(this.proj_out);
  }

  forward(x: Tensor): Tensor {
    const [b, c, hh, ww] = x.shape as [number, number, number, number];
    if (x.ndim !== 4 || c !== this.channels) throw new OpError('AttentionBlock', `expected input [N, ${this.channels}, H, W], got [${x.shape.join(', ')}]`);
    const t = hh * ww;
    const h = this.numHeads;
    const d = c / h;
    const flat = reshape(x, [b, c, t]);
    const qkv = this.qkv.call(this.norm.call(flat));
    // [B, 3C, T] -> [B, H, 3d, T] -> per head q, k, v as [B, H, T, d].
    const [q, k, v] = split(reshape(qkv, [b, h, 3 * d, t]), d, 2).map((p) => permute(p, [0, 1, 3, 2])) as [Tensor, Tensor, Tensor];
    const a = scaledDotProductAttention(q, k, v);
    const merged = reshape(permute(a, [0, 1, 3, 2]), [b, c, t]);
    return reshape(add(flat, this.proj_out.call(merged)), x.shape);
  }
}

/** Stride-2 3x3 conv (`op`), halving the resolution. */
export class Downsample extends nn.Module {
  op: nn.Conv2d;
  constructor(channels: number, opts: nn.FactoryOptions = {}) {
    super();
    this.op = new nn.Conv2d(channels, channels, 3, { ...opts, stride: 2, padding: 1 });
  }
  forward(x: Tensor): Tensor {
    return this.op.call(x);
  }
}

/** Nearest-neighbour 2x upsampling, then a 3x3 conv (`conv`). */
export class Upsample extends nn.Module {
  conv: nn.Conv2d;
  constructor(channels: number, opts: nn.FactoryOptions = {}) {
    super();
    this.conv = new nn.Conv2d(channels, channels, 3, { ...opts, padding: 1 });
  }
  forward(x: Tensor): Tensor {
    return this.conv.call(interpolate(x, { scaleFactor: 2, mode: 'nearest' }));
  }
}

/**
 * Args: see UNetOptions.
 *
 * Shape: x [N, inChannels, H, W] with H and W divisible by 2^(levels - 1), timesteps [N] (tensor or
 * numbers), optional class labels y [N] int32 -> [N, outChannels, H, W].
 *
 * Example:
 * ```ts
 * const unet = new UNet({ inChannels: 1, modelChannels: 32, channelMult: [1, 2], numResBlocks: 1 });
 * unet.call(randn([2, 1, 28, 28]), [10, 500]).shape; // [2, 1, 28, 28]
 * unet.numSkips; // 4
 * ```
 */
export class UNet extends nn.Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly modelChannels: number;
  readonly channelMult: readonly number[];
  readonly numResBlocks: number;
  readonly skipMode: 'concat' | 'add';
  readonly numClasses: number | null;
  /** Width of each skip, by index. */
  readonly skipChannels: readonly number[];
  time_embed: nn.Sequential;
  declare label_emb: nn.Embedding | null;
  input_blocks: nn.ModuleList<TimestepEmbedSequential>;
  middle_block: TimestepEmbedSequential;
  output_blocks: nn.ModuleList<TimestepEmbedSequential>;
  out: nn.Sequential;
  /** 'add' mode only: 1x1 convs mapping skip `index` to the decoder width where they differ. */
  declare skip_proj: nn.ModuleDict<nn.Conv2d> | null;

  constructor(opts: UNetOptions = {}) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const inCh = opts.inChannels ?? 3;
    const mc = opts.modelChannels ?? 64;
    const mult = [...(opts.channelMult ?? [1, 2, 2])];
    const nres = opts.numResBlocks ?? 2;
    const attnAt = new Set(opts.attentionResolutions ?? [2]);
    const numGroups = opts.numGroups ?? 32;
    const skipMode = opts.skipMode ?? 'concat';
    if (skipMode !== 'concat' && skipMode !== 'add') throw new OpError('UNet', `skipMode must be 'concat' or 'add', got '${String(skipMode)}'`);
    if (mult.length === 0 || !mult.every((m) => Number.isInteger(m) && m > 0)) throw new OpError('UNet', `channelMult must be positive integers, got ${JSON.stringify(mult)}`);
    if (!Number.isInteger(nres) || nres < 1) throw new OpError('UNet', `numResBlocks must be a positive integer, got ${nres}`);
    for (const w of [mc, ...mult.map((m) => m * mc)]) {
      if (w % numGroups !== 0) throw new OpError('UNet', `numGroups (${numGroups}) must divide every width, not ${w} (modelChannels ${mc}, channelMult ${JSON.stringify(mult)})`);
    }
    this.inChannels = inCh;
    this.outChannels = opts.outChannels ?? inCh;
    this.modelChannels = mc;
    this.channelMult = mult;
    this.numResBlocks = nres;
    this.skipMode = skipMode;
    this.numClasses = opts.numClasses ?? null;
    const embDim = 4 * mc;
    const res = (cin: number, cout: number) => new ResBlock(cin, embDim, cout, { ...layer, dropout: opts.dropout, numGroups });
    const attn = (c: number) => new AttentionBlock(c, { ...layer, numHeads: opts.numHeads, numGroups });

    this.time_embed = new nn.Sequential(new nn.Linear(mc, embDim, layer), new nn.SiLU(), new nn.Linear(embDim, embDim, layer));
    this.registerModule('label_emb', this.numClasses === null ? null : new nn.Embedding(this.numClasses, embDim, layer));

    const inputs: TimestepEmbedSequential[] = [new TimestepEmbedSequential(new nn.Conv2d(inCh, mc, 3, { ...layer, padding: 1 }))];
    const skipCh = [mc];
    let ch = mc;
    let ds = 1;
    mult.forEach((m, level) => {
      for (let i = 0; i < nres; i++) {
        const mods: nn.Module[] = [res(ch, m * mc)];
        ch = m * mc;
        if (attnAt.has(ds)) mods.push(attn(ch));
        inputs.push(new TimestepEmbedSequential(...mods));
        skipCh.push(ch);
      }
      if (level !== mult.length - 1) {
        inputs.push(new TimestepEmbedSequential(new Downsample(ch, layer)));
        skipCh.push(ch);
        ds *= 2;
      }
    });
    this.input_blocks = new nn.ModuleList(inputs);
    this.middle_block = new TimestepEmbedSequential(...(opts.middleAttention === false ? [res(ch, ch), res(ch, ch)] : [res(ch, ch), attn(ch), res(ch, ch)]));

    const outputs: TimestepEmbedSequential[] = [];
    const projections = new Map<string, nn.Conv2d>();
    const pending = [...skipCh];
    for (let level = mult.length - 1; level >= 0; level--) {
      const m = mult[level]!;
      for (let i = 0; i <= nres; i++) {
        const index = pending.length - 1;
        const sc = pending.pop()!;
        if (skipMode === 'add' && sc !== ch) projections.set(String(index), new nn.Conv2d(sc, ch, 1, layer));
        const mods: nn.Module[] = [res(skipMode === 'concat' ? ch + sc : ch, m * mc)];
        ch = m * mc;
        if (attnAt.has(ds)) mods.push(attn(ch));
        if (level > 0 && i === nres) {
          mods.push(new Upsample(ch, layer));
          ds /= 2;
        }
        outputs.push(new TimestepEmbedSequential(...mods));
      }
    }
    this.output_blocks = new nn.ModuleList(outputs);
    const last = new nn.Conv2d(mc, this.outChannels, 3, { ...layer, padding: 1 });
    zero(last);
    this.out = new nn.Sequential(new nn.GroupNorm(numGroups, ch, layer), new nn.SiLU(), last);
    this.registerModule('skip_proj', projections.size > 0 ? new nn.ModuleDict(projections) : null);
    this.skipChannels = skipCh;
  }

  /** Number of long skip connections (= input blocks = output blocks). */
  get numSkips(): number {
    return this.skipChannels.length;
  }

  /** Spatial size divisor the input must respect. */
  get downsampleFactor(): number {
    return 2 ** (this.channelMult.length - 1);
  }

  /**
   * Merges skip `index` into the decoder input `h` (the one place skips meet the decoder; override
   * it to scale or gate them). Concat mode: cat([h, skip], channels). Add mode: h + skip, with the
   * skip projected by `skip_proj.{index}` when widths differ.
   */
  fuseSkip(h: Tensor, skip: Tensor, index: number): Tensor {
    if (this.skipMode === 'concat') return cat([h, skip], 1);
    const proj = this.skip_proj?.get(String(index));
    return add(h, proj ? proj.call(skip) : skip);
  }

  /** The timestep (+ class) embedding [N, 4C] that every ResBlock receives. */
  embed(timesteps: Timesteps, like: Tensor, y?: Tensor | null): Tensor {
    const t = timestepTensor(timesteps, like);
    let emb = this.time_embed.call(timestepEmbedding(t, this.modelChannels)) as Tensor;
    if (y) {
      if (!this.label_emb) throw new OpError('UNet', 'class labels were given but the model was built without numClasses');
      emb = add(emb, this.label_emb.call(y));
    } else if (this.label_emb) throw new OpError('UNet', `this model is class-conditional (numClasses ${this.numClasses}); pass labels y`);
    return emb;
  }

  forward(x: Tensor, timesteps: Timesteps, y?: Tensor | null): Tensor {
    const f = this.downsampleFactor;
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) throw new OpError('UNet', `expected input [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    if (x.shape[2]! % f !== 0 || x.shape[3]! % f !== 0) throw new OpError('UNet', `H and W must be divisible by ${f} (${this.channelMult.length} levels), got [${x.shape.join(', ')}]`);
    const n = Array.isArray(timesteps) ? timesteps.length : (timesteps as Tensor).shape[0];
    if (n !== x.shape[0]) throw new OpError('UNet', `need one timestep per sample: ${x.shape[0]} samples, ${n} timesteps`);
    const emb = this.embed(timesteps, x, y);
    const hs: Tensor[] = [];
    let h = x;
    for (const block of this.input_blocks) {
      h = block.call(h, emb);
      hs.push(h);
    }
    h = this.middle_block.call(h, emb);
    for (const block of this.output_blocks) {
      const index = hs.length - 1;
      h = this.fuseSkip(h, hs.pop()!, index);
      h = block.call(h, emb);
    }
    return this.out.call(h) as Tensor;
  }
}
