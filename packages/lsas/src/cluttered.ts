/**
 * "Cluttered MNIST" with known object boxes, for the attention-bias experiment of LSAS (research
 * notes 1.9; the paper measures bias against label regions of natural-image datasets). Each canvas
 * holds one target digit pasted at a random place and a few random crops of other digits (of other
 * classes) as clutter, placed so they do not touch the target's box; the label is the target's
 * class and the box is the tight box of the target's ink (pixels above `inkThreshold`).
 */
import { Generator, OpError, tensor, type Tensor } from '@methodzoo/core';
import type { Box } from './bias.js';

export interface ClutteredOptions {
  /** Canvases to make. */
  count: number;
  /** Canvas side (48). */
  canvasSize?: number;
  /** Inclusive range of distractor crops per canvas ([2, 4]). */
  distractors?: [number, number];
  /** Side of each distractor crop (10). */
  cropSize?: number;
  /** Pixels above this are ink for the box (0.1). */
  inkThreshold?: number;
  seed?: number;
}

export interface ClutteredSet {
  /** [count, 1, S, S] float32 in [0, 1]. */
  x: Tensor;
  /** [count] int32 class of the target digit. */
  y: Tensor;
  boxes: Box[];
  /** Index of each target in the source. */
  sourceIndex: Int32Array;
  /** Distractors actually placed per canvas (a placement that cannot avoid the box is skipped). */
  distractorCounts: Int32Array;
}

/**
 * Builds cluttered canvases from source digits x [M, 1, h, w] in [0, 1] with labels y [M]. The same
 * seed gives the same canvases.
 */
export function clutteredMnist(source: { x: Tensor; y: Tensor }, opts: ClutteredOptions): ClutteredSet {
  const S = opts.canvasSize ?? 48;
  const [dLo, dHi] = opts.distractors ?? [2, 4];
  const crop = opts.cropSize ?? 10;
  const ink = opts.inkThreshold ?? 0.1;
  const { count } = opts;
  if (source.x.ndim !== 4 || source.x.shape[1] !== 1) throw new OpError('clutteredMnist', `source.x must be [M, 1, h, w], got [${source.x.shape.join(', ')}]`);
  const [m, , h, w] = source.x.shape as [number, number, number, number];
  if (source.y.ndim !== 1 || source.y.shape[0] !== m) throw new OpError('clutteredMnist', `source.y must be [${m}], got [${source.y.shape.join(', ')}]`);
  if (!Number.isInteger(count) || count < 0) throw new OpError('clutteredMnist', `count must be a non-negative integer, got ${count}`);
  if (S < h || S < w) throw new OpError('clutteredMnist', `canvasSize must be at least the digit size ${h}x${w}, got ${S}`);
  if (!(crop >= 1 && crop <= Math.min(h, w, S))) throw new OpError('clutteredMnist', `cropSize must be in 1..${Math.min(h, w, S)}, got ${crop}`);
  if (!(Number.isInteger(dLo) && Number.isInteger(dHi) && dLo >= 0 && dHi >= dLo)) throw new OpError('clutteredMnist', `distractors must be [lo, hi] with 0 <= lo <= hi, got [${dLo}, ${dHi}]`);
  if (m < 1) throw new OpError('clutteredMnist', 'source must hold at least one digit');
  const src = source.x.dataSync();
  const labels = source.y.dataSync();
  const g = new Generator(opts.seed ?? 0);
  const out = new Float32Array(count * S * S);
  const ys = new Int32Array(count);
  const idx = new Int32Array(count);
  const placed = new Int32Array(count);
  const boxes: Box[] = [];
  const per = h * w;
  for (let i = 0; i < count; i++) {
    const base = i * S * S;
    const t = g.integer(0, m);
    idx[i] = t;
    ys[i] = labels[t]!;
    const ox = g.integer(0, S - w + 1);
    const oy = g.integer(0, S - h + 1);
    let x0 = S, y0 = S, x1 = -1, y1 = -1;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const v = src[t * per + r * w + c]!;
        out[base + (oy + r) * S + ox + c] = v;
        if (v > ink) {
          x0 = Math.min(x0, ox + c); x1 = Math.max(x1, ox + c);
          y0 = Math.min(y0, oy + r); y1 = Math.max(y1, oy + r);
        }
      }
    }
    const box: Box = x1 < 0 ? { x: ox, y: oy, width: w, height: h } : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
    boxes.push(box);
    const want = dLo + g.integer(0, dHi - dLo + 1);
    for (let d = 0; d < want; d++) {
      // A digit of another class when the source has one (a few tries), else any digit.
      let o = g.integer(0, m);
      for (let tries = 0; tries < 10 && labels[o] === labels[t]; tries++) o = g.integer(0, m);
      // Crops from the digit's central region, where the ink is.
      const cx = Math.max(0, Math.min(w - crop, Math.floor((w - crop) / 2) + g.integer(-4, 5)));
      const cy = Math.max(0, Math.min(h - crop, Math.floor((h - crop) / 2) + g.integer(-4, 5)));
      let px = -1, py = -1;
      for (let tries = 0; tries < 30; tries++) {
        const qx = g.integer(0, S - crop + 1);
        const qy = g.integer(0, S - crop + 1);
        const apart = qx + crop <= box.x || qx >= box.x + box.width || qy + crop <= box.y || qy >= box.y + box.height;
        if (apart) { px = qx; py = qy; break; }
      }
      if (px < 0) continue;
      placed[i]!++;
      for (let r = 0; r < crop; r++) {
        for (let c = 0; c < crop; c++) {
          const p = base + (py + r) * S + px + c;
          out[p] = Math.max(out[p]!, src[o * per + (cy + r) * w + cx + c]!);
        }
      }
    }
  }
  return { x: tensor(out, { shape: [count, 1, S, S] }), y: tensor(ys, { shape: [count], dtype: 'int32' }), boxes, sourceIndex: idx, distractorCounts: placed };
}
