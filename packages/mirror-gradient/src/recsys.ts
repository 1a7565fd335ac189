/**
 * Recommenders for implicit feedback trained with BPR (Rendle et al. 2009) and uniform negative
 * sampling: BPR-MF, VBPR (He & McAuley 2016, MMRec's variant with visual + textual features) and a
 * LightGCN-style propagation model (He et al. 2020) whose layer-0 item embedding can add projected
 * item features. All score a (user, item) pair by a dot product, so full ranking is one matmul.
 */
import { cat, type Generator, indexSelect, matmul, nn, noGrad, OpError, sqrt, sum, type Tensor, tensor, transpose } from '@methodzoo/core';

/** One split of interactions in CSR form (the `@methodzoo/datasets` layout). */
export interface Interactions {
  users: Int32Array;
  items: Int32Array;
  /** user u's items are `items.subarray(offsets[u], offsets[u + 1])`. */
  offsets: Int32Array;
}

/** A BPR batch: user, positive item and sampled negative item per row. */
export interface BprBatch {
  users: Int32Array;
  pos: Int32Array;
  neg: Int32Array;
}

/** What the trainers, metrics and robustness tools need from a recommender. */
export interface Recommender extends nn.Module {
  readonly numUsers: number;
  readonly numItems: number;
  /** Final user and item representations: `[numUsers, d]`, `[numItems, d]`; the score is their dot product. */
  embeddings(): { users: Tensor; items: Tensor };
  /** The training loss on a batch: BPR plus the model's regulariser. */
  loss(batch: BprBatch): Tensor;
}

/**
 * Splits the training interactions into shuffled batches, each positive with one negative drawn
 * uniformly from the items the user has not interacted with in training (rejection sampling).
 */
export function sampleBprBatches(train: Interactions, numItems: number, batchSize: number, generator: Generator): BprBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OpError('sampleBprBatches', `batchSize must be a positive integer, got ${batchSize}`);
  const n = train.items.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.integer(0, i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const seen = trainSets(train);
  const out: BprBatch[] = [];
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const b: BprBatch = { users: new Int32Array(m), pos: new Int32Array(m), neg: new Int32Array(m) };
    for (let r = 0; r < m; r++) {
      const j = order[s + r]!;
      const u = train.users[j]!;
      b.users[r] = u;
      b.pos[r] = train.items[j]!;
      const own = seen[u]!;
      if (own.size >= numItems) throw new OpError('sampleBprBatches', `user ${u} has interacted with every item; no negative can be drawn`);
      let neg: number;
      do neg = generator.integer(0, numItems);
      while (own.has(neg));
      b.neg[r] = neg;
    }
    out.push(b);
  }
  return out;
}

/** Each user's training items as a set. */
export function trainSets(train: Interactions): Set<number>[] {
  const sets: Set<number>[] = [];
  for (let u = 0; u + 1 < train.offsets.length; u++) sets.push(new Set(train.items.subarray(train.offsets[u]!, train.offsets[u + 1]!)));
  return sets;
}

const idx = (a: Int32Array) => tensor(a, { dtype: 'int32' });

/** BPR loss as MMRec computes it: `-mean log(1e-10 + sigmoid(s+ - s-))`. */
export function bprLoss(posScores: Tensor, negScores: Tensor): Tensor {
  return posScores.sub(negScores).sigmoid().add(1e-10).log().mean().neg();
}

/** MMRec's EmbLoss: the sum of the (non-squared) Frobenius norms of the given batch rows, over the batch size. */
export function embNormLoss(batchSize: number, ...rows: Tensor[]): Tensor {
  let total: Tensor | undefined;
  for (const r of rows) {
    const n = sqrt(sum(r.mul(r)));
    total = total ? total.add(n) : n;
  }
  if (!total) throw new OpError('embNormLoss', 'needs at least one tensor');
  return total.div(batchSize);
}

function scoreRows(users: Tensor, items: Tensor): Tensor {
  return users.mul(items).sum(-1);
}

function xavier(rows: number, cols: number, generator?: Generator): nn.Parameter {
  const p = new nn.Parameter(tensor(new Float32Array(rows * cols), { shape: [rows, cols] }));
  nn.init.xavierUniform_(p, { generator });
  return p;
}

export interface BprMfOptions {
  /** Embedding size; 64 by default (MMRec's). */
  dim?: number;
  /** Weight of the embedding-norm regulariser; 1e-3 by default. */
  regWeight?: number;
  generator?: Generator;
}

/** Matrix factorisation with the BPR loss: score = p_u . q_i. */
export class BprMf extends nn.Module implements Recommender {
  readonly numUsers: number;
  readonly numItems: number;
  regWeight: number;
  userEmb: nn.Parameter;
  itemEmb: nn.Parameter;

