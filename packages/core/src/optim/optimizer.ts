/**
 * Optimiser base class with PyTorch's `torch.optim.Optimizer` shape: parameter groups with
 * per-group hyperparameters over defaults, lazily created per-parameter state, `zeroGrad`, and a
 * state dict that lets training resume bit-exactly.
 *
 * Memory model: `step()` runs under `noGrad` inside `scope`, so every temporary it creates is freed
 * when it returns. Parameters and state tensors are updated with `assign` (their identity never
 * changes) and state tensors are created with `keep`, so a training loop's tensor count stays flat.
 *
 * Wrapping: `step()` calls `stepGroup(group)` for each group, which calls `updateParam(...)` for each
 * parameter with a gradient. A method that wraps an optimiser (Mirror Gradient) can override either
 * level, or drive `paramGroups` and `state` directly.
 */
import { isFloat } from '../dtype.js';
import { cast } from '../ops/basic.js';
import { OpError } from '../shape.js';
import { enableGrad, keep, noGrad, scope, Tensor } from '../tensor.js';
import { zerosLike } from '../creation.js';

/** Per-parameter optimiser state: tensors (moments, buffers) and numbers (step counts). */
export type ParamState = Record<string, Tensor | number>;

/** Hyperparameters every optimiser has. */
export interface BaseHyper {
  lr: number;
}

/** A parameter group as the optimiser keeps it: its tensors, its hyperparameters, and what schedulers add. */
export type ParamGroup<H extends BaseHyper = BaseHyper> = H & {
  params: Tensor[];
  /** Set by the first learning-rate scheduler attached to the optimiser. */
  initialLr?: number;
};

/** A parameter group as the user passes it: any hyperparameter left out takes the optimiser default. */
export type ParamGroupInput<H extends BaseHyper = BaseHyper> = Partial<H> & { params: Iterable<Tensor> };

/** What optimisers accept: an iterable of tensors (one group) or a list of groups. */
export type Params<H extends BaseHyper = BaseHyper> = Iterable<Tensor> | Iterable<ParamGroupInput<H>>;

