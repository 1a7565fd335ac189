export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Error raised by an op; the message always names the op and the offending argument. */
export class OpError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'OpError';
  }
}

/** NumPy/PyTorch broadcasting of two shapes; throws naming the op when they are incompatible. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new OpError(op, `shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against `ndim`, naming the op and argument on error. */
export function normAxis(op: string, axis: number, ndim: number, arg = 'dim'): number {
  if (!Number.isInteger(axis) || axis < -Math.max(ndim, 1) || axis >= Math.max(ndim, 1)) {
    throw new OpError(op, `${arg}=${axis} is out of range for a tensor with ${ndim} dimension(s)`);
  }
  return axis < 0 ? axis + Math.max(ndim, 1) : axis;
}

export function normAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normAxis(op, a, ndim));
  if (new Set(out).size !== out.length) throw new OpError(op, `dim ${JSON.stringify(list)} repeats an axis`);
  return out.sort((x, y) => x - y);
}

export function assertShape(op: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new OpError(op, `${arg} must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}