  constructor(numUsers: number, numItems: number, opts: BprMfOptions = {}) {
    super();
    const d = opts.dim ?? 64;
    this.numUsers = numUsers;
    this.numItems = numItems;
    this.regWeight = opts.regWeight ?? 1e-3;
    this.userEmb = xavier(numUsers, d, opts.generator);
    this.itemEmb = xavier(numItems, d, opts.generator);
  }

  embeddings(): { users: Tensor; items: Tensor } {
    return { users: this.userEmb, items: this.itemEmb };
  }

  /** Scores of (user, item) pairs: `users` and `items` are int32 index tensors of the same shape. */
  forward(users: Tensor, items: Tensor): Tensor {
    const e = this.embeddings();
    return scoreRows(indexSelect(e.users, 0, users.reshape([-1])), indexSelect(e.items, 0, items.reshape([-1]))).reshape(users.shape);
  }

  loss(b: BprBatch): Tensor {
    const u = indexSelect(this.userEmb, 0, idx(b.users));
    const p = indexSelect(this.itemEmb, 0, idx(b.pos));
    const n = indexSelect(this.itemEmb, 0, idx(b.neg));
    return bprLoss(scoreRows(u, p), scoreRows(u, n)).add(embNormLoss(b.users.length, u, p, n).mul(this.regWeight));
  }
}

export interface VbprOptions extends BprMfOptions {}

/**
 * VBPR as in MMRec: user vector `[gamma_u ; theta_u]` (2d), item vector
 * `[gamma_i ; Linear(concat(features) -> d)]`, score their dot product; Xavier initialisation.
 * `features` is `[numItems, F]` (image and text concatenated, see `concatFeatures`); replace it with
 * `setFeatures` to evaluate on perturbed content.
 */
export class Vbpr extends nn.Module implements Recommender {
  readonly numUsers: number;
  readonly numItems: number;
  regWeight: number;
  userEmb: nn.Parameter;
  itemEmb: nn.Parameter;
  proj: nn.Linear;
  private features: Tensor;

  constructor(numUsers: number, features: Tensor, opts: VbprOptions = {}) {
    super();
    if (features.ndim !== 2) throw new OpError('Vbpr', `features must be [numItems, F], got [${features.shape.join(', ')}]`);
    const d = opts.dim ?? 64;
    this.numUsers = numUsers;
    this.numItems = features.shape[0]!;
    this.regWeight = opts.regWeight ?? 1e-3;
    this.userEmb = xavier(numUsers, 2 * d, opts.generator);
    this.itemEmb = xavier(this.numItems, d, opts.generator);
    this.proj = new nn.Linear(features.shape[1]!, d, { generator: opts.generator });
    nn.init.xavierUniform_(this.proj.weight, { generator: opts.generator });
    this.features = features;
  }

  /** The item content features in use. */
  get itemFeatures(): Tensor {
    return this.features;
  }

  setFeatures(features: Tensor): void {
    if (features.ndim !== 2 || features.shape[0] !== this.numItems || features.shape[1] !== this.features.shape[1]) {
      throw new OpError('Vbpr.setFeatures', `features must be [${this.features.shape.join(', ')}], got [${features.shape.join(', ')}]`);
    }
    this.features = features;
  }

  private itemVectors(items?: Int32Array): Tensor {
    const f = items ? indexSelect(this.features, 0, idx(items)) : this.features;
    const g = items ? indexSelect(this.itemEmb, 0, idx(items)) : this.itemEmb;
    return cat([g, this.proj.call(f)], -1);
  }

  embeddings(): { users: Tensor; items: Tensor } {
    return { users: this.userEmb, items: this.itemVectors() };
  }

  /** Scores of (user, item) pairs: `users` and `items` are int32 index tensors of the same shape. */
  forward(users: Tensor, items: Tensor): Tensor {
    const e = this.embeddings();
    return scoreRows(indexSelect(e.users, 0, users.reshape([-1])), indexSelect(e.items, 0, items.reshape([-1]))).reshape(users.shape);
  }

  loss(b: BprBatch): Tensor {
    const u = indexSelect(this.userEmb, 0, idx(b.users));
    const p = this.itemVectors(b.pos);
    const n = this.itemVectors(b.neg);
    return bprLoss(scoreRows(u, p), scoreRows(u, n)).add(embNormLoss(b.users.length, u, p, n).mul(this.regWeight));
  }
}

/** Image and text features side by side: `[numItems, Fi + Ft]`. */
export function concatFeatures(image: Tensor, text: Tensor): Tensor {
  return noGrad(() => cat([image, text], -1));
}

