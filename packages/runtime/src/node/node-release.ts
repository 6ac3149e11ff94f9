/**
 * Official Node.js binaries from the npm registry (the package
 * `node-linux-<arch>@<version>`), installed once into cspec's data directory
 * and reused: for `cspec test --node N` and the `cspec/node:N` images. The
 * install goes to a temporary directory that is renamed into place, so a
 * killed or concurrent install never leaves a half-written Node that a later
 * run trusts.
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CspecError } from '../errors.js';

/** `22` or `22.12.0`. */
export const NODE_VERSION = /^\d{2,}(\.\d+){0,2}$/;

export function checkNodeVersion(text: string): string {
  if (!NODE_VERSION.test(text)) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `invalid Node version "${text}" — use a major version such as 22, or a full version such as 22.12.0`,
    );
  }
  return text;
}

export interface NodeRelease {
  /** The binary (a real path). */
  readonly binary: string;
  /** As the package says, e.g. `22.23.3`. */
  readonly version: string;
}

function npmInstall(prefix: string, spec: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'npm',
      ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', spec],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) },
    );
    let output = '';
    const collect = (d: Buffer) => {
      output += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(output.trim() || `npm exited with ${code}`)),
    );
  });
}

/** Installs (once) and returns the Node release `version` for this machine's architecture. */
export async function nodeRelease(options: {
  readonly dataDir: string;
  readonly version: string;
  readonly signal?: AbortSignal;
  readonly log?: (message: string) => void;
}): Promise<NodeRelease> {
  const version = checkNodeVersion(options.version);
  const pkg = `node-linux-${process.arch}`;
  const dir = join(options.dataDir, 'node', version);
  const packageDir = (root: string) => join(root, 'node_modules', pkg);
  const found = async (root: string): Promise<NodeRelease> => ({
    binary: realpathSync(join(packageDir(root), 'bin', 'node')),
    version: (
      JSON.parse(await readFile(join(packageDir(root), 'package.json'), 'utf8')) as { version: string }
    ).version,
  });
  if (existsSync(join(packageDir(dir), 'bin', 'node'))) return found(dir);
  await mkdir(join(options.dataDir, 'node'), { recursive: true });
  const temp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  options.log?.(`installing Node ${version} (npm package ${pkg}@${version}) into ${dir}`);
  try {
    await npmInstall(temp, `${pkg}@${version}`, options.signal);
    if (!existsSync(join(packageDir(temp), 'bin', 'node')))
      throw new Error(`${pkg}@${version} has no bin/node`);
    await rename(temp, dir).catch((error: NodeJS.ErrnoException) => {
      // Another process installed it meanwhile: use theirs.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new CspecError(
      'CSPEC_IMAGE_BUILD_FAILED',
      `could not install Node ${version} from the npm package ${pkg}@${version}: ${(error as Error).message.split('\n')[0]}`,
      { hint: `check the version exists (npm view ${pkg} versions) and that the npm registry is reachable` },
    );
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return found(dir);
}
