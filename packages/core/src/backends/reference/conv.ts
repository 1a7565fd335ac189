import type { TypedArray } from '../../dtype.js';
import type { Conv2dGeometry } from '../../prims.js';

/**
 * The geometry of one kernel tap (ki, kj): which output rows and columns see an input pixel inside
 * the image (the rest see zero padding), and where that pixel is.
 */
interface Tap {
  /** Output rows [oy0, oy1) and columns [ox0, ox1) whose input lies inside the image. */
  oy0: number;
  oy1: number;
  ox0: number;
  ox1: number;
  /** Input row and column of output (0, 0) for this tap (may be negative: padding). */
  iy: number;
  ix: number;
}

function taps(h: number, w: number, oh: number, ow: number, g: Conv2dGeometry): Tap[] {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  // outputs o with 0 <= o * s + off < size: ceil(-off / s) <= o < ceil((size - off) / s)
  const range = (off: number, s: number, size: number, count: number): [number, number] => {
    const lo = Math.min(count, Math.max(0, Math.ceil(-off / s)));
    return [lo, Math.max(lo, Math.min(count, Math.ceil((size - off) / s)))];
  };
  const out: Tap[] = [];
  for (let ki = 0; ki < kh; ki++) {
    for (let kj = 0; kj < kw; kj++) {
      const iy = ki * dh - ph;
      const ix = kj * dw - pw;
      const [oy0, oy1] = range(iy, sh, h, oh);
      const [ox0, ox1] = range(ix, sw, w, ow);
      out.push({ oy0, oy1, ox0, ox1, iy, ix });
    }
  }
  return out;
}

/**
 * im2col: x [N, C, H, W] -> cols [N, C*kh*kw, OH*OW]; row (c, ki, kj) holds the input pixel each
 * output position sees through that kernel tap, 0 where it falls on padding. Every element of
 * `cols` is written, so it needs no zero-filled buffer.
 */
export function unfoldKernel(img: TypedArray, shape: readonly number[], g: Conv2dGeometry, cols: TypedArray, outHW: [number, number]): void {
  const [n, c, h, w] = shape as [number, number, number, number];
  const [oh, ow] = outHW;
  const [sh, sw] = g.stride;
  const L = oh * ow;
  const plane = h * w;
  const tapList = taps(h, w, oh, ow, g);
  let colBase = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const imgBase = (b * c + ch) * plane;
      for (const { oy0, oy1, ox0, ox1, iy, ix } of tapList) {
        // rows that see only padding
        if (oy0 > 0) cols.fill(0, colBase, colBase + oy0 * ow);
        if (oy1 < oh) cols.fill(0, colBase + oy1 * ow, colBase + L);
        for (let oy = oy0; oy < oy1; oy++) {
          const dst = colBase + oy * ow;
          const src = imgBase + (oy * sh + iy) * w + ix;
          for (let p = 0; p < ox0; p++) cols[dst + p] = 0;
          if (sw === 1) for (let p = ox0; p < ox1; p++) cols[dst + p] = img[src + p]!;
          else for (let p = ox0, q = src + ox0 * sw; p < ox1; p++, q += sw) cols[dst + p] = img[q]!;
          for (let p = ox1; p < ow; p++) cols[dst + p] = 0;
        }
        colBase += L;
      }
    }
  }
}

/**
 * col2im, the adjoint of unfold: cols [N, C*kh*kw, OH*OW] -> img [N, C, H, W], summing the
 * contributions of overlapping windows. `img` must arrive zero-filled.
 */
export function foldKernel(cols: TypedArray, g: Conv2dGeometry, img: TypedArray, outShape: readonly number[], colHW: [number, number]): void {
  const [n, c, h, w] = outShape as [number, number, number, number];
  const [oh, ow] = colHW;
  const [sh, sw] = g.stride;
  const L = oh * ow;
  const plane = h * w;
  const tapList = taps(h, w, oh, ow, g);
  let colBase = 0;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const imgBase = (b * c + ch) * plane;
      for (const { oy0, oy1, ox0, ox1, iy, ix } of tapList) {
        for (let oy = oy0; oy < oy1; oy++) {
          const src = colBase + oy * ow;
          const dst = imgBase + (oy * sh + iy) * w + ix;
          if (sw === 1) for (let p = ox0; p < ox1; p++) img[dst + p]! += cols[src + p]!;
          else for (let p = ox0, q = dst + ox0 * sw; p < ox1; p++, q += sw) img[q]! += cols[src + p]!;
        }
        colBase += L;
      }
    }
  }
}