export interface LightGcnOptions extends BprMfOptions {
  /** Propagation layers; 2 by default. */
  layers?: number;
  /** Item content `[numItems, F]`: when given, layer 0 of an item is its id embedding plus a linear projection of it. */
  features?: Tensor;
}

/**
 * LightGCN-style model: embeddings propagated over the symmetric-normalised user-item graph
 * `A = D_u^-1/2 R D_i^-1/2` (users <- A items, items <- A^T users) and averaged over layers 0..L.
 * The adjacency is a dense `[numUsers, numItems]` matrix: fine for the synthetic data and small
 * subsets, too large for full Amazon datasets. Regulariser: MMRec's norm loss on layer-0 rows.
 */
export class LightGcn extends nn.Module implements Recommender {
  readonly numUsers: number;
  readonly numItems: number;
  readonly layers: number;
  regWeight: number;
  userEmb: nn.Parameter;
  itemEmb: nn.Parameter;
  proj?: nn.Linear;
  private features?: Tensor;
  private adj: Tensor;
  private adjT: Tensor;

  constructor(numUsers: number, numItems: number, train: Interactions, opts: LightGcnOptions = {}) {
    super();
    const d = opts.dim ?? 64;
    this.numUsers = numUsers;
    this.numItems = numItems;
    this.layers = opts.layers ?? 2;
    if (!Number.isInteger(this.layers) || this.layers < 0) throw new OpError('LightGcn', `layers must be a non-negative integer, got ${this.layers}`);
    this.regWeight = opts.regWeight ?? 1e-3;
    this.userEmb = xavier(numUsers, d, opts.generator);
    this.itemEmb = xavier(numItems, d, opts.generator);
    if (opts.features) {
      if (opts.features.ndim !== 2 || opts.features.shape[0] !== numItems) throw new OpError('LightGcn', `features must be [${numItems}, F], got [${opts.features.shape.join(', ')}]`);
      this.proj = new nn.Linear(opts.features.shape[1]!, d, { generator: opts.generator });
      this.features = opts.features;
    }
    const degU = new Float64Array(numUsers);
    const degI = new Float64Array(numItems);
    for (let j = 0; j < train.items.length; j++) {
      degU[train.users[j]!]!++;
      degI[train.items[j]!]!++;
    }
    const a = new Float32Array(numUsers * numItems);
    for (let j = 0; j < train.items.length; j++) {
      const u = train.users[j]!;
      const i = train.items[j]!;
      a[u * numItems + i] = 1 / Math.sqrt(degU[u]! * degI[i]!);
    }
    this.adj = tensor(a, { shape: [numUsers, numItems] });
    this.adjT = noGrad(() => transpose(this.adj, 0, 1));
  }

  setFeatures(features: Tensor): void {
    if (!this.features) throw new OpError('LightGcn.setFeatures', 'this model was built without item features');
    if (features.shape[0] !== this.numItems || features.shape[1] !== this.features.shape[1]) throw new OpError('LightGcn.setFeatures', `features must be [${this.features.shape.join(', ')}], got [${features.shape.join(', ')}]`);
    this.features = features;
  }

  private item0(): Tensor {
    return this.proj && this.features ? this.itemEmb.add(this.proj.call(this.features)) : this.itemEmb;
  }

  embeddings(): { users: Tensor; items: Tensor } {
    let eu: Tensor = this.userEmb;
    let ei = this.item0();
    let su = eu;
    let si = ei;
    for (let l = 0; l < this.layers; l++) {
      const nu = matmul(this.adj, ei);
      const ni = matmul(this.adjT, eu);
      eu = nu;
      ei = ni;
      su = su.add(eu);
      si = si.add(ei);
    }
    return { users: su.div(this.layers + 1), items: si.div(this.layers + 1) };
  }

  /** Scores of (user, item) pairs: `users` and `items` are int32 index tensors of the same shape. */
  forward(users: Tensor, items: Tensor): Tensor {
    const e = this.embeddings();
    return scoreRows(indexSelect(e.users, 0, users.reshape([-1])), indexSelect(e.items, 0, items.reshape([-1]))).reshape(users.shape);
  }

  loss(b: BprBatch): Tensor {
    const { users, items } = this.embeddings();
    const u = indexSelect(users, 0, idx(b.users));
    const p = indexSelect(items, 0, idx(b.pos));
    const n = indexSelect(items, 0, idx(b.neg));
    const reg = embNormLoss(b.users.length, indexSelect(this.userEmb, 0, idx(b.users)), indexSelect(this.itemEmb, 0, idx(b.pos)), indexSelect(this.itemEmb, 0, idx(b.neg)));
    return bprLoss(scoreRows(u, p), scoreRows(u, n)).add(reg.mul(this.regWeight));
  }
}
