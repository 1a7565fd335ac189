import type { TypedArray } from '../../dtype.js';
import type { Conv2dGeometry } from '../../prims.js';

/**
 * im2col: x [N, C, H, W] -> cols [N, C*kh*kw, OH*OW]; row (c, ki, kj) holds the input pixel each
 * output position sees through that kernel tap (0 outside the padded border). `fold` is its adjoint.
 */
function walk(mode: 'unfold' | 'fold', img: TypedArray, cols: TypedArray, n: number, c: number, h: number, w: number, oh: number, ow: number, g: Conv2dGeometry): void {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  const L = oh * ow;
  const rows = c * kh * kw;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const imgBase = (b * c + ch) * h * w;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          let colBase = (b * rows + (ch * kh + ki) * kw + kj) * L;
          const ox = kj * dw - pw;
          // output columns whose input column lies inside the image: ow0 <= o < ow1
          const ow0 = Math.min(ow, Math.max(0, Math.ceil(-ox / sw)));
          const ow1 = Math.max(ow0, Math.min(ow, Math.ceil((w - ox) / sw)));
          for (let o = 0; o < oh; o++, colBase += ow) {
            const iy = o * sh - ph + ki * dh;
            if (iy < 0 || iy >= h) continue; // cols were zero-initialised
            const rowBase = imgBase + iy * w + ox;
            if (mode === 'unfold') {
              if (sw === 1) cols.set(img.subarray(rowBase + ow0, rowBase + ow1), colBase + ow0);
              else for (let p = ow0; p < ow1; p++) cols[colBase + p] = img[rowBase + p * sw]!;
            } else for (let p = ow0; p < ow1; p++) img[rowBase + p * sw]! += cols[colBase + p]!;
          }
        }
      }
    }
  }
}

export function unfoldKernel(x: TypedArray, shape: readonly number[], g: Conv2dGeometry, out: TypedArray, outHW: [number, number]): void {
  const [n, c, h, w] = shape as [number, number, number, number];
  walk('unfold', x, out, n, c, h, w, outHW[0], outHW[1], g);
}

export function foldKernel(cols: TypedArray, g: Conv2dGeometry, out: TypedArray, outShape: readonly number[], colHW: [number, number]): void {
  const [n, c, h, w] = outShape as [number, number, number, number];
  walk('fold', out, cols, n, c, h, w, colHW[0], colHW[1], g);
}
