/**
 * U-ViT (Bao et al., "All are Worth Words: A ViT Backbone for Diffusion Models", CVPR 2023), laid
 * out as the authors' `libs/uvit.py` so its member names are kept (`patch_embed.proj`,
 * `time_embed`, `label_emb`, `pos_embed`, `in_blocks`, `mid_block`, `out_blocks`, `norm`,
 * `decoder_pred`, `final_layer`; blocks with `norm1`, `attn.qkv`, `attn.proj`, `norm2`, `mlp.fc1`,
 * `mlp.fc2`, `skip_linear`):
 *
 *   tokens = [time token, (label token), patches] + pos_embed       everything is a token (sec. 3)
 *   in_blocks (depth / 2) -> mid_block -> out_blocks (depth / 2)
 *   out block k: h = skip_linear(cat[h, skip]) then pre-LN attention + MLP     long skips (sec. 3.1)
 *   norm -> decoder_pred (Linear to p*p*C) -> unpatchify -> final 3x3 conv
 *
 * The long-skip fusion goes through the overridable `fuseSkip(h, skip, index)` (default: the out
 * block's `skip_linear` on the concat). Indices count from the outermost skip: index 0 is the
 * first in-block's output, consumed by the last out-block; the hook is called in the order
 * numSkips - 1, ..., 0, once per skip per forward.
 */
import { add, cat, flatten, nn, OpError, permute, reshape, scaledDotProductAttention, slice, transpose, type Tensor, unsqueeze } from '@methodzoo/core';
import { timestepEmbedding, timestepTensor, type Timesteps } from './timestep.js';

/** timm's `Mlp`: fc1, GELU, fc2. */
export class ViTMlp extends nn.Module {
  fc1: nn.Linear;
  act: nn.GELU;
  fc2: nn.Linear;
  constructor(dim: number, hidden: number, opts: nn.FactoryOptions = {}) {
    super();
    this.fc1 = new nn.Linear(dim, hidden, opts);
    this.act = new nn.GELU();
    this.fc2 = new nn.Linear(hidden, dim, opts);
  }
  forward(x: Tensor): Tensor {
    return this.fc2.call(this.act.call(this.fc1.call(x)));
  }
}

/** Multi-head self-attention with a packed `qkv` Linear and an output `proj` (timm / U-ViT). */
export class ViTAttention extends nn.Module {
  readonly dim: number;
  readonly numHeads: number;
  qkv: nn.Linear;
  proj: nn.Linear;
  constructor(dim: number, numHeads: number, opts: nn.FactoryOptions & { qkvBias?: boolean } = {}) {
    super();
    if (!Number.isInteger(numHeads) || numHeads <= 0 || dim % numHeads !== 0) throw new OpError('ViTAttention', `numHeads (${numHeads}) must divide dim (${dim})`);
    this.dim = dim;
    this.numHeads = numHeads;
    this.qkv = new nn.Linear(dim, 3 * dim, { ...opts, bias: opts.qkvBias ?? false });
    this.proj = new nn.Linear(dim, dim, opts);
  }
  forward(x: Tensor): Tensor {
    const [b, l, c] = x.shape as [number, number, number];
    const h = this.numHeads;
    // [B, L, 3C] -> [3, B, H, L, d]
    const qkv = permute(reshape(this.qkv.call(x), [b, l, 3, h, c / h]), [2, 0, 3, 1, 4]);
    const [q, k, v] = [0, 1, 2].map((i) => reshape(slice(qkv, 0, i, i + 1), [b, h, l, c / h])) as [Tensor, Tensor, Tensor];
    const o = reshape(transpose(scaledDotProductAttention(q, k, v), 1, 2), [b, l, c]);
    return this.proj.call(o);
  }
}

/** Non-overlapping p x p patches to tokens: conv (`proj`, kernel = stride = p), [B, C, H, W] -> [B, HW/p^2, D]. */
export class PatchEmbed extends nn.Module {
  proj: nn.Conv2d;
  constructor(inChannels: number, dim: number, patchSize: number, opts: nn.FactoryOptions = {}) {
    super();
    this.proj = new nn.Conv2d(inChannels, dim, patchSize, { ...opts, stride: patchSize });
  }
  forward(x: Tensor): Tensor {
    return transpose(flatten(this.proj.call(x), 2), 1, 2);
  }
}

