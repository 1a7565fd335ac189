import { describe, expect, it } from 'vitest';
import { imageGridSpec } from '../src/plot.js';

const image = { width: 2, height: 2, channels: 1 as const, pixels: [0, 1, 1, 0] };
const grid = (captions: string[]) => ({ name: 'g', title: 'grid', columns: captions.length, images: captions.map((caption) => ({ image, caption })) });
const textLimit = (spec: ReturnType<typeof imageGridSpec>) => ((spec as { layer: { mark: { type: string; limit?: number } }[] }).layer.find((l) => l.mark.type === 'text')!.mark.limit);

describe('image grid', () => {
  it('keeps 84 px columns for short captions', () => {
    const spec = imageGridSpec(grid(['a', 'b']));
    expect((spec as { width: number }).width).toBe(2 * 84);
    expect(textLimit(spec)).toBe(80);
  });

  it('widens the columns to fit the longest caption, so neighbours do not overlap', () => {
    // 21 characters at about 5.6 px each, plus a margin: 126 px columns
    const spec = imageGridSpec(grid(['canvas 0 (label 7)', 'LSAS-SE n=2 (stage 3)']));
    expect((spec as { width: number }).width).toBe(2 * 126);
    expect(textLimit(spec)).toBe(122);
  });

  it('caps the width at three cells and cuts longer captions with an ellipsis (the text limit)', () => {
    const spec = imageGridSpec(grid(['x'.repeat(200)]));
    expect((spec as { width: number }).width).toBe(3 * 84);
    expect(textLimit(spec)).toBe(3 * 84 - 4);
  });
});
