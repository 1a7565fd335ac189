/**
 * `Module` and `Parameter`, shaped like `torch.nn.Module` so that dotted member paths are exactly
 * PyTorch's `state_dict()` keys and a checkpoint written by PyTorch loads by name.
 *
 * Members are found two ways. Any own property that holds a `Module` is a child named by the
 * property and any own property that holds a `Parameter` is a parameter, so
 * `this.conv1 = new Conv2d(...)` registers `conv1`. Names that are not idiomatic TypeScript
 * (`running_mean`, `in_proj_weight`) or not identifiers at all (`"0"`) go through
 * `registerParameter` / `registerBuffer` / `registerModule`, which also define the own property, so
 * `bn.running_mean` reads like PyTorch. Buffers always need `registerBuffer`: a plain tensor held in
 * a property is not module state. Members keep the order in which they first held a value (as
 * PyTorch's attribute dicts do) and keep their place when re-assigned, so swapping
 * `model.bn1 = new GroupNorm(...)` keeps the state-dict order.
 *
 * Calling convention: `module.call(...args)` runs forward pre-hooks, `forward(...args)` and forward
 * hooks (PyTorch's `module(x)`); `forward` alone skips the hooks. Containers and models call their
 * children through `call` so hooks on inner layers fire.
 */
import type { Backend } from '../backend.js';
import { full } from '../creation.js';
import { type DType, isFloat } from '../dtype.js';
import { cast, mul } from '../ops/basic.js';
import type { Generator } from '../random.js';
import { fmtShape, OpError, type Shape } from '../shape.js';
import { fromData, keep, noGrad, scope, Tensor } from '../tensor.js';

/**
 * A tensor that is a module parameter: a leaf that requires grad by default and is exempt from
 * `scope` disposal. `new Parameter(t)` shares `t`'s storage (like `nn.Parameter(t)`); the caller may
 * dispose `t` afterwards.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    super(data.live('Parameter').retain(), data.shape, data.dtype);
    keep(this);
    if (requiresGrad) this.requiresGrad_(true);
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}

export interface RemovableHandle {
  remove(): void;
}

/** Runs before `forward`; returning an array replaces the positional arguments. */
export type ForwardPreHook<M extends Module = Module> = (module: M, args: unknown[]) => unknown[] | void;
/** Runs after `forward`; returning a value other than `undefined` replaces the output. */
export type ForwardHook<M extends Module = Module> = (module: M, args: unknown[], output: unknown) => unknown;

export type StateDict = Map<string, Tensor>;

export interface LoadStateDictOptions {
  /**
   * When true (default) any missing key, unexpected key or shape mismatch throws one error listing
   * all of them and nothing is copied. When false, matching entries are copied and the rest is
   * returned. (PyTorch raises on shape mismatches even when non-strict; here they are reported.)
   */
  strict?: boolean;
}

export interface ShapeMismatch {
  key: string;
  /** Shape in the module. */
  expected: number[];
  /** Shape in the loaded state. */
  got: number[];
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
  mismatchedKeys: ShapeMismatch[];
}

let nextHookId = 1;

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || name === '') throw new OpError(kind, `name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (name.includes('.')) throw new OpError(kind, `name can't contain ".", got "${name}"`);
}

/**
 * Base class for all neural-network modules (PyTorch `torch.nn.Module`).
 *
 * Example:
 * ```ts
 * class Net extends Module {
 *   conv1 = new Conv2d(1, 8, 3);
 *   fc = new Linear(8, 10);
 *   forward(x: Tensor): Tensor {
 *     return this.fc.call(this.conv1.call(x).relu().mean([2, 3]));
 *   }
 * }
 * const net = new Net();
 * [...net.stateDict().keys()]; // ['conv1.weight', 'conv1.bias', 'fc.weight', 'fc.bias']
 * ```
 */
export abstract class Module {
  /** Train or eval mode, set for the whole tree by `train()` / `eval()`. */
  training = true;
  // Private fields are not own enumerable properties, so they never look like members.
  #order = new Set<string>();
  #buffers = new Map<string, boolean>();
  #preHooks = new Map<number, ForwardPreHook>();
  #hooks = new Map<number, ForwardHook>();

  /** The computation; call the module through `call` to run hooks as well. */
  // `any` so subclasses declare their own precise signatures and `call` inherits them.
  abstract forward(...args: any[]): any;