/** Pre-LN transformer block; out-blocks own a `skip_linear` (2D -> D) used by `UViT.fuseSkip`. */
export class UViTBlock extends nn.Module {
  norm1: nn.LayerNorm;
  attn: ViTAttention;
  norm2: nn.LayerNorm;
  mlp: ViTMlp;
  declare skip_linear: nn.Linear | null;
  constructor(dim: number, numHeads: number, opts: nn.FactoryOptions & { mlpRatio?: number; qkvBias?: boolean; skip?: boolean } = {}) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.norm1 = new nn.LayerNorm(dim, layer);
    this.attn = new ViTAttention(dim, numHeads, { ...layer, qkvBias: opts.qkvBias });
    this.norm2 = new nn.LayerNorm(dim, layer);
    this.mlp = new ViTMlp(dim, Math.floor(dim * (opts.mlpRatio ?? 4)), layer);
    this.registerModule('skip_linear', opts.skip ? new nn.Linear(2 * dim, dim, layer) : null);
  }
  /** With `skip`, fuses it first through `skip_linear` (U-ViT's Block); UViT fuses in `fuseSkip` instead. */
  forward(x: Tensor, skip?: Tensor): Tensor {
    let h = x;
    if (skip) {
      if (!this.skip_linear) throw new OpError('UViTBlock', 'a skip was given to a block without skip_linear');
      h = this.skip_linear.call(cat([h, skip], -1));
    }
    h = add(h, this.attn.call(this.norm1.call(h)));
    return add(h, this.mlp.call(this.norm2.call(h)));
  }
}

export interface UViTOptions extends nn.FactoryOptions {
  /** Square input size (32). */
  imageSize?: number;
  /** Patch size p (2); must divide imageSize. */
  patchSize?: number;
  /** Image channels (3). */
  inChannels?: number;
  /** Token width D (128). */
  embedDim?: number;
  /** Transformer depth: depth/2 in-blocks, one mid-block, depth/2 out-blocks (6; even). */
  depth?: number;
  /** Attention heads (4). */
  numHeads?: number;
  /** MLP hidden = floor(D * mlpRatio) (4). */
  mlpRatio?: number;
  /** Bias on the qkv projection (false, as U-ViT). */
  qkvBias?: boolean;
  /** Linear-SiLU-Linear on the time embedding (false: the sinusoid is the token, as U-ViT's default). */
  mlpTimeEmbed?: boolean;
  /** Class-conditional with a label token (`label_emb`, numClasses x D); 0 / omitted for none. */
  numClasses?: number;
  /** 3x3 conv after unpatchify (true). */
  conv?: boolean;
  /** Long skips (true). */
  skip?: boolean;
}

/**
 * Example:
 * ```ts
 * const uvit = new UViT({ imageSize: 28, patchSize: 4, inChannels: 1, embedDim: 64, depth: 4, numHeads: 2 });
 * uvit.call(randn([2, 1, 28, 28]), [3, 700]).shape; // [2, 1, 28, 28]
 * uvit.numSkips; // 2
 * ```
 */
export class UViT extends nn.Module {
  readonly imageSize: number;
  readonly patchSize: number;
  readonly inChannels: number;
  readonly embedDim: number;
  readonly numClasses: number;
  /** Tokens before the patches: the time token, plus a label token when class-conditional. */
  readonly extras: number;
  pos_embed: nn.Parameter;
  patch_embed: PatchEmbed;
  time_embed: nn.Module;
  declare label_emb: nn.Embedding | null;
  in_blocks: nn.ModuleList<UViTBlock>;
  mid_block: UViTBlock;
  out_blocks: nn.ModuleList<UViTBlock>;
  norm: nn.LayerNorm;
  decoder_pred: nn.Linear;
  final_layer: nn.Module;

  constructor(opts: UViTOptions = {}) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const size = opts.imageSize ?? 32;
    const p = opts.patchSize ?? 2;
    const depth = opts.depth ?? 6;
    const d = opts.embedDim ?? 128;
    if (!Number.isInteger(p) || p <= 0 || size % p !== 0) throw new OpError('UViT', `patchSize (${p}) must divide imageSize (${size})`);
    if (!Number.isInteger(depth) || depth < 2 || depth % 2 !== 0) throw new OpError('UViT', `depth must be an even integer >= 2, got ${depth}`);
    this.imageSize = size;
    this.patchSize = p;
    this.inChannels = opts.inChannels ?? 3;
    this.embedDim = d;
    this.numClasses = opts.numClasses ?? 0;
    this.extras = this.numClasses > 0 ? 2 : 1;
    const numPatches = (size / p) ** 2;
    this.pos_embed = nn.emptyParameter([1, this.extras + numPatches, d], layer);

