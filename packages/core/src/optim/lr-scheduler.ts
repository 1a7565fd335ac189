/**
 * Learning-rate schedulers with PyTorch's `torch.optim.lr_scheduler` semantics, value for value:
 * construction records each group's `initialLr` and performs the first step (epoch 0); each `step()`
 * computes the next rates from the current ones (the recursive, chainable form PyTorch uses), and
 * `step(epoch)` jumps to an epoch with the closed form where one exists. Call `optimizer.step()`
 * before `scheduler.step()`.
 *
 *   const sched = new SequentialLR(opt, {
 *     schedulers: [new LinearLR(opt, { startFactor: 0.1, totalIters: 5 }), new CosineAnnealingLR(opt, { tMax: 95 })],
 *     milestones: [5],
 *   });
 */
import { OpError } from '../shape.js';
import type { BaseHyper, Optimizer } from './optimizer.js';

export interface SchedulerOptions {
  /** Index of the last epoch; -1 (default) starts fresh, other values resume and need `initialLr` in every group. */
  lastEpoch?: number;
}

/** What `stateDict()` returns: plain data (numbers and arrays), safe to serialise as JSON. */
export type SchedulerStateDict = Record<string, unknown>;

function positiveInt(op: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new OpError(op, `${name} must be a positive integer, got ${v}`);
  return v;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer<BaseHyper>;
  /** Index of the last epoch (step) taken; 0 right after construction. */
  lastEpoch: number;
  /** Each group's `initialLr`, the reference the closed forms scale. */
  baseLrs: number[];
  /** How many times `step()` has run since construction (the initial step counts as 1). */
  stepCount = 0;
  protected lastLr: number[] = [];
  /** True only during the construction step. */
  protected isInitial = false;

  constructor(optimizer: Optimizer<BaseHyper>, lastEpoch = -1) {
    const name = this.constructor.name;
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) throw new OpError(name, 'expected an Optimizer');
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) throw new OpError(name, `lastEpoch must be an integer >= -1, got ${lastEpoch}`);
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((group, i) => {
      if (lastEpoch === -1) group.initialLr ??= group.lr;
      else if (group.initialLr === undefined) {
        throw new OpError(name, `group ${i} has no initialLr; resuming with lastEpoch ${lastEpoch} needs the optimizer state that a scheduler wrote (load the optimizer's state dict first)`);
      }
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /**
   * Resets the step count and takes the first step. Subclasses call it at the end of their
   * constructor, once their own fields exist. @internal (SequentialLR restarts its children with it)
   */
  initialStep(): void {
    this.stepCount = 0;
    this.isInitial = true;
    try {
      this.step();
    } finally {
      this.isInitial = false;
    }
  }

  /** The rates for `lastEpoch`, from the groups' current rates (recursive form). */
  abstract getLr(): number[];

  /** The rates for `lastEpoch` from `baseLrs` alone, where the schedule has a closed form. */
  closedFormLr(): number[] | null {
    return null;
  }

  /** Advances one epoch, or (deprecated in PyTorch, kept for parity) jumps to `epoch` using the closed form. */
  step(epoch?: number): void {
    this.stepCount++;
    this.updateLr(epoch);
  }

  /** @internal sets `lastEpoch` (one more, or `epoch`) and writes the new rates into the optimizer. */
  updateLr(epoch?: number): void {
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      if (!Number.isInteger(epoch) || epoch < 0) throw new OpError(this.constructor.name, `epoch must be a non-negative integer, got ${epoch}`);
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    const groups = this.optimizer.paramGroups;
    if (values.length !== groups.length) throw new OpError(this.constructor.name, `computed ${values.length} rates for ${groups.length} parameter groups`);
    groups.forEach((g, i) => (g.lr = values[i]!));
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The rates the last step set, one per parameter group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Fields that are not state (references and functions); subclasses add theirs. */
  protected nonStateKeys(): string[] {
    return ['optimizer', 'isInitial'];
  }

  /** Every field but the optimizer (and functions), deep-copied; PyTorch saves `__dict__` the same way. */
  stateDict(): SchedulerStateDict {
    const skip = new Set(this.nonStateKeys());
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) if (!skip.has(k)) out[k] = clone(v);
    return out;
  }

  loadStateDict(state: SchedulerStateDict): void {
    const skip = new Set(this.nonStateKeys());
    for (const [k, v] of Object.entries(state)) {
      if (skip.has(k)) continue;
      if (!(k in this)) throw new OpError(`${this.constructor.name}.loadStateDict`, `unknown key '${k}'`);
      (this as Record<string, unknown>)[k] = clone(v);
    }
  }
}

// ---- schedules ----------------------------------------------------------------------------

export interface StepLROptions extends SchedulerOptions {
  /** Decay every `stepSize` epochs. */
  stepSize: number;
  /** Multiplicative decay (default 0.1). */
  gamma?: number;
}

/** `lr = baseLr * gamma^floor(epoch / stepSize)`. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: Optimizer<BaseHyper>, opts: StepLROptions) {
    super(optimizer, opts.lastEpoch);
    this.stepSize = positiveInt('StepLR', 'stepSize', opts.stepSize);
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  getLr(): number[] {
    const lrs = this.groupLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }
  override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

export interface MultiStepLROptions extends SchedulerOptions {
  /** Epochs at which to decay; an epoch listed n times decays by gamma^n. */
  milestones: readonly number[];
  gamma?: number;
}

