/**
 * Overlay mounts: a host directory the container may change freely, while
 * the host copy stays byte for byte as it was, and the changes go away with
 * the container.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type ContainerSpec, isCspecError, resolveConfig } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();

/** Every path, mode and content under `dir`, hashed. */
function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    const st = statSync(path);
    hash.update(`${relative(dir, path)}\0${st.mode}\0`);
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
    else hash.update(readFileSync(path));
  };
  walk(dir);
  return hash.digest('hex');
}

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cspec-overlay-'));
  writeFileSync(join(dir, 'keep.txt'), 'original\n');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'gone.txt'), 'delete me\n');
  return dir;
}

const SCRIPT = [
  'set -e',
  'echo changed > keep.txt',
  'rm sub/gone.txt',
  'mkdir -p new/deeper && echo fresh > new/deeper/file.txt',
  'echo "$(cat keep.txt) $(ls sub | wc -l) $(cat new/deeper/file.txt)"',
].join('; ');

async function runIn(dir: string, extra: Partial<ContainerSpec> = {}) {
  const c = await engine().run({
    image: IMAGE,
    command: ['sh', '-c', SCRIPT],
    workingDir: '/project',
    mounts: [{ type: 'overlay', source: dir, target: '/project' }],
    ...extra,
  });
  const exit = await c.wait();
  const log = await c.logText();
  const config = resolveConfig();
  const writable =
    extra.writableLayer === 'disk' ? join(config.dataDir, 'writable', c.id) : join(config.tmpfsDir, c.id);
  const hadUpper = existsSync(join(writable, 'mounts', '0', 'upper', 'new'));
  await c.remove();
  return { exit, log, hadUpper, writable };
}

describe('overlay mounts', () => {
  it('lets the container write, change and delete, and leaves the host directory untouched', async () => {
    const dir = project();
    try {
      const before = treeHash(dir);
      const { exit, log, hadUpper, writable } = await runIn(dir);
      expect(log.trim()).toBe('changed 0 fresh');
      expect(exit.exitCode).toBe(0);
      // The changes lived with the container's writable layer and went with it.
      expect(hadUpper).toBe(true);
      expect(existsSync(writable)).toBe(false);
      expect(treeHash(dir)).toBe(before);
      expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('original\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each container its own changes over the same directory, also with the layer on disk', async () => {
    const dir = project();
    try {
      const before = treeHash(dir);
      const runs = await Promise.all([runIn(dir), runIn(dir, { writableLayer: 'disk' })]);
      // The second run would fail at `rm sub/gone.txt` if it saw the first one's changes.
      expect(runs.map((r) => r.log.trim())).toEqual(['changed 0 fresh', 'changed 0 fresh']);
      expect(runs.map((r) => r.exit.exitCode)).toEqual([0, 0]);
      expect(runs.map((r) => [r.hadUpper, existsSync(r.writable)])).toEqual([
        [true, false],
        [true, false],
      ]);
      expect(treeHash(dir)).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a source that is missing or not a directory (the leak check after the file proves nothing was left)', async () => {
    const dir = project();
    try {
      for (const source of [join(dir, 'missing'), join(dir, 'keep.txt')]) {
        const error = await engine()
          .run({ image: IMAGE, command: ['true'], mounts: [{ type: 'overlay', source, target: '/p' }] })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(isCspecError(error, 'CSPEC_INVALID_SPEC'), String(error)).toBe(true);
        expect((error as Error).message).toMatch(
          source.endsWith('missing') ? /does not exist/ : /not a directory/,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
