/**
 * Synthetic bipartite user-item interactions with multimodal item features, for recommender
 * experiments (the Mirror Gradient reproduction trains on it). The generative story:
 *
 * 1. user latents p_u ~ N(0, I_k / sqrt(k)), item latents q_i ~ N(0, I_k / sqrt(k)), item popularity
 *    b_i ~ N(0, popularity^2);
 * 2. user u's preference for item i is the logit s_ui = (p_u . q_i + b_i) / temperature, and its n_u
 *    items are drawn without replacement from softmax(s_u) (Gumbel top-k, i.e. Plackett-Luce), with
 *    n_u uniform in [minPerUser, maxPerUser];
 * 3. each item has an "image" and a "text" feature vector, noisy linear projections of its latent:
 *    image_i = q_i A + imageNoise * eps, text_i = q_i B + textNoise * eps', A and B random Gaussian
 *    matrices scaled by 1/sqrt(k);
 * 4. every user's items are shuffled and split into train / valid / test by fractions, so every user
 *    appears in every split and no (user, item) pair is in two splits.
 */
import { type Backend, Generator, OpError, type Tensor, tensor } from '@methodzoo/core';

export interface InteractionOptions {
  numUsers: number;
  numItems: number;
  /** Latent dimension k; 16 by default. */
  latentDim?: number;
  /** Fewest interactions per user (all splits together); 10 by default. */
  minPerUser?: number;
  /** Most interactions per user; 30 by default (capped at numItems). */
  maxPerUser?: number;
  /** Softmax temperature of the preference: lower is more concentrated on each user's best items; 0.5 by default. */
  temperature?: number;
  /** Standard deviation of the item popularity bias b_i; 0.5 by default. */
  popularity?: number;
  /** "Image" feature dimension; 64 by default. */
  imageDim?: number;
  /** "Text" feature dimension; 32 by default. */
  textDim?: number;
  /** Noise standard deviation of the image features; 0.1 by default. */
  imageNoise?: number;
  /** Noise standard deviation of the text features; 0.3 by default. */
  textNoise?: number;
  /** Fraction of each user's interactions in the valid split (at least one when > 0); 0.1 by default. */
  validFraction?: number;
  /** Fraction of each user's interactions in the test split (at least one when > 0); 0.2 by default. */
  testFraction?: number;
  generator?: Generator;
  /** Seed of a fresh generator when `generator` is omitted; 0 by default. */
  seed?: number;
  backend?: Backend | string;
}

/**
 * One split's interactions sorted by user, in CSR form: user u's items are
 * `items.subarray(offsets[u], offsets[u + 1])`, and `users[j]` is the user of `items[j]`.
 */
export interface InteractionSplit {
  users: Int32Array;
  items: Int32Array;
  offsets: Int32Array;
}

export interface InteractionData {
  numUsers: number;
  numItems: number;
  train: InteractionSplit;
  valid: InteractionSplit;
  test: InteractionSplit;
  /** Interactions / (numUsers * numItems), all splits together. */
  density: number;
  /** `[numItems, imageDim]` float32. */
  imageFeatures: Tensor;
  /** `[numItems, textDim]` float32. */
  textFeatures: Tensor;
  /** Ground truth: `[numUsers, k]` and `[numItems, k]` float32 latents, `[numItems]` popularity. */
  userLatents: Tensor;
  itemLatents: Tensor;
  itemBias: Tensor;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new OpError('generateInteractions', `${name} must be a positive integer, got ${v}`);
  return v;
}

