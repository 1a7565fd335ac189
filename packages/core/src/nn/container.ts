/**
 * Containers (PyTorch `torch/nn/modules/container.py`). Children are registered under "0", "1", ...
 * (Sequential, ModuleList) or their keys (ModuleDict), so state-dict keys read `0.weight`,
 * `layers.2.bias`, `heads.cls.weight` exactly as in PyTorch.
 */
import { OpError } from '../shape.js';
import { Module } from './module.js';

function checkModule(op: string, m: unknown, where: string): Module {
  if (!(m instanceof Module)) throw new OpError(op, `${where} is not a Module`);
  return m;
}

function normIndex(op: string, idx: number, length: number): number {
  if (!Number.isInteger(idx) || idx < -length || idx >= length) throw new OpError(op, `index ${idx} is out of range for ${length} modules`);
  return idx < 0 ? idx + length : idx;
}

/**
 * Runs its modules in order, feeding each one's output to the next (through `call`, so their hooks
 * fire).
 *
 * Args:
 *   modules: the layers in order (keys "0", "1", ...), or one record/Map of named layers (their
 *   names become the keys, as PyTorch's `Sequential(OrderedDict(...))`).
 *
 * Shape: whatever the first module takes -> whatever the last returns.
 *
 * Example:
 * ```ts
 * const net = new Sequential(new Conv2d(1, 20, 5), new ReLU(), new Conv2d(20, 64, 5), new ReLU());
 * [...net.stateDict().keys()]; // ['0.weight', '0.bias', '2.weight', '2.bias']
 * ```
 */
export class Sequential extends Module {
  constructor(...modules: Module[]);
  constructor(named: Readonly<Record<string, Module>> | ReadonlyMap<string, Module>);
  constructor(...args: unknown[]) {
    super();
    const first = args[0];
    if (args.length === 1 && first !== null && typeof first === 'object' && !(first instanceof Module)) {
      const entries = first instanceof Map ? [...(first as ReadonlyMap<string, unknown>)] : Object.entries(first);
      for (const [name, m] of entries) this.registerModule(name, checkModule('Sequential', m, `entry "${name}"`));
    } else {
      args.forEach((m, i) => this.registerModule(String(i), checkModule('Sequential', m, `argument ${i}`)));
    }
  }

  get length(): number {
    return this.ownModules().length;
  }

  /** The module at `index` (negative counts from the end), as `seq[index]`. */
  at(index: number): Module {
    const mods = this.ownModules();
    return mods[normIndex('Sequential.at', index, mods.length)]![1];
  }

  /** A Sequential of modules start..end-1 keeping their keys, as `seq[start:end]` (modules are shared). */
  slice(start = 0, end?: number): Sequential {
    return new Sequential(new Map(this.ownModules().slice(start, end)));
  }

  /** Adds a module at the end under the next free index key. */
  append(module: Module): this {
    this.registerModule(String(this.length), checkModule('Sequential.append', module, 'argument'));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.ownModules().map(([, m]) => m)[Symbol.iterator]();
  }

  // Sequential passes whatever each module returns to the next, as PyTorch does.
  forward(input: any): any {
    let x: unknown = input;
    for (const [, m] of this.ownModules()) x = m.call(x);
    return x;
  }
}

/**
 * Holds submodules in a list, registered under "0", "1", ... It has no forward of its own: iterate
 * it in the parent's forward.
 *
 * Example:
 * ```ts
 * class Net extends Module {
 *   layers = new ModuleList(Array.from({ length: 3 }, () => new Linear(10, 10)));
 *   forward(x: Tensor) {
 *     for (const l of this.layers) x = l.call(x);
 *     return x;
 *   }
 * }
 * // state-dict keys: layers.0.weight, layers.0.bias, layers.1.weight, ...
 * ```
 */
export class ModuleList<M extends Module = Module> extends Module {
  constructor(modules: Iterable<M> = []) {
    super();
    this.extend(modules);
  }

  get length(): number {
    return this.ownModules().length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    const mods = this.ownModules();
    return mods[normIndex('ModuleList.at', index, mods.length)]![1] as M;
  }

