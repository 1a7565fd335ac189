import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { axisTitle, barSpec, encodePng, lineSpec, meanStd, pngSize, renderSvg, svgToPng } from '../src/plot.js';
import { markdownTable, textTable } from '../src/table.js';

/** Pixel rows of an 8-bit PNG written by encodePng (filter byte 0 on every row). */
function decodeRows(png: Uint8Array, width: number, channels: number): number[][] {
  const idat = Buffer.from(png).indexOf('IDAT');
  const len = Buffer.from(png).readUInt32BE(idat - 4);
  const raw = inflateSync(png.subarray(idat + 4, idat + 4 + len));
  const rows: number[][] = [];
  for (let o = 0; o < raw.length; o += width * channels + 1) {
    expect(raw[o]).toBe(0);
    rows.push([...raw.subarray(o + 1, o + 1 + width * channels)]);
  }
  return rows;
}

describe('plots', () => {
  it('encodes grayscale and RGB matrices as PNG, clamping to [0, 1]', () => {
    const gray = encodePng({ width: 3, height: 2, channels: 1, pixels: [0, 0.5, 1, -1, 2, NaN] });
    expect(pngSize(gray)).toEqual({ width: 3, height: 2 });
    expect(decodeRows(gray, 3, 1)).toEqual([
      [0, 128, 255],
      [0, 255, 0],
    ]);
    const rgb = encodePng({ width: 1, height: 1, channels: 3, pixels: [1, 0, 0.2] });
    expect(rgb[25]).toBe(2); // colour type RGB
    expect(decodeRows(rgb, 1, 3)).toEqual([[255, 0, 51]]);
    expect(() => encodePng({ width: 2, height: 2, channels: 1, pixels: [0, 0, 0] })).toThrow('expected 2*2*1 = 4 pixel values, got 3');
    expect(() => pngSize(new Uint8Array(30))).toThrow('not a PNG');
  });

  it('labels axes with their units and renders SVG text that resvg turns into a PNG of the zoomed size', async () => {
    expect(axisTitle({ label: 'loss', unit: 'nats' })).toBe('loss (nats)');
    expect(axisTitle({ label: 'step' })).toBe('step');
    const svg = await renderSvg(lineSpec({ name: 'l', title: 'Loss', x: { label: 'step' }, y: { label: 'loss', unit: 'nats', log: true }, series: [{ name: 'a', x: [1, 2, 3], y: [1, 0.5, 0.25] }] }));
    expect(svg).toContain('>loss (nats)<');
    expect(svg).toContain('>Loss<');
    const w = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    const png = svgToPng(svg, 2);
    expect(pngSize(png).width).toBe(2 * w);
  });

  it('rejects data a plot cannot show, naming the plot and series', () => {
    expect(() => lineSpec({ name: 'p', title: '', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 's', x: [1, 2], y: [1] }] })).toThrow("plot 'p': series 's' has 2 x values but 1 y values");
    expect(() => barSpec({ name: 'b', title: '', y: { label: 'y' }, bars: [{ label: 'a', values: [1, Infinity] }] })).toThrow("plot 'b' bar 'a': values must be finite numbers, got Infinity");
  });

  it('computes mean and sample standard deviation for error bars', () => {
    expect(meanStd([2, 4, 6])).toEqual({ mean: 4, std: 2 });
    expect(meanStd([5])).toEqual({ mean: 5, std: 0 });
    const spec = JSON.stringify(barSpec({ name: 'b', title: 'B', y: { label: 'acc', unit: '%' }, bars: [{ label: 'm', values: [2, 4, 6] }] }));
    expect(spec).toContain('"mean":4,"lo":2,"hi":6,"n":3');
    expect(spec).toContain('± 1 std over 3 seeds');
  });
});

describe('tables', () => {
  it('aligns text columns, right-aligning numbers, and escapes Markdown cells', () => {
    const t = { columns: ['name', 'acc'], rows: [['a|b', 91.23456], ['c', null]] };
    expect(textTable(t)).toBe('name    acc\n----  -----\na|b   91.23\nc');
    expect(markdownTable(t)).toBe('| name | acc |\n| --- | ---: |\n| a\\|b | 91.23 |\n| c |  |');
    expect(() => textTable({ columns: ['a', 'b'], rows: [[1]] })).toThrow('table row 0 has 1 cells but there are 2 columns (a, b)');
  });
});