/** `lr = baseLr * gamma^(number of milestones <= epoch)`. */
export class MultiStepLR extends LRScheduler {
  /** Sorted, with repeats. */
  milestones: number[];
  gamma: number;
  constructor(optimizer: Optimizer<BaseHyper>, opts: MultiStepLROptions) {
    super(optimizer, opts.lastEpoch);
    if (!Array.isArray(opts.milestones) || opts.milestones.some((m) => !Number.isInteger(m))) {
      throw new OpError('MultiStepLR', `milestones must be a list of integers, got ${JSON.stringify(opts.milestones)}`);
    }
    this.milestones = [...opts.milestones].sort((a, b) => a - b);
    this.gamma = opts.gamma ?? 0.1;
    this.initialStep();
  }
  getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    const lrs = this.groupLrs();
    return hits === 0 ? lrs : lrs.map((lr) => lr * this.gamma ** hits);
  }
  override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

export interface CosineAnnealingLROptions extends SchedulerOptions {
  /** Half-period in epochs: the rate falls from baseLr to etaMin over tMax epochs, then rises again. */
  tMax: number;
  /** Lowest rate (default 0). */
  etaMin?: number;
}

/**
 * SGDR's cosine annealing without restarts (Loshchilov & Hutter, 2017, eq. 5):
 * `lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * epoch / tMax)) / 2`, stepped recursively as
 * PyTorch does (so it composes with other changes to the rate) and periodic beyond tMax.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(optimizer: Optimizer<BaseHyper>, opts: CosineAnnealingLROptions) {
    super(optimizer, opts.lastEpoch);
    this.tMax = positiveInt('CosineAnnealingLR', 'tMax', opts.tMax);
    this.etaMin = opts.etaMin ?? 0;
    this.initialStep();
  }
  getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    const groups = this.optimizer.paramGroups;
    if (this.isInitial) return this.groupLrs();
    if (this.stepCount === 1 && e > 0) return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    // JS % truncates where Python's floors, but both give 0 at the same epochs, which is all this asks.
    const r = (e - 1 - T) % (2 * T);
    if (r === 0) return groups.map((g, i) => g.lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    return groups.map((g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin);
  }
  override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }
}

export interface LinearLROptions extends SchedulerOptions {
  /** Factor at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor from `totalIters` on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs to go from start to end factor (default 5). */
  totalIters?: number;
}

/** Linear warm-up or decay of a multiplicative factor: `lr = baseLr * lerp(start, end, min(epoch, totalIters) / totalIters)`. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(optimizer: Optimizer<BaseHyper>, opts: LinearLROptions = {}) {
    super(optimizer, opts.lastEpoch);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = positiveInt('LinearLR', 'totalIters', opts.totalIters ?? 5);
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new OpError('LinearLR', `startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new OpError('LinearLR', `endFactor must be in [0, 1], got ${this.endFactor}`);
    this.initialStep();
  }
  getLr(): number[] {
    const lrs = this.groupLrs();
    const { startFactor: s, endFactor: f, totalIters: n, lastEpoch: e } = this;
    if (e === 0) return lrs.map((lr) => lr * s);
    if (this.isInitial || e > n) return lrs;
    return lrs.map((lr) => lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
  override closedFormLr(): number[] {
    const { startFactor: s, endFactor: f, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((f - s) * Math.min(n, this.lastEpoch)) / n));
  }
}

export type LrLambda = (epoch: number) => number;

export interface LambdaLROptions extends SchedulerOptions {
  /** Factor as a function of the epoch, one for all groups or one per group. */
  lrLambda: LrLambda | readonly LrLambda[];
}

