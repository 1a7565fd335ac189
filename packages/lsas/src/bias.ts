/**
 * Attention-bias metrics of LSAS (arXiv 2305.05200, section I). The paper defines the two biases in
 * words and does not publish its formula, threshold or layer, so this is our operational
 * definition (research notes, section 1.5), every knob exposed:
 *
 *   F = { p : H(p) >= threshold }        the focus region of a heat map H in [0, 1]
 *   G = the label's object box
 *   iof          = |F ∩ G| / |F|         (0 when F is empty)
 *   positionBias = |F ∩ G| == 0           the focus lies entirely on label-independent pixels
 *                  (or iof < positionEps when positionEps > 0)
 *   rangeBias    = not positionBias and |F \ G| / |F| > eps
 *                                         the focus touches the object but is not contained in it
 *
 * An empty focus region counts as position bias (nothing of the object is attended).
 */
import { OpError, type Tensor } from '@methodzoo/core';

/** A pixel box: columns x .. x + width - 1, rows y .. y + height - 1. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface BiasOptions {
  /** tau: pixels with H >= tau are the focus (0.5). */
  threshold?: number;
  /** Range bias needs more than this fraction of the focus outside the box (0). */
  eps?: number;
  /** Soft position bias: iof below this counts as position bias (0: only iof == 0 does). */
  positionEps?: number;
}

export interface AttentionBias {
  positionBias: boolean;
  rangeBias: boolean;
  /** |F ∩ G| / |F|. */
  iof: number;
  /** |F|, in pixels. */
  focusArea: number;
  /** |F ∩ G|, in pixels. */
  overlapArea: number;
}

/** A heat map: a Tensor [H, W] (or [1, H, W]) or plain values with their size. */
export type HeatMap = Tensor | { data: ArrayLike<number>; height: number; width: number };

function readMap(cam: HeatMap): { data: ArrayLike<number>; height: number; width: number } {
  if ('dataSync' in cam) {
    const s = cam.shape;
    if (!(s.length === 2 || (s.length === 3 && s[0] === 1))) throw new OpError('attentionBias', `cam must be [H, W] or [1, H, W], got [${s.join(', ')}]`);
    return { data: cam.dataSync(), height: s[s.length - 2]!, width: s[s.length - 1]! };
  }
  if (cam.data.length !== cam.height * cam.width) throw new OpError('attentionBias', `cam data has ${cam.data.length} values, expected height * width = ${cam.height * cam.width}`);
  return cam;
}

function biasOf(data: ArrayLike<number>, offset: number, height: number, width: number, box: Box, opts: BiasOptions): AttentionBias {
  const tau = opts.threshold ?? 0.5;
  const eps = opts.eps ?? 0;
  const peps = opts.positionEps ?? 0;
  let focus = 0;
  let overlap = 0;
  for (let r = 0; r < height; r++) {
    const inRows = r >= box.y && r < box.y + box.height;
    for (let c = 0; c < width; c++) {
      if (data[offset + r * width + c]! < tau) continue;
      focus++;
      if (inRows && c >= box.x && c < box.x + box.width) overlap++;
    }
  }
  const iof = focus > 0 ? overlap / focus : 0;
  const positionBias = overlap === 0 || (peps > 0 && iof < peps);
  const rangeBias = !positionBias && 1 - iof > eps;
  return { positionBias, rangeBias, iof, focusArea: focus, overlapArea: overlap };
}

/** Position bias, range bias and overlap of one heat map against its object box. */
export function attentionBias(cam: HeatMap, box: Box, opts: BiasOptions = {}): AttentionBias {
  const m = readMap(cam);
  return biasOf(m.data, 0, m.height, m.width, box, opts);
}

export interface BiasRates {
  /** Fraction of the counted samples with position bias. */
  positionBiasRate: number;
  rangeBiasRate: number;
  /** Fraction with neither bias (focus inside the box). */
  insideRate: number;
  meanIof: number;
  /** Samples counted. */
  count: number;
  perSample: AttentionBias[];
}

/**
 * Dataset-level rates over maps [N, H, W] and one box per sample; `include` (e.g. "correctly
 * classified") restricts which samples count.
 */
export function biasRates(cams: Tensor, boxes: readonly Box[], opts: BiasOptions & { include?: readonly boolean[] } = {}): BiasRates {
  if (cams.ndim !== 3) throw new OpError('biasRates', `cams must be [N, H, W], got [${cams.shape.join(', ')}]`);
  const [n, h, w] = cams.shape as [number, number, number];
  if (boxes.length !== n) throw new OpError('biasRates', `boxes must have one box per map (${n}), got ${boxes.length}`);
  if (opts.include && opts.include.length !== n) throw new OpError('biasRates', `include must have ${n} entries, got ${opts.include.length}`);
  const data = cams.dataSync();
  const perSample: AttentionBias[] = [];
  let pos = 0;
  let range = 0;
  let iof = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const b = biasOf(data, i * h * w, h, w, boxes[i]!, opts);
    perSample.push(b);
    if (opts.include && !opts.include[i]) continue;
    count++;
    pos += Number(b.positionBias);
    range += Number(b.rangeBias);
    iof += b.iof;
  }
  const rate = (v: number) => (count > 0 ? v / count : Number.NaN);
  return { positionBiasRate: rate(pos), rangeBiasRate: rate(range), insideRate: rate(count - pos - range), meanIof: rate(iof), count, perSample };
}
