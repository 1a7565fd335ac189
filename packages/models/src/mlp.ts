/**
 * Multi-layer perceptron laid out as torchvision's `torchvision.ops.MLP`: a Sequential of
 * [Linear, norm?, activation, Dropout] per hidden layer, then the last Linear and a Dropout. The
 * children are numbered as in torchvision, so state-dict keys read `0.weight`, `1.weight` (the
 * norm, when there is one), `4.weight`, ...
 */
import { nn, OpError } from '@methodzoo/core';

export type MLPActivation = 'relu' | 'gelu' | 'silu' | 'tanh' | 'sigmoid' | (() => nn.Module);
export type MLPNorm = 'batch' | 'layer' | null | ((features: number) => nn.Module);

export interface MLPOptions extends nn.FactoryOptions {
  /** Activation after every hidden layer ('relu'), or a factory of a fresh module. */
  activation?: MLPActivation;
  /** Dropout probability after every layer, including the last as torchvision does (0). */
  dropout?: number;
  /** Normalisation after every hidden Linear: 'batch' (BatchNorm1d), 'layer' (LayerNorm), a factory, or null (default). */
  norm?: MLPNorm;
  /** Biases on the Linear layers (true). */
  bias?: boolean;
}

function activationModule(a: MLPActivation): nn.Module {
  if (typeof a === 'function') return a();
  switch (a) {
    case 'relu': return new nn.ReLU();
    case 'gelu': return new nn.GELU();
    case 'silu': return new nn.SiLU();
    case 'tanh': return new nn.Tanh();
    case 'sigmoid': return new nn.Sigmoid();
    default: throw new OpError('MLP', `activation must be relu, gelu, silu, tanh, sigmoid or a factory, got '${String(a)}'`);
  }
}

/**
 * Args:
 *   sizes: [inFeatures, hidden_1, ..., outFeatures] (at least two entries).
 *   opts: activation ('relu'), dropout (0), norm (null), bias (true), dtype, backend, generator.
 *
 * Shape: [N, inFeatures] (or [*, inFeatures] without batch norm) -> [N, outFeatures].
 *
 * Example:
 * ```ts
 * const mlp = new MLP([784, 256, 10], { activation: 'gelu', dropout: 0.1 });
 * mlp.call(randn([32, 784])).shape; // [32, 10]
 * [...mlp.stateDict().keys()]; // ['0.weight', '0.bias', '3.weight', '3.bias']
 * ```
 */
export class MLP extends nn.Sequential {
  readonly sizes: readonly number[];

  constructor(sizes: readonly number[], opts: MLPOptions = {}) {
    if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s > 0)) {
      throw new OpError('MLP', `sizes must be at least two positive integers [in, ..., out], got ${JSON.stringify(sizes)}`);
    }
    const p = opts.dropout ?? 0;
    if (!(p >= 0 && p <= 1)) throw new OpError('MLP', `dropout must be in [0, 1], got ${p}`);
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const norm = opts.norm ?? null;
    const mods: nn.Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const out = sizes[i + 1]!;
      mods.push(new nn.Linear(sizes[i]!, out, { ...layer, bias: opts.bias ?? true }));
      const last = i + 2 === sizes.length;
      if (!last) {
        if (norm === 'batch') mods.push(new nn.BatchNorm1d(out, layer));
        else if (norm === 'layer') mods.push(new nn.LayerNorm(out, layer));
        else if (typeof norm === 'function') mods.push(norm(out));
        else if (norm !== null) throw new OpError('MLP', `norm must be 'batch', 'layer', a factory or null, got '${String(norm)}'`);
        mods.push(activationModule(opts.activation ?? 'relu'));
      }
      mods.push(new nn.Dropout(p, { generator: opts.generator }));
    }
    super(...mods);
    this.sizes = [...sizes];
  }

  /** The Linear layers in order. */
  linears(): nn.Linear[] {
    return [...this].filter((m): m is nn.Linear => m instanceof nn.Linear);
  }
}
