/**
 * safetensors files on disk (Node). `node:fs/promises` is imported on first use, so bundling the
 * core for a browser never pulls it in; there, use `serializeSafetensors` / `deserializeSafetensors`
 * on bytes from `fetch` or a file input.
 */
import { OpError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { collect, decode, encode, type DeserializeOptions, type SafetensorsTensors } from './safetensors.js';

async function nodeFs(op: string): Promise<typeof import('node:fs/promises')> {
  try {
    return await import('node:fs/promises');
  } catch (e) {
    throw new OpError(op, `needs node:fs/promises (Node, Deno or Bun); in a browser use serializeSafetensors / deserializeSafetensors (${(e as Error).message})`);
  }
}

/**
 * Writes `tensors` to `path` as safetensors. Values are read with `await t.data()`, so any
 * backend works. The file is written under a temporary name and renamed into place, so a crash
 * mid-write never leaves a truncated checkpoint where the previous one was.
 */
export async function saveSafetensors(path: string, tensors: SafetensorsTensors, metadata?: Record<string, string>): Promise<void> {
  const list = collect(tensors, metadata, 'saveSafetensors');
  const bytes = encode(list, await Promise.all(list.map((p) => p.tensor.data())), metadata);
  const fs = await nodeFs('saveSafetensors');
  const tmp = `${path}.tmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** Reads a safetensors file; errors name the file, the tensor and what was expected. */
export async function loadSafetensors(path: string, opts: DeserializeOptions = {}): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const fs = await nodeFs('loadSafetensors');
  const bytes = await fs.readFile(path);
  return decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), opts, 'loadSafetensors', path);
}
