/**
 * Full-ranking top-K metrics with MMRec's definitions: every item is ranked for every user, the
 * user's training items are masked out (validation items are not masked at test time), and users
 * without held-out items are skipped. Recall@K = hits / |truth|, Precision@K = hits / K,
 * NDCG@K with binary relevance and IDCG over min(|truth|, K) items, MAP@K = sum over hits at rank r
 * of precision@r, divided by min(|truth|, K).
 */
import { noGrad, OpError, scope, indexSelect, matmul, tensor, transpose } from '@methodzoo/core';
import type { Interactions, Recommender } from './recsys.js';

export interface TopKMetrics {
  recall: number;
  ndcg: number;
  precision: number;
  map: number;
}

/** Metrics of one user's ranked list (best first) against its set of relevant items, at cutoff k. */
export function userMetrics(ranked: ArrayLike<number>, truth: ReadonlySet<number>, k: number): TopKMetrics {
  if (truth.size === 0) throw new OpError('userMetrics', 'truth is empty; skip users without held-out items');
  let hits = 0;
  let dcg = 0;
  let ap = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) {
    if (truth.has(ranked[r]!)) {
      hits++;
      dcg += 1 / Math.log2(r + 2);
      ap += hits / (r + 1);
    }
  }
  const ideal = Math.min(truth.size, k);
  let idcg = 0;
  for (let r = 0; r < ideal; r++) idcg += 1 / Math.log2(r + 2);
  return { recall: hits / truth.size, ndcg: dcg / idcg, precision: hits / k, map: ap / ideal };
}

/** Indices of the `k` largest scores (ties to the lower index), best first, skipping -Infinity. */
export function topKIndices(scores: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s === -Infinity) continue;
    if (best.length === k && !(s > scores[best[k - 1]!]!)) continue;
    let pos = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(i);
    while (pos > 0 && s > scores[best[pos - 1]!]!) {
      best[pos] = best[pos - 1]!;
      pos--;
    }
    best[pos] = i;
  }
  return best;
}

/** Mean metrics at each K over the users that have items in `truth`, from ranked lists of length >= max K. */
export function aggregateMetrics(rankings: Map<number, number[]>, truth: Interactions, ks: number[]): Record<number, TopKMetrics> {
  const out: Record<number, TopKMetrics> = {};
  for (const k of ks) {
    const acc = { recall: 0, ndcg: 0, precision: 0, map: 0 };
    let n = 0;
    for (const [u, ranked] of rankings) {
      const t = new Set(truth.items.subarray(truth.offsets[u]!, truth.offsets[u + 1]!));
      if (t.size === 0) continue;
      const m = userMetrics(ranked, t, k);
      acc.recall += m.recall;
      acc.ndcg += m.ndcg;
      acc.precision += m.precision;
      acc.map += m.map;
      n++;
    }
    out[k] = n ? { recall: acc.recall / n, ndcg: acc.ndcg / n, precision: acc.precision / n, map: acc.map / n } : { recall: 0, ndcg: 0, precision: 0, map: 0 };
  }
  return out;
}

export interface EvaluateOptions {
  /** Cutoffs; [5, 10, 20] by default. */
  ks?: number[];
  /** Users scored per matmul; 256 by default. */
  batchUsers?: number;
}

/**
 * Full-ranking evaluation of `model` on `truth` (the validation or test split), masking each user's
 * `train` items. Returns metrics keyed by K.
 */
export function evaluateRanking(model: Recommender, train: Interactions, truth: Interactions, opts: EvaluateOptions = {}): Record<number, TopKMetrics> {
  const ks = opts.ks ?? [5, 10, 20];
  const maxK = Math.max(...ks);
  const step = opts.batchUsers ?? 256;
  const rankings = new Map<number, number[]>();
  const numItems = model.numItems;
  noGrad(() => scope(() => {
    const { users, items } = model.embeddings();
    const itemsT = transpose(items, 0, 1);
    for (let s = 0; s < model.numUsers; s += step) {
      const ids = Int32Array.from({ length: Math.min(step, model.numUsers - s) }, (_, j) => s + j).filter((u) => truth.offsets[u + 1]! > truth.offsets[u]!);
      if (ids.length === 0) continue;
      scope(() => {
        const scores = matmul(indexSelect(users, 0, tensor(ids, { dtype: 'int32' })), itemsT).dataSync() as Float32Array;
        ids.forEach((u, r) => {
          const row = scores.subarray(r * numItems, (r + 1) * numItems);
          for (let j = train.offsets[u]!; j < train.offsets[u + 1]!; j++) row[train.items[j]!] = -Infinity;
          rankings.set(u, topKIndices(row, maxK));
        });
      });
    }
  }));
  return aggregateMetrics(rankings, truth, ks);
}
