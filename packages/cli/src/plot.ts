/**
 * Plots for reports: line plots (loss curves), bar plots with error bars (mean ± std over seeds) and
 * image grids, described as Vega-Lite specs, rendered to SVG by Vega (headless, no canvas) and to
 * PNG by resvg with the DejaVu Sans font shipped in `fonts/`, so labels render on machines without
 * system fonts and the pictures are the same everywhere.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BarPlot, ImageGrid, ImageMatrix, LinePlot, PlotAxis } from '@methodzoo/core';

export const FONT_FAMILY = 'DejaVu Sans';
/** The shipped font file (the same relative path from `src/` and from `dist/`). */
export const FONT_FILE = fileURLToPath(new URL('../fonts/DejaVuSans.ttf', import.meta.url));

const CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal' },
  title: { fontSize: 14, fontWeight: 'normal', subtitleFontSize: 11, subtitleColor: '#555', anchor: 'start' },
} as const;

/** `label (unit)`, or the label alone. */
export function axisTitle(axis: PlotAxis): string {
  return axis.unit ? `${axis.label} (${axis.unit})` : axis.label;
}

function checkFinite(where: string, values: number[], log?: boolean): void {
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`plot ${where}: values must be finite numbers, got ${v}`);
    if (log && v <= 0) throw new Error(`plot ${where}: a log axis needs positive values, got ${v}`);
  }
}

/** Vega-Lite spec of a line plot: one coloured line per series, with a legend. */
export function lineSpec(plot: LinePlot): TopLevelSpec {
  const values: { series: string; x: number; y: number }[] = [];
  for (const s of plot.series) {
    if (s.x.length !== s.y.length) throw new Error(`plot '${plot.name}': series '${s.name}' has ${s.x.length} x values but ${s.y.length} y values`);
    checkFinite(`'${plot.name}' series '${s.name}' x`, s.x, plot.x.log);
    checkFinite(`'${plot.name}' series '${s.name}' y`, s.y, plot.y.log);
    s.x.forEach((x, i) => values.push({ series: s.name, x, y: s.y[i]! }));
  }
  const scale = (a: PlotAxis) => (a.log ? { type: 'log' as const } : { zero: false });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: plot.title },
    width: 520,
    height: 300,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.8, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: axisTitle(plot.x), scale: scale(plot.x) },
      y: { field: 'y', type: 'quantitative', title: axisTitle(plot.y), scale: scale(plot.y) },
      color: { field: 'series', type: 'nominal', title: null, sort: plot.series.map((s) => s.name), legend: { orient: 'right' } },
    },
    config: CONFIG,
  } as TopLevelSpec;
}

/** Mean and sample standard deviation (0 for a single value). */
export function meanStd(values: number[]): { mean: number; std: number } {
  if (values.length === 0) throw new Error('meanStd: no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std };
}

/** Vega-Lite spec of a bar plot: bar = mean, whisker = ± 1 std, dots = the individual values (seeds). */
export function barSpec(plot: BarPlot): TopLevelSpec {
  if (plot.reference) checkFinite(`'${plot.name}' reference`, [plot.reference.value], plot.y.log);
  const stats = plot.bars.map((b) => {
    checkFinite(`'${plot.name}' bar '${b.label}'`, b.values, plot.y.log);
    const { mean, std } = meanStd(b.values);
    return { label: b.label, mean, lo: mean - std, hi: mean + std, n: b.values.length };
  });
  const points = plot.bars.flatMap((b) => b.values.map((v) => ({ label: b.label, value: v })));
  const maxN = Math.max(...stats.map((s) => s.n));
  const order = plot.bars.map((b) => b.label);
  const x = { field: 'label', type: 'nominal', title: null, sort: order, axis: { labelAngle: 0 } };
  const yTitle = axisTitle(plot.y);
  const yScale = plot.y.log ? { type: 'log' } : { zero: true };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: plot.title, subtitle: maxN > 1 ? `bars: mean, whiskers: ± 1 std over ${maxN} seeds, dots: each seed` : 'one seed' },
    width: Math.max(220, 90 * plot.bars.length),
    height: 300,
    layer: [
      {
        data: { values: stats },
        mark: { type: 'bar', opacity: 0.85 },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: yTitle, scale: yScale }, color: { field: 'label', type: 'nominal', title: null, sort: order, legend: { orient: 'right' } } },
      },
      {
        data: { values: stats.filter((s) => s.n > 1) },
        mark: { type: 'errorbar', ticks: true, color: 'black' },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, color: 'black', size: 18, opacity: 0.7 },
        encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle } },
      },
      ...(plot.reference
        ? [
            {
              data: { values: [plot.reference] },
              layer: [
                { mark: { type: 'rule', color: '#c0392b', strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'value', type: 'quantitative', title: yTitle } } },
                {
                  mark: { type: 'text', color: '#c0392b', align: 'right', baseline: 'bottom', dy: -3, x: 'width', dx: -4, fontSize: 11 },
                  encoding: { y: { field: 'value', type: 'quantitative', title: yTitle }, text: { field: 'label', type: 'nominal' } },
                },
              ],
            },
          ]
        : []),
    ],
    config: CONFIG,
  } as TopLevelSpec;
}

