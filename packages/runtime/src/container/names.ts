/**
 * Container names: a file `<runDir>/names/<name>` holding the container's
 * id, created exclusively so two processes never get the same name. A name
 * whose container directory is gone (its owner crashed between the two) is
 * free again.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { CspecError } from '../errors.js';
import { writeFileExclusive } from '../util/atomic-file.js';
import { containerPaths, namesDir } from './paths.js';

function namePath(config: RuntimeConfig, name: string): string {
  return join(namesDir(config), name);
}

async function holderOf(config: RuntimeConfig, name: string): Promise<string | undefined> {
  const text = await readFile(namePath(config, name), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return text?.trim();
}

/** The id of the container called `name`, if there is one. */
export async function containerIdByName(config: RuntimeConfig, name: string): Promise<string | undefined> {
  const id = await holderOf(config, name);
  return id && existsSync(containerPaths(config, id, '').dir) ? id : undefined;
}

/**
 * Takes `name` for container `id`, whose directory must already exist.
 * Throws `CSPEC_NAME_IN_USE` when a live container has it.
 */
export async function reserveName(config: RuntimeConfig, name: string, id: string): Promise<void> {
  await mkdir(namesDir(config), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    // Created whole (written aside, then linked), so a reader never sees an empty holder.
    if (await writeFileExclusive(namePath(config, name), id)) return;
    const holder = await holderOf(config, name);
    if (holder && existsSync(containerPaths(config, holder, '').dir)) {
      throw new CspecError('CSPEC_NAME_IN_USE', `the container name "${name}" is already in use`, {
        hint: `remove it first (cspec rm -f ${name}) or choose another name`,
      });
    }
    if (attempt >= 3) {
      throw new CspecError(
        'CSPEC_NAME_IN_USE',
        `the container name "${name}" is being taken by another process`,
      );
    }
    // A stale name: its container is gone. Free it (if it still holds the same id) and try again.
    if (holder !== undefined) await releaseName(config, name, holder);
  }
}

/** Frees `name` if container `id` holds it. Idempotent. */
export async function releaseName(config: RuntimeConfig, name: string, id: string): Promise<void> {
  if ((await holderOf(config, name)) !== id) return;
  await unlink(namePath(config, name)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
