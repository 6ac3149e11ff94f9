/**
 * The Node that runs a suite inside containers: the host's own by default;
 * `--node 22` (or `22.12.0`) takes that release from the npm package
 * `node-linux-<arch>` (the official binaries), installed once into cspec's
 * data directory and reused. The install goes to a temporary directory that
 * is renamed into place, so a killed or concurrent install never leaves a
 * half-written Node that a later run trusts.
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../usage-error.js';

export function checkNodeVersion(text: string): string {
  if (!/^\d{2,}(\.\d+){0,2}$/.test(text)) {
    throw new UsageError(
      `invalid --node "${text}" — use a major version such as 22, or a full version such as 22.12.0`,
      'test',
    );
  }
  return text;
}

function binaryIn(dir: string, pkg: string): string {
  return join(dir, 'node_modules', pkg, 'bin', 'node');
}

function npmInstall(prefix: string, spec: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', spec],
      { stdio: ['ignore', 'pipe', 'pipe'], signal },
    );
    let output = '';
    const collect = (d: Buffer) => {
      output += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(output.trim()))));
  });
}

/** A path to the Node binary for `version` (undefined: the one running cspec). */
export async function nodeBinary(
  version: string | undefined,
  options: { readonly dataDir: string; readonly signal: AbortSignal; readonly log: (m: string) => void },
): Promise<string> {
  if (version === undefined) return process.execPath;
  const pkg = `node-linux-${process.arch}`;
  const dir = join(options.dataDir, 'node', version);
  if (existsSync(binaryIn(dir, pkg))) return realpathSync(binaryIn(dir, pkg));
  await mkdir(join(options.dataDir, 'node'), { recursive: true });
  const temp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  options.log(`installing Node ${version} (npm package ${pkg}@${version}) into ${dir}`);
  try {
    await npmInstall(temp, `${pkg}@${version}`, options.signal);
    if (!existsSync(binaryIn(temp, pkg))) throw new Error(`${pkg}@${version} has no bin/node`);
    await rename(temp, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another run installed it meanwhile: use theirs.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw new UsageError(
      `could not install Node ${version} from the npm package ${pkg}@${version}: ${(error as Error).message.split('\n')[0]} — check the version exists (npm view ${pkg} versions) and that the npm registry is reachable`,
      'test',
    );
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return realpathSync(binaryIn(dir, pkg));
}