/**
 * Snapshot of an optimiser, PyTorch's layout: `state` keyed by the parameter's position counted
 * across groups in order, `paramGroups` with hyperparameters and those positions in `params`.
 * Tensors in it share storage with the optimiser's state at the time of the call (zero-copy; later
 * steps replace the optimiser's buffers and leave the snapshot unchanged); the caller owns them.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

function copyValue<V>(v: V): V {
  return (Array.isArray(v) ? [...v] : v) as V;
}

export abstract class Optimizer<H extends BaseHyper = BaseHyper> {
  /** Hyperparameters a group gets when it does not set them. */
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, created on the parameter's first update. */
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: Params<H>, defaults: H) {
    this.defaults = defaults;
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new OpError(this.name, 'params is an empty list; pass the tensors to optimise');
    if (list.every((p) => p instanceof Tensor)) this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<H>);
    else if (list.some((p) => p instanceof Tensor)) throw new OpError(this.name, 'params mixes tensors and parameter groups; pass one or the other');
    else for (const g of list as ParamGroupInput<H>[]) this.addParamGroup(g);
  }

  /** The optimiser's name in error messages. */
  get name(): string {
    return this.constructor.name;
  }

  /** Adds a group (e.g. to fine-tune newly unfrozen layers); missing hyperparameters take the defaults. */
  addParamGroup(input: ParamGroupInput<H>): void {
    if (!input || typeof input !== 'object' || !('params' in input)) throw new OpError(this.name, "a parameter group must be an object with a 'params' list");
    if (input.params instanceof Tensor) throw new OpError(this.name, "group 'params' must be a list of tensors, got a single tensor; wrap it in an array");
    const params = [...input.params];
    const index = this.paramGroups.length;
    const seen = new Set<Tensor>(this.paramGroups.flatMap((g) => g.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new OpError(this.name, `group ${index} params[${i}] is not a Tensor`);
      if (!p.isLeaf) throw new OpError(this.name, `group ${index} params[${i}] is not a leaf tensor; optimise leaves (detach() it or create it with requiresGrad)`);
      if (!isFloat(p.dtype)) throw new OpError(this.name, `group ${index} params[${i}] has dtype ${p.dtype}; only floating-point tensors can be optimised`);
      if (seen.has(p)) throw new OpError(this.name, `group ${index} params[${i}] appears more than once across parameter groups`);
      seen.add(p);
    });
    const group = { ...input, params } as unknown as ParamGroup<H>;
    const fields = group as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(this.defaults)) if (fields[k] === undefined) fields[k] = copyValue(v);
    this.validateGroup(group, index);
    this.paramGroups.push(group);
  }

  /** Checks a group's hyperparameters; subclasses extend it and throw OpError naming the value. */
  protected validateGroup(group: ParamGroup<H>, index: number): void {
    if (!(group.lr >= 0)) throw new OpError(this.name, `group ${index}: lr must be >= 0, got ${group.lr}`);
  }

  /**
   * One optimisation step over every parameter with a gradient. `closure`, when given, re-evaluates
   * the model and returns the loss (it runs with gradients enabled, before the update).
   */
  step(closure?: () => Tensor): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    noGrad(() => scope(() => {
      for (const group of this.paramGroups) this.stepGroup(group);
    }));
    return loss;
  }

  /** Updates one group; called by `step()` under `noGrad` inside a scope. */
  stepGroup(group: ParamGroup<H>): void {
    for (const p of group.params) {
      if (p.grad) this.updateParam(p, p.grad, group, this.stateFor(p));
    }
  }

  /**
   * Updates one parameter from its gradient: write the result with `param.assign(...)`, create new
   * state tensors with `keep(...)` and replace existing ones with `assign`.
   */
  abstract updateParam(param: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /** The state record of `param`, created empty on first use. */
  stateFor(param: Tensor): ParamState {
    let s = this.state.get(param);
    if (!s) this.state.set(param, (s = {}));
    return s;
  }

  /** Clears gradients: disposes and unsets them (`setToNone`, the default) or fills them with zeros. */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = p.grad;
        if (!g) continue;
        if (setToNone) {
          p.grad = null;
          g.dispose();
        } else {
          const z = zerosLike(g);
          g.assign(z);
          z.dispose();
        }
      }
    }
  }

  /** A snapshot of hyperparameters and per-parameter state (see `OptimizerStateDict`). */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const ids: number[] = [];
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s) {
          const snap: ParamState = {};
          for (const [k, v] of Object.entries(s)) snap[k] = v instanceof Tensor ? v.detach() : v;
          state[index] = snap;
        }
        ids.push(index++);
      }
      const hyper: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(group)) if (k !== 'params') hyper[k] = copyValue(v);
      paramGroups.push({ ...hyper, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores hyperparameters and state from `stateDict()` output (of an optimiser over parameters of
   * the same shapes, in the same group layout). Floating-point state is cast to its parameter's dtype,
   * as PyTorch does. The optimiser does not take ownership of the dict's tensors.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    if (!dict || !Array.isArray(dict.paramGroups) || typeof dict.state !== 'object') {
      throw new OpError('loadStateDict', 'expected an object with state and paramGroups, as returned by stateDict()');
    }
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new OpError('loadStateDict', `state dict has ${dict.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor>();
    dict.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi]!;
      if (saved.params.length !== group.params.length) {
        throw new OpError('loadStateDict', `group ${gi} has ${saved.params.length} parameters in the state dict, ${group.params.length} in the optimizer`);
      }
      saved.params.forEach((id, i) => byIndex.set(id, group.params[i]!));
    });
    for (const key of Object.keys(dict.state)) {
      if (!byIndex.has(Number(key))) throw new OpError('loadStateDict', `state for parameter ${key}, which no group lists`);
    }
    // Validated: now replace.
    dict.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi]! as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') group[k] = copyValue(v);
    });
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
    noGrad(() => {
      for (const [key, saved] of Object.entries(dict.state)) {
        const p = byIndex.get(Number(key))!;
        const s: ParamState = {};
        for (const [k, v] of Object.entries(saved)) {
          s[k] = v instanceof Tensor ? keep(isFloat(v.dtype) && v.dtype !== p.dtype ? cast(v, p.dtype) : v.detach()) : v;
        }
        this.state.set(p, s);
      }
    });
  }
}

/** Reads a tensor from a state record (undefined when absent), for subclasses' updates. */
export function stateTensor(state: ParamState, key: string): Tensor | undefined {
  const v = state[key];
  return v instanceof Tensor ? v : undefined;
}
