/**
 * Model-level ASR (arXiv 2304.06345, section 3.2; official `run.py` switches every ASR layer to
 * deploy before each evaluation): `asrify` swaps chosen BatchNorms for ASRNorm, `reparameterize`
 * folds each gate back so the deployed model is the plain backbone (same modules, same parameter
 * names, same parameter count), and `toTrain` undoes a reparameterisation that kept the training
 * parameters.
 */
import { mul, nn, noGrad, OpError, reshape, rsqrt, scope, type Tensor } from '@methodzoo/core';
import { BasicBlock, Bottleneck, SEBlock } from '@methodzoo/models';
import { ASRNorm } from './asr-norm.js';
import { type GateFactory, resolveGate, SEGate } from './gates.js';

/** Chooses the BatchNorms to replace: its dotted name in the model, the BN and the module holding it. */
export type AsrWhere = (name: string, bn: nn.BatchNorm2d, parent: nn.Module) => boolean;

export interface AsrifyOptions {
  /** Which BatchNorms become ASRNorm; default: the last BN of each residual block (`bn2` of a BasicBlock, `bn3` of a Bottleneck), as the official code. */
  where?: AsrWhere;
  /** The gate of every ASRNorm: 'se' (default), 'eca' or a factory. */
  attention?: 'se' | 'eca' | GateFactory;
  /** Reduction of the SE gate (16) when `attention` is 'se', and of the live SE added by `useBoth`. */
  reduction?: number;
  /** psi's initial value (0.1). */
  psiInit?: number;
  /**
   * Also put a live, input-dependent SE after the replaced BN (official `--use-both`): in a
   * @methodzoo/models residual block it fills the block's `attention` slot when empty. Only the ASR
   * part folds at deployment; the SE stays.
   */
  useBoth?: boolean;
  /** Seeded initialisation of the new gates. */
  generator?: nn.FactoryOptions['generator'];
}

/** The default `where`: the BN before the residual addition of a BasicBlock or Bottleneck. */
export const lastBnOfBlock: AsrWhere = (_name, bn, parent) =>
  (parent instanceof BasicBlock && parent.bn2 === bn) || (parent instanceof Bottleneck && parent.bn3 === bn);

function slots(model: nn.Module): { parent: nn.Module; key: string; name: string; child: nn.Module }[] {
  const out: { parent: nn.Module; key: string; name: string; child: nn.Module }[] = [];
  for (const [prefix, parent] of model.namedModules()) {
    for (const [key, child] of parent.namedChildren()) out.push({ parent, key, name: prefix ? `${prefix}.${key}` : key, child });
  }
  return out;
}

function setChild(parent: nn.Module, key: string, child: nn.Module): void {
  (parent as unknown as Record<string, nn.Module>)[key] = child;
}

/**
 * Replaces the chosen BatchNorm2d layers of `model` in place by ASRNorm layers wrapping them (the
 * trained BN parameters and statistics are kept). Returns the dotted names of the replaced layers.
 *
 * Example:
 * ```ts
 * const net = resnet20({ inChannels: 1 });
 * asrify(net);            // ['layer1.0.bn2', ..., 'layer3.2.bn2']
 * ```
 */
export function asrify(model: nn.Module, opts: AsrifyOptions = {}): string[] {
  if (deployed.has(model)) throw new OpError('asrify', 'the model is reparameterized; call toTrain(model) first');
  const where = opts.where ?? lastBnOfBlock;
  const reduction = opts.reduction ?? 16;
  const attention: GateFactory =
    opts.attention === undefined || opts.attention === 'se' ? (c, o) => new SEGate(c, { ...o, reduction }) : resolveGate(opts.attention);
  const names: string[] = [];
  for (const { parent, key, name, child } of slots(model)) {
    // A BN already inside an ASRNorm is never wrapped twice.
    if (!(child instanceof nn.BatchNorm2d) || parent instanceof ASRNorm || !where(name, child, parent)) continue;
    const asr = ASRNorm.fromBatchNorm(child, { attention, psiInit: opts.psiInit, generator: opts.generator });
    setChild(parent, key, asr);
    names.push(name);
    if (opts.useBoth) {
      if (!(parent instanceof BasicBlock || parent instanceof Bottleneck)) throw new OpError('asrify', `useBoth needs a @methodzoo/models residual block around "${name}"`);
      if (parent.attention === null || parent.attention === undefined) {
        parent.attention = new SEBlock(child.numFeatures, { reduction, dtype: child.weight?.dtype, generator: opts.generator });
      }
    }
  }
  if (names.length === 0) throw new OpError('asrify', 'no BatchNorm2d matched `where` (the default needs BasicBlock / Bottleneck residual blocks)');
  return names;
}

export interface ReparameterizeOptions {
  /**
   * Keep the ASR layers (psi, gates, the BN they wrap) so `toTrain(model)` can restore them and
   * training can go on (false: they are disposed).
   */
  keepTraining?: boolean;
  /**
   * Also fold each deployed BN into the conv before it (`bnK` after `convK` in a block, or the
   * previous entry of a Sequential): W' = W gamma a / sqrt(var + eps), b' = (b - mu) gamma a /
   * sqrt(var + eps) + beta a, and the BN slot becomes Identity. The result is exact in eval mode
   * only and no longer has the plain backbone's parameter names (convs gain a bias, BNs go).
   */
  foldIntoConv?: boolean;
}

