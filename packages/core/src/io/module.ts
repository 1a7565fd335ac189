/**
 * Module checkpoints: a module's `stateDict()` to a safetensors file and back by name, so a
 * checkpoint written by PyTorch (`save_file(model.state_dict(), path)`) loads into the module
 * with the same dotted parameter paths.
 */
import type { Tensor } from '../tensor.js';
import { loadSafetensors, saveSafetensors } from './files.js';
import type { DeserializeOptions, SafetensorsTensors } from './safetensors.js';

export interface LoadModuleOptions {
  /** Require the keys to match the module's exactly (PyTorch's default: true). */
  strict?: boolean;
}

/**
 * What the checkpoint helpers need from a module (nn.Module has it): its named tensors, and a way
 * to take values back by name. Typed structurally so any object with these two methods works.
 */
export interface StateDictModule<R = unknown> {
  stateDict(): SafetensorsTensors;
  loadStateDict(state: Map<string, Tensor>, opts: LoadModuleOptions): R;
}

/** Saves `module.stateDict()` to `path` (safetensors), with optional string metadata. */
export async function saveModule(module: StateDictModule, path: string, metadata?: Record<string, string>): Promise<void> {
  await saveSafetensors(path, module.stateDict(), metadata);
}

/**
 * Loads the safetensors file at `path` into `module` through `module.loadStateDict(tensors,
 * { strict })` (strict by default, as in PyTorch) and returns what that returns. `loadStateDict`
 * is expected to copy values in (as `Tensor.assign` does); loaded tensors the module did not keep
 * by identity are disposed afterwards, so loading leaks no backend memory.
 */
export async function loadModule<R>(module: StateDictModule<R>, path: string, opts: LoadModuleOptions & DeserializeOptions = {}): Promise<R> {
  const { tensors } = await loadSafetensors(path, opts.backend === undefined ? {} : { backend: opts.backend });
  let kept: Set<Tensor> = new Set();
  try {
    const result = module.loadStateDict(tensors, { strict: opts.strict ?? true });
    const state = module.stateDict();
    kept = new Set(state instanceof Map ? state.values() : Object.values(state));
    return result;
  } finally {
    for (const t of tensors.values()) if (!kept.has(t)) t.dispose();
  }
}
