/**
 * Reverse-mode engine: walks the recorded graph from the outputs in reverse topological order,
 * applies each primitive's VJP and sums gradients that meet. `backward` accumulates into leaves'
 * `.grad`; `grad` returns gradients for chosen inputs and leaves `.grad` alone.
 */
import { allocArray } from '../dtype.js';
import { OpError, fmtShape } from '../shape.js';
import { enableGrad, fromData, keep, noGrad, type Tensor } from '../tensor.js';
import { add } from '../ops/basic.js';
import { VJP, type VjpContext } from './vjp.js';

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again (defaults to createGraph, as in PyTorch). */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients. */
  createGraph?: boolean;
}

function onesLike(t: Tensor): Tensor {
  const data = allocArray(t.dtype, t.size);
  data.fill(1);
  return fromData(data, t.shape, t.dtype, t.backend);
}

/** Tensors reachable from `roots` through recorded nodes, in topological order (inputs first). */
function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = roots.map((r) => [r, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    if (i === 0) {
      if (seen.has(t)) {
        stack.pop();
        continue;
      }
      seen.add(t);
    }
    const inputs = t.node?.inputs ?? [];
    let j = i;
    while (j < inputs.length && (seen.has(inputs[j]!) || !inputs[j]!.requiresGrad)) j++;
    if (j < inputs.length) {
      top[1] = j + 1;
      stack.push([inputs[j]!, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

function run(outputs: readonly Tensor[], seeds: readonly (Tensor | null | undefined)[], opts: BackwardOptions, targets: readonly Tensor[] | null): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>();
  outputs.forEach((out, i) => {
    if (!out.requiresGrad) throw new OpError('backward', `output ${i} does not require grad and has no grad_fn`);
    let seed = seeds[i];
    if (!seed) {
      if (out.size !== 1) throw new OpError('backward', `grad can be implicitly created only for scalar outputs; output ${i} has shape ${fmtShape(out.shape)}`);
      seed = onesLike(out);
    } else if (seed.shape.join() !== out.shape.join()) {
      throw new OpError('backward', `gradient ${i} has shape ${fmtShape(seed.shape)} but output has shape ${fmtShape(out.shape)}`);
    }
    const prev = grads.get(out);
    grads.set(out, prev ? add(prev, seed) : seed);
  });

  const order = topoOrder(outputs);
  // When asked for specific inputs, only walk into tensors that lead to one of them.
  let leads: Set<Tensor> | null = null;
  if (targets) {
    const want = new Set(targets);
    leads = new Set();
    for (const t of order) if (want.has(t) || t.node?.inputs.some((i) => leads!.has(i))) leads.add(t);
  }

  const captured = new Map<Tensor, Tensor>();
  const body = () => {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      let g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (t.hooks) for (const hook of t.hooks) g = hook(g) ?? g;
      if (targets) {
        if (targets.includes(t)) captured.set(t, g);
      } else if (t.isLeaf || t.retainsGrad) {
        // A fresh tensor object per .grad, so gradients shared between leaves are never aliased.
        const stored = opts.createGraph ? g : g.detach();
        keep(stored);
        if (t.grad) {
          const sum = keep(add(t.grad, stored));
          t.grad.dispose();
          if (stored !== g) stored.dispose();
          t.grad = sum;
        } else t.grad = stored;
      }
      const node = t.node;
      if (!node) continue;
      if (node.freed) throw new OpError('backward', 'trying to backward through the graph a second time; pass retainGraph: true the first time');
      const needs = node.inputs.map((i) => i.requiresGrad && (!leads || leads.has(i)));
      if (needs.some(Boolean)) {
        const ctx: VjpContext<typeof node.prim> = { inputs: node.inputs, output: t, attrs: node.attrs as never, needs };
        const disposed = node.inputs.findIndex((input) => input.isDisposed);
        if (disposed >= 0) {
          const x = node.inputs[disposed]!;
          throw new OpError('backward', `the gradient of '${node.prim}' needs its input ${disposed} (tensor #${x.id} ${fmtShape(x.shape)}), which was disposed; call backward before disposing it or its scope ends`);
        }
        const inGrads = (VJP[node.prim] as (g: Tensor, c: typeof ctx) => (Tensor | null)[])(g, ctx);
        node.inputs.forEach((input, i) => {
          const ig = inGrads[i];
          if (!needs[i] || !ig) return;
          const prev = grads.get(input);
          grads.set(input, prev ? add(prev, ig) : ig);
        });
      }
      if (!(opts.retainGraph ?? opts.createGraph)) {
        node.freed = true;
        (node as { inputs: readonly Tensor[] }).inputs = [];
      }
    }
  };
  if (opts.createGraph) enableGrad(body);
  else noGrad(body);
  return captured;
}

/** Accumulates d(outputs)/d(leaf) into every leaf's `.grad` (PyTorch `torch.autograd.backward`). */
export function backward(outputs: Tensor | readonly Tensor[], gradOutputs?: Tensor | readonly (Tensor | null)[] | null, opts: BackwardOptions = {}): void {
  const outs = Array.isArray(outputs) ? outputs : [outputs as Tensor];
  const seeds = gradOutputs == null ? [] : Array.isArray(gradOutputs) ? gradOutputs : [gradOutputs as Tensor];
  run(outs, seeds, opts, null);
}

export interface GradOptions extends BackwardOptions {
  gradOutputs?: readonly (Tensor | null)[];
  /** Return null for inputs the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
}

/** Gradients of `outputs` with respect to `inputs`, without touching `.grad` (PyTorch `torch.autograd.grad`). */
export function grad(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs as Tensor];
  inputs.forEach((t, i) => {
    if (!t.requiresGrad) throw new OpError('grad', `input ${i} does not require grad`);
  });
  const captured = run(outs, opts.gradOutputs ?? [], opts, inputs);
  return inputs.map((t, i) => {
    const g = captured.get(t);
    if (!g && !opts.allowUnused) throw new OpError('grad', `input ${i} was not used to compute the outputs; pass allowUnused: true`);
    return g ?? null;
  });
}
