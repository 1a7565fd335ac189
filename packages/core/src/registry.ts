/**
 * Backend registry. Backends register with a priority; the default is the highest-priority one
 * that initialises. `METHODZOO_BACKEND=<name>` or `setBackend(name)` forces one. The reference
 * backend (priority 0) is always available and initialises synchronously.
 *
 * Factories may be asynchronous (a wasm module compiles, a native addon loads): those are only
 * usable after `await initBackends()` (or `await setBackendAsync(name)`). Until then the synchronous
 * `getBackend()` skips them, starting their initialisation in the background. A factory that throws
 * `BackendNotInstalled` is reported as 'not installed'; any other error as 'failed' with its message.
 * Nothing here throws at import time.
 */
import { type Backend, BackendNotInstalled } from './backend.js';
import { ReferenceBackend } from './backends/reference/index.js';
import { DTYPES } from './dtype.js';
import type { PrimName } from './prims.js';

export type BackendFactory<H = unknown> = () => Backend<H> | Promise<Backend<H>>;
export type BackendStatus = 'ready' | 'initialising' | 'failed' | 'not installed' | 'not initialised';

interface Registration {
  name: string;
  priority: number;
  factory: BackendFactory;
  status: BackendStatus;
  instance?: Backend;
  error?: string;
  pending?: Promise<Backend | null>;
}

/** Backends that live in their own packages, so an unregistered name can say what to install. */
const KNOWN_PACKAGES: Record<string, string> = {
  'tfjs-wasm': '@methodzoo/backend-tfjs',
  'tfjs-node': '@methodzoo/backend-tfjs',
  'tfjs-node-gpu': '@methodzoo/backend-tfjs',
  'gpujs-webgpu': '@methodzoo/backend-gpujs',
  'gpujs-webasm': '@methodzoo/backend-gpujs',
  'gpujs-webasm-async': '@methodzoo/backend-gpujs',
};

const registrations = new Map<string, Registration>();
let current: Backend | null = null;
/** True when `current` was chosen by name (setBackend or the environment), not by priority. */
let forcedChoice = false;

/**
 * Registers a backend factory under `name` (which must not be a dtype name, so `t.to(x)` is never
 * ambiguous). Higher priority wins the default; the reference backend has 0. Re-registering a name
 * replaces it.
 */
export function registerBackend<H>(name: string, factory: BackendFactory<H>, priority = 1): void {
  if ((DTYPES as readonly string[]).includes(name)) throw new Error(`registerBackend: '${name}' is a dtype name; pick another backend name`);
  const prev = registrations.get(name);
  if (prev?.instance && current === prev.instance) {
    current = null;
    forcedChoice = false;
  }
  // Handles only ever return to the backend that made them, so erasing the handle type is sound.
  registrations.set(name, { name, priority, factory: factory as unknown as BackendFactory, status: 'not initialised' });
}

registerBackend('reference', () => new ReferenceBackend(), 0);

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function settle(reg: Registration, result: Backend | null, e?: unknown): Backend | null {
  reg.pending = undefined;
  if (result) {
    reg.instance = result;
    reg.status = 'ready';
    reg.error = undefined;
  } else {
    reg.status = e instanceof BackendNotInstalled ? 'not installed' : 'failed';
    reg.error = errorText(e);
  }
  return result;
}

/** Synchronous initialisation: null when the factory failed or is asynchronous (then it runs on). */
function initSync(reg: Registration): Backend | null {
  if (reg.instance) return reg.instance;
  if (reg.status !== 'not initialised') return null;
  let made: Backend | Promise<Backend>;
  try {
    made = reg.factory();
  } catch (e) {
    return settle(reg, null, e);
  }
  if (!(made instanceof Promise)) return settle(reg, made);
  reg.status = 'initialising';
  reg.pending = made.then(
    (b) => settle(reg, b),
    (e: unknown) => settle(reg, null, e),
  );
  return null;
}

async function initAsync(reg: Registration): Promise<Backend | null> {
  const b = initSync(reg);
  if (b) return b;
  return reg.pending ? reg.pending : null;
}

function envBackend(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.METHODZOO_BACKEND || undefined;
}

