/**
 * A throwaway Verdaccio registry for the release rehearsal: loopback only, a free port, storage
 * and htpasswd in a folder the caller owns, no uplinks (nothing is fetched from or forwarded to
 * another registry), one user created over the npm API to get a publish token. `stop()` ends it;
 * the child is also killed if this process exits first.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A port the OS reports free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

export function verdaccioBin() {
  const pkgJson = require.resolve('verdaccio/package.json');
  const { bin, version } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  return { bin: join(dirname(pkgJson), typeof bin === 'string' ? bin : bin.verdaccio), version };
}

function config(dir) {
  // JSON is YAML: no YAML writer needed.
  return JSON.stringify(
    {
      storage: join(dir, 'storage'),
      auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: 1 } },
      uplinks: {},
      packages: {
        '@*/*': { access: '$all', publish: '$authenticated', unpublish: '$authenticated' },
        '**': { access: '$all', publish: '$authenticated', unpublish: '$authenticated' },
      },
      publish: { allow_offline: true },
      web: { enable: false },
      log: { type: 'stdout', format: 'pretty', level: 'warn' },
    },
    null,
    2,
  );
}

async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? `: ${last.message ?? last}` : ''}`);
}

/**
 * @param {string} dir empty folder for config, storage, htpasswd and log
 * @returns {Promise<{ url: string, port: number, token: string, user: string, version: string, logFile: string, stop: () => Promise<void> }>}
 */
export async function startVerdaccio(dir, { startTimeoutMs = 60_000 } = {}) {
  mkdirSync(join(dir, 'storage'), { recursive: true });
  const cfgFile = join(dir, 'config.yaml');
  writeFileSync(cfgFile, config(dir));
  const { bin, version } = verdaccioBin();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const logFile = join(dir, 'verdaccio.log');
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [bin, '--config', cfgFile, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', log, log],
    env: { ...process.env, VERDACCIO_HANDLE_KILL_SIGNALS: 'true' },
  });
  closeSync(log);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = { code, signal }))));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(t);
  };

  try {
    await waitUntil(
      async () => {
        if (exited) throw new Error(`verdaccio exited (${exited.code ?? exited.signal}):\n${readFileSync(logFile, 'utf8')}`);
        const r = await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(2_000) });
        return r.ok;
      },
      startTimeoutMs,
      `verdaccio ${version} answering on ${url}`,
    );
    // The npm "adduser" call: creates the htpasswd user and returns a token for it.
    const user = 'rehearsal';
    const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    const res = await fetch(`${url}-/user/org.couchdb.user:${user}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _id: `org.couchdb.user:${user}`, name: user, password, type: 'user', roles: [], date: new Date().toISOString() }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.token) throw new Error(`creating the registry user failed: HTTP ${res.status} ${JSON.stringify(body)}`);
    return { url, port, token: body.token, user, version, logFile, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