  /** Replaces the module at `index` (as `list[i] = m`). */
  set(index: number, module: M): this {
    this.registerModule(String(normIndex('ModuleList.set', index, this.length)), checkModule('ModuleList.set', module, 'argument'));
    return this;
  }

  append(module: M): this {
    this.registerModule(String(this.length), checkModule('ModuleList.append', module, 'argument'));
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Inserts before `index`; later modules move up one key, as in PyTorch. */
  insert(index: number, module: M): this {
    checkModule('ModuleList.insert', module, 'argument');
    const mods = this.ownModules().map(([, m]) => m as M);
    const n = mods.length;
    const at = index < 0 ? Math.max(0, index + n) : Math.min(index, n);
    mods.splice(at, 0, module);
    this.reindex(mods);
    return this;
  }

  /** Removes and returns the module at `index` (last by default); later modules move down one key. */
  pop(index = -1): M {
    const mods = this.ownModules().map(([, m]) => m as M);
    const i = normIndex('ModuleList.pop', index, mods.length);
    const [removed] = mods.splice(i, 1);
    this.reindex(mods);
    return removed!;
  }

  private reindex(mods: M[]): void {
    for (const [name] of this.ownModules()) this.removeMember(name);
    mods.forEach((m, i) => this.registerModule(String(i), m));
  }

  [Symbol.iterator](): Iterator<M> {
    return this.ownModules().map(([, m]) => m as M)[Symbol.iterator]();
  }

  forward(): never {
    throw new OpError('ModuleList', 'ModuleList is a container with no forward; iterate it and call its modules');
  }
}

/**
 * Holds submodules by name, in insertion order; keys become state-dict path segments.
 *
 * Example:
 * ```ts
 * const heads = new ModuleDict({ cls: new Linear(64, 10), box: new Linear(64, 4) });
 * heads.get('cls')!.call(features);
 * // state-dict keys: cls.weight, cls.bias, box.weight, box.bias
 * ```
 */
export class ModuleDict<M extends Module = Module> extends Module {
  constructor(modules: Readonly<Record<string, M>> | ReadonlyMap<string, M> | Iterable<readonly [string, M]> = {}) {
    super();
    this.update(modules);
  }

  get size(): number {
    return this.ownModules().length;
  }

  get(key: string): M | undefined {
    return this.ownModules().find(([k]) => k === key)?.[1] as M | undefined;
  }

  has(key: string): boolean {
    return this.ownModules().some(([k]) => k === key);
  }

  /** Adds or replaces (keeping its position) the module under `key`. */
  set(key: string, module: M): this {
    this.registerModule(key, checkModule('ModuleDict.set', module, `value for "${key}"`));
    return this;
  }

  /** Adds every entry of `modules` in order. */
  update(modules: Readonly<Record<string, M>> | ReadonlyMap<string, M> | Iterable<readonly [string, M]>): this {
    const entries: Iterable<readonly [string, M]> =
      modules instanceof Map || Symbol.iterator in Object(modules) ? (modules as Iterable<readonly [string, M]>) : Object.entries(modules as Record<string, M>);
    for (const [k, m] of entries) this.set(k, m);
    return this;
  }

  /** Removes `key` and returns its module (PyTorch `pop`). */
  delete(key: string): M | undefined {
    const m = this.get(key);
    if (m) this.removeMember(key);
    return m;
  }

  clear(): void {
    for (const [k] of this.ownModules()) this.removeMember(k);
  }

  keys(): string[] {
    return this.ownModules().map(([k]) => k);
  }
  values(): M[] {
    return this.ownModules().map(([, m]) => m as M);
  }
  entries(): [string, M][] {
    return this.ownModules() as [string, M][];
  }

  [Symbol.iterator](): Iterator<[string, M]> {
    return this.entries()[Symbol.iterator]();
  }

  forward(): never {
    throw new OpError('ModuleDict', 'ModuleDict is a container with no forward; look modules up by key and call them');
  }
}
