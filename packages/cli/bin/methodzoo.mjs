#!/usr/bin/env node
// The `methodzoo` command. Inside the methodzoo workspace (the package's tsconfig.json is there; it
// is not published) it runs the TypeScript source through tsx with the `methodzoo-source` export
// condition, so workspace packages resolve to their source and nothing needs building; installed
// from npm it runs dist/. METHODZOO_CLI_FROM=source|dist overrides the choice.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}src/bin.ts`;
const from = process.env.METHODZOO_CLI_FROM ?? (existsSync(`${root}tsconfig.json`) && existsSync(source) ? 'source' : 'dist');

if (from === 'source') {
  let tsx;
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    console.error('methodzoo: running from source needs tsx (run `npx -y pnpm@12.4.2 install` in the workspace), or set METHODZOO_CLI_FROM=dist after a build');
    process.exit(1);
  }
  const r = spawnSync(process.execPath, ['--conditions=methodzoo-source', '--import', tsx, source, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? (r.signal ? 1 : 0));
} else {
  await import(pathToFileURL(`${root}dist/bin.js`).href);
}
