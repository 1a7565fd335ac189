/**
 * Draws the stiffness figure of a reproduction run as one SVG, laid out like the paper's
 * `iccv23.png`: a column per stage, NSI per block index, each model's mean as a solid line and its
 * per-sample min / max envelope dashed. Row 1: plain vs SE (the paper's comparison); row 2: the
 * reconstructions R1 and R2 with SE for reference.
 *
 *   tsx repro/figure.ts reports/stepnet/result.json docs/nsi-figure.svg
 *
 * The input is the JSON that `repro/run.ts --out <file>` writes (the ReproResult).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LinePlot } from '@methodzoo/core';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: tsx repro/figure.ts <result.json> <figure.svg>');
const result = JSON.parse(readFileSync(input, 'utf8')) as { series: LinePlot[] };
const stages = result.series.filter((p) => /^nsi-stage\d+$/.test(p.name));
const rows: { title: string; models: string[] }[] = [
  { title: 'plain (Org) vs SE', models: ['plain', 'SE'] },
  { title: 'reconstructions R1, R2 (SE for reference)', models: ['SE', 'R1 (reconstruction)', 'R2 (reconstruction)'] },
];
const colour: Record<string, string> = { plain: '#1f4fd1', SE: '#d62728', 'R1 (reconstruction)': '#2ca02c', 'R2 (reconstruction)': '#9467bd' };
const W = 300;
const H = 220;
const M = { l: 48, r: 12, t: 28, b: 36 };
const RH = H + 24; // row height with its title
const parts: string[] = [];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
rows.forEach((row, ri) => {
  stages.forEach((plot, ci) => {
    const ox = ci * W;
    const oy = ri * RH + 20;
    const lines = plot.series.filter((s) => row.models.some((m) => s.name === `${m} mean` || s.name === `${m} min` || s.name === `${m} max`));
    const xs = lines.flatMap((s) => s.x);
    const ys = lines.flatMap((s) => s.y);
    const x0 = Math.min(...xs);
    const x1 = Math.max(...xs);
    const y1 = Math.max(...ys) * 1.05;
    const px = (x: number) => ox + M.l + ((x - x0) / Math.max(1, x1 - x0)) * (W - M.l - M.r);
    const py = (y: number) => oy + H - M.b - (y / y1) * (H - M.t - M.b);
    parts.push(`<rect x="${ox + M.l}" y="${oy + M.t}" width="${W - M.l - M.r}" height="${H - M.t - M.b}" fill="none" stroke="#999"/>`);
    parts.push(`<text x="${ox + W / 2}" y="${oy + 18}" text-anchor="middle" font-size="12">${esc(plot.title.replace(/^.*, /, ''))}</text>`);
    for (let k = 0; k <= 4; k++) {
      const v = (y1 * k) / 4;
      parts.push(`<text x="${ox + M.l - 4}" y="${py(v) + 4}" text-anchor="end" font-size="9">${v.toFixed(2)}</text>`);
    }
    for (let x = x0; x <= x1; x++) parts.push(`<text x="${px(x)}" y="${oy + H - M.b + 12}" text-anchor="middle" font-size="9">${x}</text>`);
    parts.push(`<text x="${ox + W / 2}" y="${oy + H - 6}" text-anchor="middle" font-size="10">index of block</text>`);
    if (ci === 0) parts.push(`<text transform="translate(${ox + 12} ${oy + H / 2}) rotate(-90)" text-anchor="middle" font-size="10">NSI</text>`);
    for (const s of lines) {
      const model = s.name.replace(/ (mean|min|max)$/, '');
      const dash = s.name.endsWith('mean') ? '' : ' stroke-dasharray="4 3"';
      const width = s.name.endsWith('mean') ? 2 : 1;
      const pts = s.x.map((x, k) => `${px(x).toFixed(1)},${py(s.y[k]!).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${pts}" fill="none" stroke="${colour[model] ?? '#333'}" stroke-width="${width}"${dash}/>`);
    }
  });
  parts.push(`<text x="6" y="${ri * RH + 16}" font-size="12" font-weight="bold">${esc(row.title)}: mean (solid), per-sample min / max (dashed)</text>`);
});
const legend = Object.entries(colour).map(([m, c], k) => `<rect x="${k * 170 + 10}" y="${rows.length * RH + 22}" width="14" height="4" fill="${c}"/><text x="${k * 170 + 30}" y="${rows.length * RH + 28}" font-size="11">${esc(m)}</text>`);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${stages.length * W}" height="${rows.length * RH + 40}" font-family="DejaVu Sans, sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}${legend.join('')}</svg>\n`;
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, svg);
console.log(`wrote ${output}`);