    this.patch_embed = new PatchEmbed(this.inChannels, d, p, layer);
    this.time_embed = opts.mlpTimeEmbed ? new nn.Sequential(new nn.Linear(d, 4 * d, layer), new nn.SiLU(), new nn.Linear(4 * d, d, layer)) : new nn.Identity();
    this.registerModule('label_emb', this.numClasses > 0 ? new nn.Embedding(this.numClasses, d, layer) : null);
    const block = (skip: boolean) => new UViTBlock(d, opts.numHeads ?? 4, { ...layer, mlpRatio: opts.mlpRatio, qkvBias: opts.qkvBias, skip });
    this.in_blocks = new nn.ModuleList(Array.from({ length: depth / 2 }, () => block(false)));
    this.mid_block = block(false);
    this.out_blocks = new nn.ModuleList(Array.from({ length: depth / 2 }, () => block(opts.skip ?? true)));
    this.norm = new nn.LayerNorm(d, layer);
    this.decoder_pred = new nn.Linear(d, p * p * this.inChannels, layer);
    this.final_layer = opts.conv === false ? new nn.Identity() : new nn.Conv2d(this.inChannels, this.inChannels, 3, { ...layer, padding: 1 });

    // U-ViT's init: trunc_normal(std .02) for pos_embed and every Linear weight, zero Linear biases,
    // LayerNorm at 1/0 (already); convs and the embedding keep PyTorch's defaults.
    nn.init.truncNormal_(this.pos_embed, 0, 0.02, -2, 2, { generator: opts.generator });
    for (const m of this.modules()) {
      if (m instanceof nn.Linear) {
        nn.init.truncNormal_(m.weight, 0, 0.02, -2, 2, { generator: opts.generator });
        if (m.bias) nn.init.zeros_(m.bias);
      }
    }
  }

  /** Long skips: depth / 2 with `skip` (default), else 0. */
  get numSkips(): number {
    return this.out_blocks.at(0).skip_linear ? this.in_blocks.length : 0;
  }

  /** Fuses skip `index` into `h` [N, L, D] with the consuming out-block's `skip_linear`; override to scale skips. */
  fuseSkip(h: Tensor, skip: Tensor, index: number): Tensor {
    const blk = this.out_blocks.at(this.numSkips - 1 - index);
    return blk.skip_linear!.call(cat([h, skip], -1));
  }

  /** [B, L, p*p*C] -> [B, C, H, W] (einops 'B (h w) (p1 p2 C) -> B C (h p1) (w p2)'). */
  unpatchify(x: Tensor): Tensor {
    const p = this.patchSize;
    const g = this.imageSize / p;
    const c = this.inChannels;
    const b = x.shape[0]!;
    return reshape(permute(reshape(x, [b, g, g, p, p, c]), [0, 5, 1, 3, 2, 4]), [b, c, g * p, g * p]);
  }

  forward(x: Tensor, timesteps: Timesteps, y?: Tensor | null): Tensor {
    const s = this.imageSize;
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || x.shape[2] !== s || x.shape[3] !== s) {
      throw new OpError('UViT', `expected input [N, ${this.inChannels}, ${s}, ${s}], got [${x.shape.join(', ')}]`);
    }
    let h = this.patch_embed.call(x) as Tensor;
    const t = timestepTensor(timesteps, x);
    if (t.shape[0] !== x.shape[0]) throw new OpError('UViT', `need one timestep per sample: ${x.shape[0]} samples, ${t.shape[0]} timesteps`);
    const timeToken = unsqueeze(this.time_embed.call(timestepEmbedding(t, this.embedDim)) as Tensor, 1);
    h = cat([timeToken, h], 1);
    if (y) {
      if (!this.label_emb) throw new OpError('UViT', 'class labels were given but the model was built without numClasses');
      h = cat([unsqueeze(this.label_emb.call(y), 1), h], 1);
    } else if (this.label_emb) throw new OpError('UViT', `this model is class-conditional (numClasses ${this.numClasses}); pass labels y`);
    h = add(h, this.pos_embed);
    const skips: Tensor[] = [];
    for (const blk of this.in_blocks) {
      h = blk.call(h);
      skips.push(h);
    }
    h = this.mid_block.call(h);
    const n = this.numSkips;
    for (const blk of this.out_blocks) {
      if (n > 0) {
        const index = skips.length - 1;
        h = this.fuseSkip(h, skips.pop()!, index);
      }
      h = blk.call(h);
    }
    h = this.decoder_pred.call(this.norm.call(h));
    h = slice(h, 1, this.extras);
    return this.final_layer.call(this.unpatchify(h)) as Tensor;
  }
}