/** `lr = baseLr * lrLambda(epoch)`. The functions are not part of the state dict. */
export class LambdaLR extends LRScheduler {
  lrLambdas: LrLambda[];
  constructor(optimizer: Optimizer<BaseHyper>, opts: LambdaLROptions) {
    super(optimizer, opts.lastEpoch);
    const n = optimizer.paramGroups.length;
    const fns = typeof opts.lrLambda === 'function' ? new Array<LrLambda>(n).fill(opts.lrLambda) : [...opts.lrLambda];
    if (fns.length !== n) throw new OpError('LambdaLR', `expected ${n} lrLambda functions (one per parameter group), got ${fns.length}`);
    fns.forEach((f, i) => {
      if (typeof f !== 'function') throw new OpError('LambdaLR', `lrLambda[${i}] is not a function`);
    });
    this.lrLambdas = fns;
    this.initialStep();
  }
  getLr(): number[] {
    return this.baseLrs.map((b, i) => b * this.lrLambdas[i]!(this.lastEpoch));
  }
  protected override nonStateKeys(): string[] {
    return [...super.nonStateKeys(), 'lrLambdas'];
  }
}

export interface SequentialLROptions extends SchedulerOptions {
  /** Schedulers of the same optimizer, each taking over at its milestone. */
  schedulers: readonly LRScheduler[];
  /** Epochs at which the next scheduler starts (one fewer than schedulers). */
  milestones: readonly number[];
}

/**
 * Runs `schedulers[i]` between `milestones[i-1]` and `milestones[i]`; each one restarts at its
 * milestone from epoch 0 of its closed form (e.g. linear warm-up, then cosine decay).
 */
export class SequentialLR extends LRScheduler {
  schedulers: LRScheduler[];
  milestones: number[];
  constructor(optimizer: Optimizer<BaseHyper>, opts: SequentialLROptions) {
    super(optimizer, opts.lastEpoch);
    const schedulers = [...opts.schedulers];
    if (schedulers.length === 0) throw new OpError('SequentialLR', 'expects at least one scheduler');
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) throw new OpError('SequentialLR', `schedulers[${i}] is not an LRScheduler`);
      if (s.optimizer !== optimizer) throw new OpError('SequentialLR', `schedulers[${i}] (${s.constructor.name}) belongs to a different optimizer`);
    });
    if (opts.milestones.length !== schedulers.length - 1) {
      throw new OpError('SequentialLR', `expects ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${opts.milestones.length}`);
    }
    this.schedulers = schedulers;
    this.milestones = [...opts.milestones];
    this.lastEpoch = (opts.lastEpoch ?? -1) + 1;
    // Undo what the children's construction did to the rates and epochs, then start the active one.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!;
    undo(this);
    const first = this.schedulers[bisectRight(this.milestones, 0)]!;
    first.initialStep();
    this.lastLr = first.getLastLr();
  }
  getLr(): number[] {
    return this.schedulers[bisectRight(this.milestones, this.lastEpoch)]!.getLastLr();
  }
  override step(): void {
    this.lastEpoch++;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const scheduler = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.updateLr(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }
  protected override nonStateKeys(): string[] {
    return [...super.nonStateKeys(), 'schedulers'];
  }
  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }
  override loadStateDict(state: SchedulerStateDict): void {
    const { schedulers } = state;
    if (!Array.isArray(schedulers) || schedulers.length !== this.schedulers.length) {
      throw new OpError('SequentialLR.loadStateDict', `expected ${this.schedulers.length} scheduler states, got ${Array.isArray(schedulers) ? schedulers.length : typeof schedulers}`);
    }
    super.loadStateDict(state);
    schedulers.forEach((s, i) => this.schedulers[i]!.loadStateDict(s as SchedulerStateDict));
  }
}

function undo(s: LRScheduler): void {
  if (s instanceof SequentialLR) for (const c of s.schedulers) undo(c);
  else s.lastEpoch--;
}

/** Number of entries of sorted `xs` that are <= x (Python's bisect_right). */
function bisectRight(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < xs[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
