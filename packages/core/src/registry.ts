/**
 * Backend registry. Backends register with a priority; the default is the highest-priority one
 * that initialises. `METHODZOO_BACKEND` or `setBackend(name)` forces one. The reference backend is
 * always available.
 */
import type { Backend } from './backend.js';
import { ReferenceBackend } from './backends/reference/index.js';

interface Registration {
  name: string;
  priority: number;
  factory: () => Backend;
  instance?: Backend;
  error?: string;
}

const registrations = new Map<string, Registration>();
let current: Backend | null = null;

/** Handles only ever return to the backend that made them, so erasing the handle type is sound. */
export function registerBackend<H>(name: string, factory: () => Backend<H>, priority = 1): void {
  registrations.set(name, { name, priority, factory: factory as unknown as () => Backend });
}

registerBackend('reference', () => new ReferenceBackend(), 0);

function init(reg: Registration): Backend | null {
  if (reg.instance) return reg.instance;
  if (reg.error) return null;
  try {
    reg.instance = reg.factory();
    return reg.instance;
  } catch (e) {
    reg.error = e instanceof Error ? e.message : String(e);
    return null;
  }
}

function envBackend(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.METHODZOO_BACKEND || undefined;
}

/** The backend new tensors are created on. */
export function getBackend(name?: string): Backend {
  if (name !== undefined) return requireBackend(name);
  if (current) return current;
  const forced = envBackend();
  if (forced) return (current = requireBackend(forced));
  const sorted = [...registrations.values()].sort((a, b) => b.priority - a.priority);
  for (const reg of sorted) {
    const b = init(reg);
    if (b) return (current = b);
  }
  throw new Error('no backend could be initialised');
}

function requireBackend(name: string): Backend {
  const reg = registrations.get(name);
  if (!reg) throw new Error(`backend '${name}' is not registered (registered: ${[...registrations.keys()].join(', ')})`);
  const b = init(reg);
  if (!b) throw new Error(`backend '${name}' failed to initialise: ${reg.error}`);
  return b;
}

/** Makes `name` the default backend for new tensors. */
export function setBackend(name: string): Backend {
  return (current = requireBackend(name));
}

/** Which backend runs, and for each registered one whether it initialised and, if not, why. */
export function backendInfo(): { current: string; backends: { name: string; priority: number; status: 'ready' | 'failed' | 'not initialised'; error?: string }[] } {
  const cur = getBackend();
  return {
    current: cur.name,
    backends: [...registrations.values()]
      .sort((a, b) => b.priority - a.priority)
      .map((r) => ({ name: r.name, priority: r.priority, status: r.instance ? 'ready' : r.error ? 'failed' : 'not initialised', ...(r.error ? { error: r.error } : {}) })),
  };
}
