/**
 * Loader for MMRec's dataset layout (the format of the Mirror Gradient release): a folder with
 * `<name>.inter` (tab-separated with a header naming `userID`, `itemID` and `x_label`, where
 * x_label 0/1/2 is train/valid/test) and optional `image_feat.npy` / `text_feat.npy`
 * (`[numItems, F]`, row i is item i).
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OpError, type Tensor } from '@methodzoo/core';
import { npyToTensor, parseNpy } from './npy.js';
import type { Interactions } from './recsys.js';

export interface MmrecData {
  numUsers: number;
  numItems: number;
  train: Interactions;
  valid: Interactions;
  test: Interactions;
  imageFeatures?: Tensor;
  textFeatures?: Tensor;
}

/** Parses the text of an `.inter` file into CSR splits (users and items are the file's 0-based ids). */
export function parseInter(text: string, opts: { userField?: string; itemField?: string; splitField?: string } = {}): Omit<MmrecData, 'imageFeatures' | 'textFeatures'> {
  const op = 'parseInter';
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length === 0) throw new OpError(op, 'the file is empty');
  const header = lines[0]!.split('\t').map((h) => h.trim().replace(/:.*$/, ''));
  const col = (name: string) => {
    const c = header.indexOf(name);
    if (c < 0) throw new OpError(op, `the header has no '${name}' column (columns: ${header.join(', ')})`);
    return c;
  };
  const cu = col(opts.userField ?? 'userID');
  const ci = col(opts.itemField ?? 'itemID');
  const cs = col(opts.splitField ?? 'x_label');
  const rows: [number, number, number][] = [];
  let numUsers = 0;
  let numItems = 0;
  for (let l = 1; l < lines.length; l++) {
    const f = lines[l]!.split('\t');
    const u = Number(f[cu]);
    const i = Number(f[ci]);
    const s = Number(f[cs]);
    if (!Number.isInteger(u) || u < 0 || !Number.isInteger(i) || i < 0) throw new OpError(op, `line ${l + 1}: user and item ids must be non-negative integers, got '${f[cu]}' and '${f[ci]}'`);
    if (s !== 0 && s !== 1 && s !== 2) throw new OpError(op, `line ${l + 1}: x_label must be 0, 1 or 2, got '${f[cs]}'`);
    rows.push([u, i, s]);
    numUsers = Math.max(numUsers, u + 1);
    numItems = Math.max(numItems, i + 1);
  }
  const split = (which: number): Interactions => {
    const per: number[][] = Array.from({ length: numUsers }, () => []);
    for (const [u, i, s] of rows) if (s === which) per[u]!.push(i);
    const offsets = new Int32Array(numUsers + 1);
    per.forEach((r, u) => (offsets[u + 1] = offsets[u]! + r.length));
    const users = new Int32Array(offsets[numUsers]!);
    const items = new Int32Array(offsets[numUsers]!);
    per.forEach((r, u) => {
      r.sort((a, b) => a - b);
      users.fill(u, offsets[u]!, offsets[u + 1]!);
      items.set(r, offsets[u]!);
    });
    return { users, items, offsets };
  };
  return { numUsers, numItems, train: split(0), valid: split(1), test: split(2) };
}

/** Loads `<dir>/<name>.inter` and the feature files present; feature rows must cover every item id. */
export function loadMmrec(dir: string, name: string): MmrecData {
  const interPath = join(dir, `${name}.inter`);
  if (!existsSync(interPath)) throw new OpError('loadMmrec', `${interPath} does not exist`);
  const data: MmrecData = parseInter(readFileSync(interPath, 'utf8'));
  for (const [file, key] of [['image_feat.npy', 'imageFeatures'], ['text_feat.npy', 'textFeatures']] as const) {
    const p = join(dir, file);
    if (!existsSync(p)) continue;
    const arr = parseNpy(new Uint8Array(readFileSync(p)));
    if (arr.shape.length !== 2) throw new OpError('loadMmrec', `${file} must be 2-D [numItems, F], got [${arr.shape.join(', ')}]`);
    if (arr.shape[0]! < data.numItems) throw new OpError('loadMmrec', `${file} has ${arr.shape[0]} rows but the interactions name ${data.numItems} items`);
    data.numItems = Math.max(data.numItems, arr.shape[0]!);
    data[key] = npyToTensor(arr);
  }
  return data;
}