/** Seeded synthetic user-item interactions with per-item image and text features; see the file header. */
export function generateInteractions(opts: InteractionOptions): InteractionData {
  const op = 'generateInteractions';
  const numUsers = positiveInt('numUsers', opts.numUsers);
  const numItems = positiveInt('numItems', opts.numItems);
  const k = positiveInt('latentDim', opts.latentDim ?? 16);
  const imageDim = positiveInt('imageDim', opts.imageDim ?? 64);
  const textDim = positiveInt('textDim', opts.textDim ?? 32);
  const minPer = positiveInt('minPerUser', opts.minPerUser ?? 10);
  const maxPer = Math.min(positiveInt('maxPerUser', opts.maxPerUser ?? 30), numItems);
  const temperature = opts.temperature ?? 0.5;
  const validFraction = opts.validFraction ?? 0.1;
  const testFraction = opts.testFraction ?? 0.2;
  if (minPer > maxPer) throw new OpError(op, `minPerUser (${minPer}) exceeds maxPerUser (${maxPer}, capped at numItems = ${numItems})`);
  if (!(temperature > 0)) throw new OpError(op, `temperature must be positive, got ${temperature}`);
  if (!(validFraction >= 0 && testFraction >= 0 && validFraction + testFraction < 1)) throw new OpError(op, `validFraction and testFraction must be non-negative with a sum below 1, got ${validFraction} and ${testFraction}`);
  const held = (validFraction > 0 ? 1 : 0) + (testFraction > 0 ? 1 : 0);
  if (minPer < held + 1) throw new OpError(op, `minPerUser must be at least ${held + 1} so every user keeps a train interaction besides the held-out ones, got ${minPer}`);
  for (const [name, v] of [['popularity', opts.popularity ?? 0.5], ['imageNoise', opts.imageNoise ?? 0.1], ['textNoise', opts.textNoise ?? 0.3]] as const) {
    if (!(v >= 0)) throw new OpError(op, `${name} must be non-negative, got ${v}`);
  }
  const g = opts.generator ?? new Generator(opts.seed ?? 0);
  const scale = 1 / Math.sqrt(k);
  const gauss = (n: number, s: number) => Float64Array.from({ length: n }, () => s * g.normal());
  const P = gauss(numUsers * k, scale);
  const Q = gauss(numItems * k, scale);
  const bias = gauss(numItems, opts.popularity ?? 0.5);
  const A = gauss(k * imageDim, scale);
  const B = gauss(k * textDim, scale);
  const project = (M: Float64Array, dim: number, noise: number) => {
    const out = new Float32Array(numItems * dim);
    for (let i = 0; i < numItems; i++) {
      for (let j = 0; j < dim; j++) {
        let s = 0;
        for (let c = 0; c < k; c++) s += Q[i * k + c]! * M[c * dim + j]!;
        out[i * dim + j] = s + noise * g.normal();
      }
    }
    return out;
  };
  const image = project(A, imageDim, opts.imageNoise ?? 0.1);
  const text = project(B, textDim, opts.textNoise ?? 0.3);

  const parts = { train: [] as number[][], valid: [] as number[][], test: [] as number[][] };
  const keys = new Float64Array(numItems);
  const heap = new Int32Array(maxPer);
  for (let u = 0; u < numUsers; u++) {
    // Gumbel top-k: the n largest of s_ui + Gumbel noise are a sample without replacement from softmax(s_u)
    for (let i = 0; i < numItems; i++) {
      let dot = bias[i]!;
      for (let c = 0; c < k; c++) dot += P[u * k + c]! * Q[i * k + c]!;
      let r = g.random();
      while (r === 0) r = g.random();
      keys[i] = dot / temperature - Math.log(-Math.log(r));
    }
    const n = g.integer(minPer, maxPer + 1);
    const chosen = topK(keys, n, heap);
    // the Gumbel order ranks items by preference; shuffle so the held-out items are not the favourites
    for (let i = n - 1; i > 0; i--) {
      const j = g.integer(0, i + 1);
      [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
    }
    const nTest = testFraction > 0 ? Math.max(1, Math.round(n * testFraction)) : 0;
    const nValid = validFraction > 0 ? Math.max(1, Math.round(n * validFraction)) : 0;
    const nTrain = n - nTest - nValid;
    if (nTrain < 1) throw new OpError(op, `user ${u} has ${n} interactions, too few for the valid/test fractions; raise minPerUser`);
    parts.train.push(chosen.slice(0, nTrain).sort((a, b) => a - b));
    parts.valid.push(chosen.slice(nTrain, nTrain + nValid).sort((a, b) => a - b));
    parts.test.push(chosen.slice(nTrain + nValid).sort((a, b) => a - b));
  }
  const csr = (rows: number[][]): InteractionSplit => {
    const offsets = new Int32Array(numUsers + 1);
    rows.forEach((r, u) => (offsets[u + 1] = offsets[u]! + r.length));
    const users = new Int32Array(offsets[numUsers]!);
    const items = new Int32Array(offsets[numUsers]!);
    rows.forEach((r, u) => {
      users.fill(u, offsets[u]!, offsets[u + 1]!);
      items.set(r, offsets[u]!);
    });
    return { users, items, offsets };
  };
  const train = csr(parts.train);
  const valid = csr(parts.valid);
  const test = csr(parts.test);
  const total = train.items.length + valid.items.length + test.items.length;
  const f32 = (a: Float64Array | Float32Array, shape: number[]) => tensor(Float32Array.from(a), { shape, backend: opts.backend });
  return {
    numUsers,
    numItems,
    train,
    valid,
    test,
    density: total / (numUsers * numItems),
    imageFeatures: f32(image, [numItems, imageDim]),
    textFeatures: f32(text, [numItems, textDim]),
    userLatents: f32(P, [numUsers, k]),
    itemLatents: f32(Q, [numItems, k]),
    itemBias: f32(bias, [numItems]),
  };
}

/** Indices of the n largest keys (ties to the lower index), by a size-n min-heap: O(I log n) rather than a full sort. */
function topK(keys: Float64Array, n: number, heap: Int32Array): number[] {
  // heap order: the root is the smallest kept key; among equal keys the higher index counts as smaller
  const less = (a: number, b: number) => keys[a]! < keys[b]! || (keys[a] === keys[b] && a > b);
  const down = (i: number, size: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && less(heap[l]!, heap[m]!)) m = l;
      if (r < size && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = 0; i < n; i++) heap[i] = i;
  for (let i = Math.floor(n / 2) - 1; i >= 0; i--) down(i, n);
  for (let i = n; i < keys.length; i++) {
    if (less(heap[0]!, i)) {
      heap[0] = i;
      down(0, n);
    }
  }
  return Array.from(heap.subarray(0, n)).sort((a, b) => keys[b]! - keys[a]! || a - b);
}
