/**
 * Tensor, storage and the dispatch engine: every primitive goes through `runPrim`, which checks
 * inputs, infers the output, calls the backend kernel and records the autograd node.
 */
import { type Backend, type Kernel, KernelFallback, type KernelTensor } from './backend.js';
import { referenceKernels } from './backends/reference/index.js';
import { bytesPerElement, type DType, isFloat, type TypedArray } from './dtype.js';
import { INFER, type PrimAttrs, type PrimName } from './prims.js';
import { fmtShape, OpError, type Shape, shapeSize } from './shape.js';
import { getBackend, recordFallback } from './registry.js';

/** A backend buffer shared by a tensor and its reshapes; released when the last user lets go. */
export class Storage {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly handle: unknown,
    readonly bytes: number,
  ) {
    const m = memoryOf(backend.name);
    m.buffers++;
    m.bytes += bytes;
  }
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) {
      const m = memoryOf(this.backend.name);
      m.buffers--;
      m.bytes -= this.bytes;
      this.backend.release(this.handle);
    }
  }
}

export interface GradNode {
  readonly prim: PrimName;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
  readonly output: Tensor;
  /** Set once backward has run without retainGraph. */
  freed: boolean;
}

export type GradHook = (grad: Tensor) => Tensor | void;

// ---- engine state --------------------------------------------------------------------------

const backendMemory = new Map<string, { buffers: number; bytes: number }>();
function memoryOf(name: string) {
  let m = backendMemory.get(name);
  if (!m) backendMemory.set(name, (m = { buffers: 0, bytes: 0 }));
  return m;
}
let liveTensors = 0;
let nextId = 1;
let gradEnabled = true;
const scopeStack: Tensor[][] = [];

// Safety net for tensors dropped without dispose(): the GC eventually returns their buffers.
const finalizer = new FinalizationRegistry<Storage>((storage) => {
  liveTensors--;
  storage.release();
});
/**
 * Registering with the finalizer costs about a microsecond per tensor (5x the rest of an op's
 * dispatch), and a tensor created inside `scope()` is freed by the scope anyway; so it is
 * registered only once it outlives every scope: returned to the top level, or `keep()`-ed.
 */
function guard(t: Tensor): void {
  if (t.guarded || !t.storage) return;
  t.guarded = true;
  finalizer.register(t, t.storage, t);
}

export interface MemoryInfo {
  /** Tensors created and not yet disposed (or collected). */
  tensors: number;
  /** Backend buffers alive across all backends, and their bytes. */
  buffers: number;
  bytes: number;
  backends: Record<string, { buffers: number; bytes: number }>;
}

