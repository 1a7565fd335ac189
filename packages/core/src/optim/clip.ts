/**
 * Gradient clipping, PyTorch `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`. Gradients are
 * rescaled in place (`assign`), so `.grad` keeps its identity.
 */
import { abs, add, cast, div, max, min, minimum, mul, ne, pow, sqrt, sum } from '../ops/basic.js';
import { clamp, stack } from '../ops/composite.js';
import { OpError } from '../shape.js';
import { noGrad, scope, Tensor } from '../tensor.js';
import { tensor } from '../creation.js';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite instead of scaling by it (reads the norm back). */
  errorIfNonfinite?: boolean;
}

function gradsOf(params: Tensor | Iterable<Tensor>): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.flatMap((p) => (p.grad ? [p.grad] : []));
}

/** `torch.linalg.vector_norm(x, ord)` over all elements, for the orders clipping uses. */
function vectorNorm(x: Tensor, ord: number): Tensor {
  if (ord === Infinity) return max(abs(x));
  if (ord === -Infinity) return min(abs(x));
  if (ord === 0) return sum(cast(ne(x, 0), x.dtype));
  if (ord === 1) return sum(abs(x));
  if (ord === 2) return sqrt(sum(mul(x, x)));
  return pow(sum(pow(abs(x), ord)), 1 / ord);
}

/**
 * Scales the gradients of `params` so that their joint `normType`-norm is at most `maxNorm`:
 * `grad *= min(maxNorm / (total + 1e-6), 1)`. Returns the total norm before clipping (a 0-d tensor;
 * 0 when no parameter has a gradient). `normType` may be `Infinity`.
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, normType = 2, opts: ClipGradNormOptions = {}): Tensor {
  if (!Number.isFinite(maxNorm)) throw new OpError('clipGradNorm', `maxNorm must be a finite number, got ${maxNorm}`);
  if (Number.isNaN(normType)) throw new OpError('clipGradNorm', 'normType must be a number or Infinity, got NaN');
  const grads = gradsOf(params);
  if (grads.length === 0) return tensor(0);
  return noGrad(() =>
    scope(() => {
      const dtype = grads[0]!.dtype;
      const norms = grads.map((g) => cast(vectorNorm(g, normType), dtype));
      const total = vectorNorm(stack(norms), normType);
      if (opts.errorIfNonfinite && !Number.isFinite(total.item())) {
        throw new OpError(
          'clipGradNorm',
          `the total norm of order ${normType} of the gradients is non-finite (${total.item()}), so it cannot be clipped; pass errorIfNonfinite: false to scale by it anyway`,
        );
      }
      // Multiplying by the clamped coefficient even when it is 1 avoids a readback.
      const coef = minimum(div(maxNorm, add(total, 1e-6)), 1);
      for (const g of grads) g.assign(mul(g, cast(coef, g.dtype)));
      return total;
    }),
  );
}

/** Clamps every gradient of `params` to [-clipValue, clipValue] in place. */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new OpError('clipGradValue', `clipValue must be >= 0, got ${clipValue}`);
  noGrad(() =>
    scope(() => {
      for (const g of gradsOf(params)) g.assign(clamp(g, -clipValue, clipValue));
    }),
  );
}