interface Swap {
  parent: nn.Module;
  key: string;
  asr: ASRNorm;
  conv?: { module: nn.Conv2d; weight: nn.Parameter; bias: nn.Parameter | null };
}

const deployed = new WeakMap<nn.Module, Swap[] | null>();

function precedingConv(parent: nn.Module, key: string): nn.Conv2d | null {
  const m = /^bn(\d+)$/.exec(key);
  const children = new Map(parent.namedChildren());
  let conv: nn.Module | undefined;
  if (m) conv = children.get(`conv${m[1]}`);
  else if (parent instanceof nn.Sequential && /^\d+$/.test(key)) conv = children.get(String(Number(key) - 1));
  return conv instanceof nn.Conv2d ? conv : null;
}

/** Folds `bn` (eval mode) into `conv`: new weight and bias parameters; returns the originals. */
function foldConv(conv: nn.Conv2d, bn: nn.BatchNorm2d): { weight: nn.Parameter; bias: nn.Parameter | null } {
  const original = { weight: conv.weight, bias: conv.bias };
  const c = bn.numFeatures;
  if (conv.outChannels !== c) throw new OpError('reparameterize', `conv before the BN has ${conv.outChannels} output channels, the BN ${c}`);
  const [w, b] = noGrad(() =>
    scope(() => {
      const scale = mul(bn.weight!, rsqrt(bn.running_var!.add(bn.eps)));
      const w = mul(conv.weight, reshape(scale, [c, 1, 1, 1]));
      const shifted = conv.bias ? conv.bias.sub(bn.running_mean!) : bn.running_mean!.neg();
      return [w, mul(shifted, scale).add(bn.bias!)] as [Tensor, Tensor];
    }),
  );
  conv.weight = new nn.Parameter(w);
  conv.bias = new nn.Parameter(b);
  w.dispose();
  b.dispose();
  return original;
}

/**
 * Folds every ASRNorm of `model` in place: each becomes the plain BatchNorm2d with weight gamma * a
 * and bias beta * a (running statistics copied), so the model is the plain backbone with its
 * parameter names, and its `stateDict()` loads into a model built without ASR. Live SE blocks
 * (`useBoth`) stay. The model is left in eval mode. Each call recomputes the fold from the current
 * psi, gate weights and BN, so a reparameterisation after more training reflects the new values.
 * Returns the model.
 */
export function reparameterize<M extends nn.Module>(model: M, opts: ReparameterizeOptions = {}): M {
  if (deployed.has(model)) throw new OpError('reparameterize', 'the model is already reparameterized; call toTrain(model) first (needs keepTraining)');
  const swaps: Swap[] = [];
  for (const { parent, key, child } of slots(model)) {
    if (!(child instanceof ASRNorm)) continue;
    const bn = child.toBatchNorm();
    const swap: Swap = { parent, key, asr: child };
    const conv = opts.foldIntoConv ? precedingConv(parent, key) : null;
    if (opts.foldIntoConv && !conv) throw new OpError('reparameterize', `foldIntoConv: no Conv2d found before "${key}" (expected conv<k> beside bn<k>, or the previous Sequential entry)`);
    if (conv) {
      swap.conv = { module: conv, ...foldConv(conv, bn) };
      bn.dispose();
      setChild(parent, key, new nn.Identity());
    } else setChild(parent, key, bn);
    swaps.push(swap);
  }
  if (!opts.keepTraining) {
    for (const s of swaps) {
      // The ASR layer and any conv weights it replaced are not reachable from the model any more.
      for (const p of s.asr.parameters()) p.dispose();
      for (const b of s.asr.buffers()) b.dispose();
      s.conv?.weight.dispose();
      s.conv?.bias?.dispose();
    }
  }
  deployed.set(model, opts.keepTraining ? swaps : null);
  return model.eval();
}

/** Whether `model` is in its reparameterized (deployed) form, as left by `reparameterize`. */
export function isReparameterized(model: nn.Module): boolean {
  return deployed.has(model);
}

/**
 * Undoes `reparameterize(model, { keepTraining: true })`: the ASR layers (and conv weights) return,
 * the deployed copies are disposed, and the model is put in training mode. Returns the model.
 */
export function toTrain<M extends nn.Module>(model: M): M {
  const swaps = deployed.get(model);
  if (swaps === undefined) throw new OpError('toTrain', 'the model is not reparameterized');
  if (swaps === null) throw new OpError('toTrain', 'the model was reparameterized without keepTraining; the training parameters are gone');
  for (const s of swaps) {
    const current = (s.parent as unknown as Record<string, nn.Module>)[s.key]!;
    current.dispose();
    if (s.conv) {
      s.conv.module.weight.dispose();
      s.conv.module.bias?.dispose();
      s.conv.module.weight = s.conv.weight;
      s.conv.module.bias = s.conv.bias;
    }
    setChild(s.parent, s.key, s.asr);
  }
  deployed.delete(model);
  return model.train();
}

/** The ASRNorm layers of a model with their dotted names. */
export function asrLayers(model: nn.Module): [string, ASRNorm][] {
  return model.namedModules().filter((e): e is [string, ASRNorm] => e[1] instanceof ASRNorm);
}
