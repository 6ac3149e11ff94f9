/**
 * The engine's three directories on the host — data (images, unpacked layers,
 * disk writable layers), run (container state with each container's
 * environment, logs, sessions) and tmpfs (writable layers in memory) — are
 * the guard against other local users. What containers write there (a setuid
 * shell, say) and what images hold (setuid binaries, device nodes) would
 * otherwise be theirs to run: Docker's CVE-2021-41091. Docker makes its root
 * 0710 so that a remapped container root (its group) can pass; cspec maps no
 * users, so nobody but the owner needs to: 0700.
 *
 * Opening tightens directories that exist already (earlier versions made
 * them 0755), whatever the umask, and refuses one that another user owns or
 * reached through another user's symbolic link: a world-writable parent such
 * as /dev/shm lets anyone create the tmpfs directory before cspec does.
 */
import { chmod, lstat, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { CspecError } from '../errors.js';

/** Owner only: read, write, traverse. */
export const PRIVATE_DIR_MODE = 0o700;

interface HostDir {
  readonly path: string;
  /** What it is, for messages. */
  readonly role: string;
  /** The variable that moves it elsewhere. */
  readonly env: string;
}

/** Creates or tightens the data, run and tmpfs directories (see above). */
export async function openHostDirs(config: RuntimeConfig): Promise<void> {
  const dirs: HostDir[] = [
    { path: config.dataDir, role: 'data directory', env: 'CSPEC_DATA_DIR' },
    { path: config.runDir, role: 'run directory', env: 'CSPEC_RUN_DIR' },
    { path: config.tmpfsDir, role: 'tmpfs directory', env: 'CSPEC_TMPFS_DIR' },
  ];
  await Promise.all(dirs.map(openPrivateDir));
}

async function openPrivateDir(dir: HostDir): Promise<void> {
  const euid = process.geteuid?.() ?? 0;
  const { path } = dir;
  try {
    // Existing parents keep their mode: they are not cspec's (e.g. /var/lib). Missing ones are made private.
    await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
    await mkdir(path, { mode: PRIVATE_DIR_MODE }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } catch (error) {
    throw new CspecError(
      'CSPEC_HOST_UNSUPPORTED',
      `cannot create the ${dir.role} ${path}: ${message(error)}`,
      {
        cause: error,
        hint: `make it creatable, or choose another directory with ${dir.env}`,
      },
    );
  }
  // A parent that another user owns (a /tmp/cspec-<uid> made first by someone else) lets them swap the directory.
  const parent = await stat(dirname(path));
  if (parent.uid !== euid && parent.uid !== 0) {
    throw unsafe(dir, `its parent ${dirname(path)} is owned by uid ${parent.uid}, who could replace it`);
  }
  const link = await lstat(path);
  if (link.isSymbolicLink() && link.uid !== euid) {
    throw unsafe(dir, `it is a symbolic link that uid ${link.uid} owns, not uid ${euid} that runs cspec`);
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw unsafe(dir, `it cannot be followed (${message(error)})`);
  }
  if (!info.isDirectory()) throw unsafe(dir, 'it is not a directory');
  if (info.uid !== euid) {
    throw unsafe(dir, `it is owned by uid ${info.uid}, not by uid ${euid} that runs cspec`);
  }
  if ((info.mode & 0o7777) !== PRIVATE_DIR_MODE) await chmod(path, PRIVATE_DIR_MODE);
}

function unsafe(dir: HostDir, why: string): CspecError {
  return new CspecError(
    'CSPEC_UNSAFE_HOST_DIR',
    `cspec will not use the ${dir.role} ${dir.path}: ${why} — whoever controls it could read or replace containers' files`,
    {
      hint: `remove it if you did not make it (rm -rf ${dir.path}) and run again, or choose another directory with ${dir.env}`,
    },
  );
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
