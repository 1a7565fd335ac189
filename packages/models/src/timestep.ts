/**
 * Sinusoidal timestep embedding of diffusion models (Ho et al. 2020, appendix B, from the
 * Transformer's positional encoding), in the layout of improved-diffusion's `timestep_embedding`
 * (which U-ViT copies): cosines first, then sines,
 *
 *   freqs_i = exp(-ln(maxPeriod) * i / half),  i = 0 .. half - 1,  half = floor(dim / 2)
 *   emb(t)  = [cos(t freqs), sin(t freqs)]  (+ one zero column when dim is odd)
 */
import { cat, cast, cos, isFloat, mul, nn, OpError, pad, reshape, sin, type Tensor, tensor } from '@methodzoo/core';

/** A timestep batch: a tensor [N] (any dtype) or plain numbers. */
export type Timesteps = Tensor | readonly number[];

/** `t` as a float tensor [N]; plain numbers land on `like`'s backend and dtype. */
export function timestepTensor(t: Timesteps, like: Tensor): Tensor {
  const dtype = isFloat(like.dtype) ? like.dtype : 'float32';
  if (Array.isArray(t)) return tensor(t as number[], { dtype, backend: like.backend });
  const tt = t as Tensor;
  if (tt.ndim !== 1) throw new OpError('timestepEmbedding', `timesteps must be 1-D [N], got [${tt.shape.join(', ')}]`);
  return tt.dtype === dtype ? tt : cast(tt, dtype);
}

/**
 * Args:
 *   t: timesteps [N] (float; may be fractional).
 *   dim: embedding width.
 *   maxPeriod: controls the lowest frequency (10000).
 *
 * Shape: [N] -> [N, dim].
 */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  if (!Number.isInteger(dim) || dim <= 0) throw new OpError('timestepEmbedding', `dim must be a positive integer, got ${dim}`);
  if (t.ndim !== 1) throw new OpError('timestepEmbedding', `timesteps must be 1-D [N], got [${t.shape.join(', ')}]`);
  const half = Math.floor(dim / 2);
  const dtype = isFloat(t.dtype) ? t.dtype : 'float32';
  const freqs = tensor(
    Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / half)),
    { dtype, backend: t.backend },
  );
  const args = mul(reshape(cast(t, dtype), [t.shape[0]!, 1]), reshape(freqs, [1, half]));
  const emb = cat([cos(args), sin(args)], 1);
  return dim % 2 === 1 ? pad(emb, [0, 1]) : emb;
}

/** The shape of a module that takes a timestep embedding besides its input (UNet ResBlocks). */
export interface TimestepModule {
  forward(x: Tensor, emb: Tensor): Tensor;
}

export function takesEmbedding(m: nn.Module): m is nn.Module & TimestepModule {
  return (m as { takesTimestepEmbedding?: boolean }).takesTimestepEmbedding === true;
}