// ---- PNG encoding (for image matrices) ---------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An 8-bit grayscale or RGB PNG of a pixel matrix (values in [0, 1], clamped). */
export function encodePng(m: ImageMatrix): Uint8Array {
  const { width, height, channels } = m;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`encodePng: width and height must be positive integers, got ${width}x${height}`);
  if (channels !== 1 && channels !== 3) throw new Error(`encodePng: channels must be 1 or 3, got ${channels}`);
  if (m.pixels.length !== width * height * channels) throw new Error(`encodePng: expected ${width}*${height}*${channels} = ${width * height * channels} pixel values, got ${m.pixels.length}`);
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    for (let i = 0; i < stride; i++) {
      const v = Number(m.pixels[y * stride + i]);
      raw[y * (stride + 1) + 1 + i] = Math.round(255 * Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)));
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // colour type: grayscale or RGB
  return new Uint8Array(Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]));
}

/** Width and height of a PNG from its header. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  if (png.length < 24 || !PNG_SIGNATURE.every((b, i) => png[i] === b)) throw new Error('pngSize: not a PNG file (bad signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Vega-Lite spec of an image grid with a caption under each image. */
export function imageGridSpec(grid: ImageGrid, cell = 84): TopLevelSpec {
  if (grid.images.length === 0) throw new Error(`image grid '${grid.name}': no images`);
  const columns = grid.columns ?? Math.min(8, Math.ceil(Math.sqrt(grid.images.length)));
  const rows = Math.ceil(grid.images.length / columns);
  const values = grid.images.map((img, i) => {
    const png = img.image instanceof Uint8Array ? img.image : encodePng(img.image);
    pngSize(png);
    return { url: `data:image/png;base64,${Buffer.from(png).toString('base64')}`, col: i % columns, row: Math.floor(i / columns), caption: img.caption ?? '' };
  });
  const captionSpace = grid.images.some((i) => i.caption) ? 16 : 0;
  const x = { field: 'col', type: 'quantitative', axis: null, scale: { domain: [-0.5, columns - 0.5] } };
  const y = { field: 'row', type: 'quantitative', axis: null, scale: { domain: [-0.5, rows - 0.5], reverse: true } };
  const imageSize = cell - 8 - captionSpace;
  // columns widen to fit the longest caption (about 5.6 px a character at 10 px); longer ones are cut with an ellipsis
  const cellWidth = Math.min(3 * cell, Math.max(cell, Math.ceil(Math.max(...values.map((v) => v.caption.length)) * 5.6) + 8));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: grid.title },
    width: columns * cellWidth,
    height: rows * cell,
    data: { values },
    layer: [
      // aria: false, or every image's data URL is repeated in an aria-label
      { mark: { type: 'image', width: imageSize, height: imageSize, smooth: false, aria: false, yOffset: -captionSpace / 2 }, encoding: { x, y, url: { field: 'url', type: 'nominal' } } },
      ...(captionSpace
        ? [{ mark: { type: 'text', fontSize: 10, baseline: 'top', limit: cellWidth - 4, yOffset: imageSize / 2 - captionSpace / 2 + 2 }, encoding: { x, y, text: { field: 'caption', type: 'nominal' } } }]
        : []),
    ],
    config: { ...CONFIG, view: { stroke: null }, axis: { ...CONFIG.axis, grid: false } },
  } as TopLevelSpec;
}

// ---- rendering ---------------------------------------------------------------------------------

/** SVG text of a Vega-Lite spec, rendered headless by Vega. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG, rendered by resvg with the shipped font at `scale` times the SVG size. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: [FONT_FILE], defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    logLevel: 'off',
  });
  return new Uint8Array(resvg.render().asPng());
}

export type Plot = { kind: 'line'; plot: LinePlot } | { kind: 'bar'; plot: BarPlot } | { kind: 'images'; plot: ImageGrid };

export function plotSpec(p: Plot): TopLevelSpec {
  return p.kind === 'line' ? lineSpec(p.plot) : p.kind === 'bar' ? barSpec(p.plot) : imageGridSpec(p.plot);
}

/** File stems must stay inside the report folder. */
function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`plot name '${name}' must be a file stem of letters, digits, '.', '_' or '-'`);
}

/**
 * Renders a plot to `<dir>/<name>.svg` and `<dir>/<name>.png` and returns the two paths.
 */
export async function writePlot(p: Plot, dir: string): Promise<{ svg: string; png: string }> {
  checkName(p.plot.name);
  mkdirSync(dir, { recursive: true });
  const svgText = await renderSvg(plotSpec(p));
  const svg = join(dir, `${p.plot.name}.svg`);
  const png = join(dir, `${p.plot.name}.png`);
  writeFileSync(svg, svgText);
  writeFileSync(png, svgToPng(svgText));
  return { svg, png };
}