  /** Runs forward pre-hooks, `forward`, then forward hooks (PyTorch `module(*args)`). */
  call<M extends Module>(this: M, ...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    let input: unknown[] = args;
    for (const hook of this.#preHooks.values()) {
      const r = hook(this, input);
      if (r !== undefined) {
        if (!Array.isArray(r)) throw new OpError('call', `a forward pre-hook of ${this.constructor.name} must return an array of arguments or undefined`);
        input = r;
      }
    }
    let output: unknown = this.forward(...input);
    for (const hook of this.#hooks.values()) {
      const r = hook(this, input, output);
      if (r !== undefined) output = r;
    }
    return output as ReturnType<M['forward']>;
  }

  // ---- registration --------------------------------------------------------------------------

  /** Records properties that have come to hold a module or parameter since the last look. */
  #sync(): void {
    for (const key of Object.keys(this)) {
      if (this.#order.has(key)) continue;
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Module || v instanceof Parameter) this.#order.add(key);
    }
  }

  /**
   * A name may be (re)registered when it is free, holds undefined/null (a declared field), or
   * already holds a member of the same kind; never over a method, `training` or other plain data.
   */
  #checkSlot(kind: 'registerParameter' | 'registerBuffer' | 'registerModule', name: string): void {
    checkName(kind, name);
    if (!(name in this)) return;
    const own = Object.prototype.hasOwnProperty.call(this, name);
    const v = (this as Record<string, unknown>)[name];
    const isBuffer = this.#buffers.has(name);
    const sameKind =
      v === undefined || v === null ||
      (kind === 'registerBuffer' ? isBuffer : !isBuffer && (kind === 'registerParameter' ? v instanceof Parameter : v instanceof Module));
    if (!own || !sameKind) throw new OpError(kind, `attribute "${name}" already exists on ${this.constructor.name} and is not a ${kind.slice(8).toLowerCase()}; pick another name`);
  }

  #define(name: string, value: unknown): void {
    this.#sync();
    Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true });
    this.#order.add(name);
  }

  /** Adds a parameter under `name` (or a `null` slot, as PyTorch's `register_parameter(name, None)`). */
  registerParameter(name: string, param: Parameter | null): void {
    this.#checkSlot('registerParameter', name);
    if (param !== null && !(param instanceof Parameter)) throw new OpError('registerParameter', `"${name}" must be a Parameter or null; wrap the tensor with new Parameter(t)`);
    this.#buffers.delete(name);
    this.#define(name, param);
  }

  /**
   * Adds state that is not a parameter (running statistics, counters). Persistent buffers are part
   * of `stateDict()`; non-persistent ones are not. The tensor is `keep()`-ed; a tensor assigned to
   * the property later stays the buffer and should be `keep()`-ed by whoever assigns it.
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    this.#checkSlot('registerBuffer', name);
    if (tensor !== null && !(tensor instanceof Tensor)) throw new OpError('registerBuffer', `"${name}" must be a Tensor or null`);
    if (tensor instanceof Parameter) throw new OpError('registerBuffer', `"${name}" is a Parameter; use registerParameter`);
    if (tensor) keep(tensor);
    this.#buffers.set(name, persistent);
    this.#define(name, tensor);
  }

  /** Adds a child module under `name` (any string without "."; containers use "0", "1", ...). */
  registerModule(name: string, module: Module | null): void {
    this.#checkSlot('registerModule', name);
    if (module !== null && !(module instanceof Module)) throw new OpError('registerModule', `"${name}" must be a Module or null`);
    this.#buffers.delete(name);
    this.#define(name, module);
  }

  /** Removes a member of any kind (used by containers). */
  protected removeMember(name: string): void {
    this.#sync();
    this.#order.delete(name);
    this.#buffers.delete(name);
    delete (this as Record<string, unknown>)[name];
  }

  /** This module's direct child modules in registration order, repeats included (what Sequential runs). */
  protected ownModules(): [string, Module][] {
    return this.#members().children;
  }

  /** This module's own members, in registration order, by kind (null slots skipped). */
  #members(): { params: [string, Parameter][]; buffers: [string, Tensor, boolean][]; children: [string, Module][] } {
    this.#sync();
    const params: [string, Parameter][] = [];
    const buffers: [string, Tensor, boolean][] = [];
    const children: [string, Module][] = [];
    const self = this as Record<string, unknown>;
    for (const name of this.#order) {
      if (!Object.prototype.hasOwnProperty.call(this, name)) continue;
      const v = self[name];
      const persistent = this.#buffers.get(name);
      if (persistent !== undefined) {
        if (v instanceof Tensor) buffers.push([name, v, persistent]);
      } else if (v instanceof Parameter) params.push([name, v]);
      else if (v instanceof Module) children.push([name, v]);
    }
    return { params, buffers, children };
  }

  // ---- traversal -----------------------------------------------------------------------------

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    return this.#members().children.filter(([, m]) => (seen.has(m) ? false : (seen.add(m), true)));
  }
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and all descendants, pre-order, each once; this module's name is `prefix` ('' by default). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, p: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [name, child] of m.#members().children) visit(child, p ? `${p}.${name}` : name);
    };
    visit(this, prefix);
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Parameters with dotted names, each tensor once (a tied weight is listed under its first name),
   * as PyTorch `named_parameters()`. `recurse: false` lists only this module's own.
   */
  namedParameters(opts: { prefix?: string; recurse?: boolean } = {}): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = opts.recurse === false ? [[opts.prefix ?? '', this]] : this.namedModules(opts.prefix ?? '');
    for (const [p, m] of mods) {
      for (const [name, t] of m.#members().params) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([p ? `${p}.${name}` : name, t]);
      }
    }
    return out;
  }
  parameters(opts: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(opts).map(([, p]) => p);
  }

  /** Buffers (persistent or not) with dotted names, each tensor once. */
  namedBuffers(opts: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = opts.recurse === false ? [[opts.prefix ?? '', this]] : this.namedModules(opts.prefix ?? '');
    for (const [p, m] of mods) {
      for (const [name, t] of m.#members().buffers) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([p ? `${p}.${name}` : name, t]);
      }
    }
    return out;
  }
  buffers(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(opts).map(([, b]) => b);
  }

  /** Number of parameter elements (shared parameters counted once). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    return this.parameters().reduce((n, p) => (opts.trainableOnly && !p.requiresGrad ? n : n + p.size), 0);
  }

  // ---- modes and utilities -------------------------------------------------------------------

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /** `train(false)`: BatchNorm uses running statistics, Dropout is the identity. */
  eval(): this {
    return this.train(false);
  }

  /** Calls `fn` on every child (recursively) and then on this module, as PyTorch `apply`. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Turns gradient tracking of every parameter on or off (PyTorch `requires_grad_`). */
  requiresGrad_(value = true): this {
    for (const p of this.parameters()) p.requiresGrad_(value);
    return this;
  }

  /** Clears parameter gradients: to `null` (default, as PyTorch) or to zeros. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (!g) continue;
      if (setToNone) {
        g.dispose();
        p.grad = null;
      } else {
        const z = full(g.shape, 0, { dtype: g.dtype, backend: g.backend });
        g.assign(z);
        z.dispose();
      }
    }
  }

  /** Registers a hook run before every `call`; returns a handle whose `remove()` unregisters it. */
  registerForwardPreHook(hook: ForwardPreHook<this>): RemovableHandle {
    const id = nextHookId++;
    this.#preHooks.set(id, hook as ForwardPreHook);
    return { remove: () => void this.#preHooks.delete(id) };
  }
  /** Registers a hook run after every `call` with the arguments and output; returns a removable handle. */
  registerForwardHook(hook: ForwardHook<this>): RemovableHandle {
    const id = nextHookId++;
    this.#hooks.set(id, hook as ForwardHook);
    return { remove: () => void this.#hooks.delete(id) };
  }

  // ---- state ---------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by PyTorch `state_dict` key, in PyTorch order (a module's
   * own parameters, then its buffers, then each child's entries). Values are the live tensors, not
   * copies; a tied parameter appears under every name.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    const visit = (m: Module, p: string, path: Set<Module>) => {
      if (path.has(m)) throw new OpError('stateDict', `module tree has a cycle at "${p}"`);
      const { params, buffers, children } = m.#members();
      for (const [name, t] of params) out.set(p + name, t);
      for (const [name, t, persistent] of buffers) if (persistent) out.set(p + name, t);
      path.add(m);
      for (const [name, child] of children) visit(child, `${p}${name}.`, path);
      path.delete(m);
    };
    visit(this, '', new Set());
    return out;
  }

  /**
   * Copies values from `state` (a Map or record keyed like `stateDict()`) into this module's
   * parameters and buffers with `assign`, so every tensor keeps its identity (optimisers holding
   * them stay valid). Values are cast to the target dtype and moved to the target backend.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const source = state instanceof Map ? (state as ReadonlyMap<string, Tensor>) : new Map(Object.entries(state));
    const own = this.stateDict();
    const result: LoadStateDictResult = { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] };
    const matched: [Tensor, Tensor][] = [];
    for (const [key, target] of own) {
      const src = source.get(key);
      if (src === undefined) result.missingKeys.push(key);
      else if (!(src instanceof Tensor)) throw new OpError('loadStateDict', `value for "${key}" is not a Tensor`);
      else if (src.shape.join() !== target.shape.join()) result.mismatchedKeys.push({ key, expected: [...target.shape], got: [...src.shape] });
      else matched.push([target, src]);
    }
    for (const key of source.keys()) if (!own.has(key)) result.unexpectedKeys.push(key);
    const problems = result.missingKeys.length + result.unexpectedKeys.length + result.mismatchedKeys.length;
    if (strict && problems > 0) {
      const lines = [`error(s) in loading state dict for ${this.constructor.name}; nothing was copied`];
      if (result.missingKeys.length) lines.push(`  missing key(s): ${result.missingKeys.map((k) => `"${k}"`).join(', ')}`);
      if (result.unexpectedKeys.length) lines.push(`  unexpected key(s): ${result.unexpectedKeys.map((k) => `"${k}"`).join(', ')}`);
      for (const m of result.mismatchedKeys) {
        lines.push(`  size mismatch for "${m.key}": checkpoint has shape ${fmtShape(m.got)}, module has ${fmtShape(m.expected)}`);
      }
      throw new OpError('loadStateDict', lines.join('\n'));
    }
    noGrad(() => {
      for (const [target, src] of matched) {
        // The scope frees the moved copy, the copy and the scalar operand of `mul`; `target` keeps
        // the copy's storage through `assign`.
        scope(() => {
          const value = src.backend === target.backend ? src : fromData(src.dataSync(), src.shape, src.dtype, target.backend);
          // A fresh buffer even when no cast is needed, so source and module never share storage.
          target.assign(value.dtype === target.dtype ? mul(value, 1) : cast(value, target.dtype));
        });
      }
    });
    return result;
  }

  /**
   * Casts floating-point parameters and buffers to `dtype` (integer buffers such as
   * `num_batches_tracked` are left alone). The cast members are new tensor objects, so call this
   * before creating an optimiser (as PyTorch advises for `.cuda()`); gradients are dropped.
   */
  to(dtype: DType): this {
    if (!isFloat(dtype)) throw new OpError('to', `modules can only be cast to a floating-point dtype, got ${dtype}`);
    for (const m of this.modules()) {
      const self = m as unknown as Record<string, unknown>;
      const { params, buffers } = m.#members();
      for (const [name, p] of params) {
        if (p.dtype === dtype) continue;
        const c = noGrad(() => cast(p, dtype));
        self[name] = new Parameter(c, p.requiresGrad);
        c.dispose();
        p.dispose();
      }
      for (const [name, b] of buffers) {
        if (b.dtype === dtype || !isFloat(b.dtype)) continue;
        self[name] = keep(noGrad(() => cast(b, dtype)));
        b.dispose();
      }
    }
    return this;
  }

  /** Frees every parameter, gradient and buffer of the tree; the module is unusable afterwards. */
  dispose(): void {
    for (const m of this.modules()) {
      const { params, buffers } = m.#members();
      for (const [, p] of params) p.dispose();
      for (const [, b] of buffers) b.dispose();
    }
  }

  // ---- printing ------------------------------------------------------------------------------

  /** The constructor arguments shown by `toString()`, as PyTorch `extra_repr`. */
  extraRepr(): string {
    return '';
  }

  /** A PyTorch-style tree: `Sequential(\n  (0): Linear(in_features=2, ...)\n)`. */
  toString(): string {
    const children = this.#members().children;
    const extra = this.extraRepr();
    if (children.length === 0) return `${this.constructor.name}(${extra})`;
    const lines = children.map(([name, m]) => `  (${name}): ${m.toString().split('\n').join('\n  ')}`);
    if (extra) lines.unshift(`  ${extra}`);
    return `${this.constructor.name}(\n${lines.join('\n')}\n)`;
  }
}

/** Options every layer with parameters accepts. */
export interface FactoryOptions {
  /** Floating-point dtype of parameters and float buffers (float32 by default). */
  dtype?: DType;
  /** Backend (or its registered name) to create them on; the current default when omitted. */
  backend?: Backend | string;
  /** Source of randomness for the initialisation (the default generator when omitted). */
  generator?: Generator;
}

/** A zero-filled parameter of `shape`; layers then initialise it as PyTorch's `reset_parameters` does. */
export function emptyParameter(shape: Shape, opts: FactoryOptions = {}): Parameter {
  const dtype = opts.dtype ?? 'float32';
  if (!isFloat(dtype)) throw new OpError('Parameter', `parameters must be floating point, got dtype ${dtype}`);
  const t = full(shape, 0, { dtype, backend: opts.backend });
  const p = new Parameter(t);
  t.dispose();
  return p;
}