function lookup(name: string): Registration {
  const reg = registrations.get(name);
  if (reg) return reg;
  const pkg = KNOWN_PACKAGES[name];
  const hint = pkg ? `; it comes with ${pkg}: install it and import it once (import '${pkg}')` : '';
  throw new Error(`backend '${name}' is not registered (registered: ${[...registrations.keys()].join(', ')})${hint}`);
}

function unavailable(reg: Registration): Error {
  if (reg.status === 'initialising') {
    return new Error(`backend '${reg.name}' initialises asynchronously: call await initBackends() or await setBackendAsync('${reg.name}') first`);
  }
  return new Error(`backend '${reg.name}' ${reg.status === 'not installed' ? 'is not installed' : 'failed to initialise'}: ${reg.error}`);
}

function requireBackend(name: string): Backend {
  const reg = lookup(name);
  const b = initSync(reg);
  if (!b) throw unavailable(reg);
  return b;
}

async function requireBackendAsync(name: string): Promise<Backend> {
  const reg = lookup(name);
  const b = await initAsync(reg);
  if (!b) throw unavailable(reg);
  return b;
}

function byPriority(): Registration[] {
  return [...registrations.values()].sort((a, b) => b.priority - a.priority);
}

/**
 * The backend new tensors are created on (or the one named). Without `await initBackends()`,
 * asynchronous backends are skipped.
 */
export function getBackend(name?: string): Backend {
  if (name !== undefined) return requireBackend(name);
  if (current) return current;
  const forced = envBackend();
  if (forced) {
    forcedChoice = true;
    return (current = requireBackend(forced));
  }
  for (const reg of byPriority()) {
    const b = initSync(reg);
    if (b) return (current = b);
  }
  throw new Error('no backend could be initialised');
}

/**
 * Initialises backends, asynchronous ones included, and makes the default the highest-priority one
 * that initialises (or the one `METHODZOO_BACKEND` names, which must initialise). A choice made by
 * `setBackend` stays. Returns the default.
 */
export async function initBackends(): Promise<Backend> {
  if (forcedChoice && current) return current;
  const forced = envBackend();
  if (forced) {
    current = await requireBackendAsync(forced);
    forcedChoice = true;
    return current;
  }
  for (const reg of byPriority()) {
    const b = await initAsync(reg);
    if (b) return (current = b);
  }
  throw new Error('no backend could be initialised');
}

/** Makes `name` the default backend for new tensors (it must initialise synchronously or be ready). */
export function setBackend(name: string): Backend {
  current = requireBackend(name);
  forcedChoice = true;
  return current;
}

/** Initialises `name` (waiting for an asynchronous factory) and makes it the default. */
export async function setBackendAsync(name: string): Promise<Backend> {
  current = await requireBackendAsync(name);
  forcedChoice = true;
  return current;
}

// ---- fallbacks -------------------------------------------------------------------------------

export interface FallbackRecord {
  backend: string;
  prim: PrimName;
  reason: string;
  /** How many calls took this fallback. */
  count: number;
}
const fallbacks = new Map<string, FallbackRecord>();

/** @internal called by the engine each time a primitive runs on the reference kernel instead. */
export function recordFallback(backend: string, prim: PrimName, reason: string): void {
  const key = `${backend}\u0000${prim}\u0000${reason}`;
  const rec = fallbacks.get(key);
  if (rec) rec.count++;
  else fallbacks.set(key, { backend, prim, reason, count: 1 });
}

export interface BackendInfo {
  /** The default backend's name. */
  current: string;
  /** Why it is the default: chosen by name (setBackend / METHODZOO_BACKEND) or by priority. */
  chosenBy: 'name' | 'priority';
  /** Every registered backend, highest priority first, with why it is not in use where it is not. */
  backends: { name: string; priority: number; status: BackendStatus; error?: string }[];
  /** Primitives that ran on the reference kernel instead of the backend's own, and why. */
  fallbacks: FallbackRecord[];
}

/** Which backend runs, each registered one's state (and error), and the fallbacks taken so far. */
export function backendInfo(): BackendInfo {
  const cur = getBackend();
  return {
    current: cur.name,
    chosenBy: forcedChoice ? 'name' : 'priority',
    backends: byPriority().map((r) => ({ name: r.name, priority: r.priority, status: r.status, ...(r.error ? { error: r.error } : {}) })),
    fallbacks: [...fallbacks.values()].map((f) => ({ ...f })),
  };
}
