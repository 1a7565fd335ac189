/**
 * Batch image augmentation for a training loop, each draw from an explicit seeded `Generator`, so a
 * run replays exactly. The ops work on `[N, C, H, W]` tensors on any backend: the random choices are
 * drawn on the host (one per sample) and applied with `pad`, `gather`, `indexSelect` and `where`, so
 * gradients flow through them. Call them inside the training step's `scope()` to free intermediates.
 */
import { arange, gather, type Generator, indexSelect, OpError, pad, reshape, type Tensor, tensor, where } from '@methodzoo/core';

export interface RandomCropOptions {
  /** Zero padding added on every side before cropping back to H x W (torchvision `padding`). */
  padding?: number;
  /** Value of the padded border; 0 by default. */
  fill?: number;
  generator: Generator;
}

function check4d(op: string, x: Tensor): [number, number, number, number] {
  if (x.ndim !== 4) throw new OpError(op, `x must be [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number, number];
}

/**
 * torchvision `RandomCrop(size=(H, W), padding)` on every sample of a batch: pads by `padding` and
 * takes an H x W window at an offset drawn uniformly from 0..2*padding in each direction, one offset
 * per sample.
 */
export function randomCrop(x: Tensor, opts: RandomCropOptions): Tensor {
  const [n, c, h, w] = check4d('randomCrop', x);
  const p = opts.padding ?? 4;
  if (!Number.isInteger(p) || p < 0) throw new OpError('randomCrop', `padding must be a non-negative integer, got ${p}`);
  if (p === 0) return x.clone();
  const hp = h + 2 * p;
  const wp = w + 2 * p;
  // flat index into each padded plane: (i + dy) * wp + (j + dx), the same for every channel
  const index = new Int32Array(n * c * h * w);
  for (let s = 0; s < n; s++) {
    const dy = opts.generator.integer(0, 2 * p + 1);
    const dx = opts.generator.integer(0, 2 * p + 1);
    const plane = new Int32Array(h * w);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) plane[i * w + j] = (i + dy) * wp + (j + dx);
    for (let ch = 0; ch < c; ch++) index.set(plane, (s * c + ch) * h * w);
  }
  // no inner scope(): disposing the intermediates would cut the autograd graph; the caller's scope frees them
  const padded = reshape(pad(x, [p, p, p, p], opts.fill ?? 0), [n, c, hp * wp]);
  const idx = tensor(index, { shape: [n, c, h * w], backend: x.backend });
  return reshape(gather(padded, 2, idx), [n, c, h, w]);
}

export interface RandomFlipOptions {
  /** Probability that a sample is flipped; 0.5 by default. */
  p?: number;
  generator: Generator;
}

/** torchvision `RandomHorizontalFlip(p)` per sample: mirrors the W axis of the chosen samples. */
export function randomHorizontalFlip(x: Tensor, opts: RandomFlipOptions): Tensor {
  const [n, , , w] = check4d('randomHorizontalFlip', x);
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new OpError('randomHorizontalFlip', `p must be in [0, 1], got ${p}`);
  const flip = new Uint8Array(n);
  for (let s = 0; s < n; s++) flip[s] = opts.generator.random() < p ? 1 : 0;
  const reversed = arange(w - 1, -1, -1, { dtype: 'int32', backend: x.backend });
  const mirrored = indexSelect(x, 3, reversed);
  const mask = tensor(flip, { dtype: 'bool', shape: [n, 1, 1, 1], backend: x.backend });
  return where(mask, mirrored, x);
}

/** `(x - mean) / std` with scalar or per-channel statistics (torchvision `Normalize`). */
export function normalize(x: Tensor, mean: number | readonly number[], std: number | readonly number[]): Tensor {
  const [, c] = check4d('normalize', x);
  const m = typeof mean === 'number' ? [mean] : [...mean];
  const s = typeof std === 'number' ? [std] : [...std];
  for (const [name, v] of [['mean', m], ['std', s]] as const) {
    if (v.length !== 1 && v.length !== c) throw new OpError('normalize', `${name} needs 1 or ${c} (channel) values, got ${v.length}`);
  }
  if (s.some((v) => !(v > 0))) throw new OpError('normalize', `std must be positive, got [${s.join(', ')}]`);
  const mt = tensor(Float32Array.from(m), { shape: [1, m.length, 1, 1], dtype: x.dtype, backend: x.backend });
  const st = tensor(Float32Array.from(s), { shape: [1, s.length, 1, 1], dtype: x.dtype, backend: x.backend });
  return x.sub(mt).div(st);
}