export function memory(): MemoryInfo {
  let buffers = 0;
  let bytes = 0;
  const backends: Record<string, { buffers: number; bytes: number }> = {};
  for (const [name, m] of backendMemory) {
    buffers += m.buffers;
    bytes += m.bytes;
    backends[name] = { ...m };
  }
  return { tensors: liveTensors, buffers, bytes, backends };
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with gradient recording off (like `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
function withGradMode<T>(mode: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = mode;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

function collectTensors(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (value instanceof Tensor) into.add(value);
  else if (depth < 4 && value && typeof value === 'object') {
    for (const v of Array.isArray(value) ? value : value instanceof Map ? value.values() : Object.values(value)) collectTensors(v, into, depth + 1);
  }
}

/** Adds the tensors a recorded graph still needs for backward (unfreed node inputs, transitively). */
function collectGraph(roots: Set<Tensor>): void {
  const stack = [...roots];
  while (stack.length) {
    const node = stack.pop()!.node;
    if (!node || node.freed) continue;
    for (const input of node.inputs) {
      if (!roots.has(input)) {
        roots.add(input);
        stack.push(input);
      }
    }
  }
}

/**
 * Runs `fn` and disposes every tensor it created, except those it returns (found in arrays, maps
 * and plain objects up to 4 levels deep), the tensors their autograd graph still needs for
 * backward, and those marked with `keep()`. Survivors move to the enclosing scope. `fn` must be
 * synchronous: async work escapes the scope.
 */
export function scope<T>(fn: () => T): T {
  const created: Tensor[] = [];
  scopeStack.push(created);
  let result: T | undefined;
  let ok = false;
  try {
    result = fn();
    if (result instanceof Promise) throw new TypeError('scope: fn returned a Promise; scopes only track synchronous work');
    ok = true;
  } finally {
    scopeStack.pop();
    const returned = new Set<Tensor>();
    if (ok) {
      collectTensors(result, returned);
      collectGraph(returned);
    }
    const parent = scopeStack[scopeStack.length - 1];
    for (const t of created) {
      if (t.kept || t.isDisposed) continue;
      if (!returned.has(t)) t.dispose();
      else if (parent) parent.push(t);
      else guard(t);
    }
  }
  return result as T;
}

/** Exempts a tensor from scope disposal (parameters, optimiser state, gradients). */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  guard(t);
  return t;
}

// ---- tensor --------------------------------------------------------------------------------

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** @internal */ storage: Storage | null;
  requiresGrad = false;
  /** Accumulated gradient of a leaf (or of a tensor that called `retainGrad()`). */
  grad: Tensor | null = null;
  /** @internal the op that produced this tensor, when it was recorded for autograd */
  node: GradNode | null = null;
  /** @internal */ hooks: GradHook[] | null = null;
  /** @internal */ retainsGrad = false;
  /** @internal exempt from scope disposal */ kept = false;
  /** @internal registered with the finalizer (see `guard`) */ guarded = false;

  /** @internal use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType) {
    this.storage = storage;
    this.shape = shape;
    this.dtype = dtype;
    liveTensors++;
    const open = scopeStack[scopeStack.length - 1];
    if (open) open.push(this);
    else guard(this);
  }

  get backend(): Backend {
    return this.live('backend').backend;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return shapeSize(this.shape);
  }
  numel(): number {
    return this.size;
  }
  get isLeaf(): boolean {
    return this.node === null;
  }
  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** @internal */
  live(op: string): Storage {
    if (!this.storage) throw new OpError(op, `tensor #${this.id} ${fmtShape(this.shape)} was disposed`);
    return this.storage;
  }

  /** @internal the view a kernel gets */
  kernelView(op: string): KernelTensor {
    return { data: this.live(op).handle, shape: this.shape, dtype: this.dtype };
  }

  /** Copies the values out (a fresh typed array). */
  data(): Promise<TypedArray> {
    const s = this.live('data');
    return s.backend.read(s.handle, this.dtype, this.size);
  }

  /** Synchronous read, for backends that can (the reference backend always can). */
  dataSync(): TypedArray {
    const s = this.live('dataSync');
    if (!s.backend.readSync) throw new OpError('dataSync', `backend '${s.backend.name}' cannot read synchronously; use await t.data()`);
    return s.backend.readSync(s.handle, this.dtype, this.size);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new OpError('item', `tensor must have one element, has shape ${fmtShape(this.shape)}`);
    return this.dataSync()[0]!;
  }

  /** Values as nested arrays (for printing and tests). */
  tolist(): unknown {
    const flat = Array.from(this.dataSync() as ArrayLike<number>);
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return flat[offset];
      const stride = shapeSize(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** Frees the backend buffer now (it is shared with reshapes until they are disposed too). */
  dispose(): void {
    if (!this.storage) return;
    if (this.guarded) finalizer.unregister(this);
    this.guarded = false;
    liveTensors--;
    this.storage.release();
    this.storage = null;
    // The node stays: backward can still pass through this tensor, and a rule that needs its
    // values fails loudly naming it instead of silently dropping the gradient.
    if (this.grad && !this.grad.isDisposed) this.grad.dispose();
    this.grad = null;
  }

  /**
   * Replaces this tensor's values with `src`'s (same shape and dtype) without changing its identity,
   * so modules and optimisers that hold it see the update. Not recorded by autograd.
   */
  assign(src: Tensor): this {
    if (src.dtype !== this.dtype || src.shape.join() !== this.shape.join()) {
      throw new OpError('assign', `source ${fmtShape(src.shape)} ${src.dtype} does not match target ${fmtShape(this.shape)} ${this.dtype}`);
    }
    const next = src.live('assign');
    if (next.backend !== this.live('assign').backend) throw new OpError('assign', `source is on '${next.backend.name}', target on '${this.backend.name}'`);
    next.retain();
    this.storage!.release();
    this.storage = next;
    if (this.guarded) {
      finalizer.unregister(this);
      finalizer.register(this, next, this);
    }
    return this;
  }

  /** A tensor sharing this one's values, cut off from the autograd graph. */
  detach(): Tensor {
    return new Tensor(this.live('detach').retain(), this.shape, this.dtype);
  }

  /** Marks a leaf as needing gradients (in place, returns this). */
  requiresGrad_(value = true): this {
    if (value && !isFloat(this.dtype)) throw new OpError('requiresGrad_', `only floating-point tensors can require gradients, got ${this.dtype}`);
    if (!value && this.node) throw new OpError('requiresGrad_', 'cannot turn off gradients of a non-leaf tensor; use detach()');
    this.requiresGrad = value;
    return this;
  }

  /** Calls `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces the gradient. */
  registerHook(hook: GradHook): { remove(): void } {
    if (!this.requiresGrad) throw new OpError('registerHook', "cannot register a hook on a tensor that doesn't require grad");
    (this.hooks ??= []).push(hook);
    return { remove: () => void (this.hooks = this.hooks?.filter((h) => h !== hook) ?? null) };
  }

  /** Keeps `.grad` for this non-leaf tensor after backward. */
  retainGrad(): this {
    if (!this.requiresGrad) throw new OpError('retainGrad', "tensor doesn't require grad");
    this.retainsGrad = true;
    return this;
  }

  toString(): string {
    if (this.isDisposed) return `Tensor(disposed, shape=${fmtShape(this.shape)})`;
    const body = this.size <= 64 ? JSON.stringify(this.tolist()) : `[...${this.size} values]`;
    return `Tensor(${body}, shape=${fmtShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** @internal wraps a fresh backend handle in a tensor. */
export function wrap(backend: Backend, handle: unknown, shape: Shape, dtype: DType): Tensor {
  return new Tensor(new Storage(backend, handle, shapeSize(shape) * bytesPerElement(dtype)), shape, dtype);
}

/** @internal creates a tensor from host data on a backend (ownership of `data` passes). */
export function fromData(data: TypedArray, shape: Shape, dtype: DType, backend: Backend = getBackend()): Tensor {
  checkDType('tensor', backend, dtype);
  return wrap(backend, backend.upload(data, dtype), shape, dtype);
}

function checkDType(op: string, backend: Backend, dtype: DType): void {
  if (backend.dtypes && !backend.dtypes.includes(dtype)) {
    throw new OpError(op, `backend '${backend.name}' does not support ${dtype} (it supports ${backend.dtypes.join(', ')}); cast first or use another backend`);
  }
}

/**
 * Copies `t`'s values to `backend`, keeping shape and dtype (the same tensor when it is already
 * there). The copy is a leaf: it keeps `requiresGrad` of a leaf source; moving a tensor from the
 * middle of a recorded graph is refused, because the move is not differentiable.
 */
export function toBackend(t: Tensor, backend: Backend | string): Tensor {
  const target = typeof backend === 'string' ? getBackend(backend) : backend;
  const source = t.live('to').backend;
  if (source === target) return t;
  if (t.node) throw new OpError('to', `tensor #${t.id} was computed by a recorded op; moving it to '${target.name}' would cut the graph: detach() it or move the leaves instead`);
  checkDType('to', target, t.dtype);
  if (!source.readSync) throw new OpError('to', `backend '${source.name}' cannot read synchronously; read with await t.data() and create the tensor on '${target.name}'`);
  const moved = wrap(target, target.upload(source.readSync(t.storage!.handle, t.dtype, t.size), t.dtype), t.shape, t.dtype);
  if (t.requiresGrad) moved.requiresGrad = true;
  return moved;
}

// ---- dispatch ------------------------------------------------------------------------------

/** Runs the reference kernel for a primitive a backend lacks (or declines), moving data both ways. */
function fallback<K extends PrimName>(backend: Backend, name: K, inputs: readonly Tensor[], attrs: PrimAttrs[K], out: { shape: number[]; dtype: DType }, reason: string): unknown {
  // Fused composites have no reference kernel: ops run their decomposition on such backends.
  const reference = referenceKernels[name] as Kernel<K, TypedArray> | undefined;
  if (!reference) throw new OpError(name, `backend '${backend.name}' has no fused '${name}' kernel (${reason}); call the composite op, which decomposes it into primitives`);
  if (!backend.readSync) throw new OpError(name, `backend '${backend.name}' has no '${name}' kernel (${reason}) and cannot read synchronously for the reference fallback`);
  recordFallback(backend.name, name, reason);
  const views = inputs.map((t) => ({ data: t.dataSync(), shape: t.shape, dtype: t.dtype }));
  const result = reference(views, attrs, out);
  return backend.upload(result, out.dtype);
}

/** Runs primitive `name`; the single entry point between ops and backends. */
export function runPrim<K extends PrimName>(name: K, inputs: readonly Tensor[], attrs: PrimAttrs[K]): Tensor {
  const first = inputs[0]!;
  const backend = first.live(name).backend;
  for (let i = 1; i < inputs.length; i++) {
    const other = inputs[i]!.live(name).backend;
    if (other !== backend) throw new OpError(name, `input ${i} is on backend '${other.name}' but input 0 is on '${backend.name}'; move one with .to()`);
  }
  const out = INFER[name](inputs, attrs);
  let result: Tensor;
  if (name === 'reshape') {
    result = new Tensor(first.storage!.retain(), out.shape, out.dtype);
  } else {
    if (backend.dtypes) checkDType(name, backend, out.dtype);
    const kernel = backend.kernels[name] as Kernel<K> | undefined;
    let handle: unknown;
    if (!kernel) handle = fallback(backend, name, inputs, attrs, out, backend.missingReasons?.[name] ?? 'no kernel');
    else {
      try {
        handle = kernel(inputs.map((t) => t.kernelView(name)), attrs, out);
      } catch (e) {
        if (!(e instanceof KernelFallback)) throw e;
        handle = fallback(backend, name, inputs, attrs, out, e.reason);
      }
    }
    result = wrap(backend, handle, out.shape, out.dtype);
  }
  if (gradEnabled && isFloat(out.dtype)) {
    for (const t of inputs) {
      if (t.requiresGrad) {
        result.requiresGrad = true;
        result.node = { prim: name, inputs, attrs, output: result, freed: false };
        break;
      }
    }
  }
  return result;
}
