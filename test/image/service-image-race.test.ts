/**
 * The acceptance for service images: four processes ask for
 * cspec/postgres:15 at the same moment on a cold cache — a data directory of
 * its own, seeded with cspec/debian:bookworm through `image save` / `load` so
 * no debootstrap runs — and the image is built once (only one process sees
 * build progress), then each process's container answers a pg query.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();
const PROCESSES = 4;
let dataDir: string;

beforeAll(async () => {
  // On the data directory's file system (overlay upper dirs cannot live on every file system).
  const scratch = await mkdtemp(join(resolveConfig().dataDir, '..', 'cspec-race-postgres-'));
  dataDir = join(scratch, 'data');
  const archive = join(scratch, 'debian.tar');
  await engine().images.resolve(IMAGE);
  await engine().images.save([IMAGE], archive);
  await createImageStore(resolveConfig({ dataDir })).load(archive);
  await rm(archive);
}, 600_000);

afterAll(async () => {
  if (dataDir) await rm(join(dataDir, '..'), { recursive: true, force: true });
});

interface ChildReport {
  readonly pid: number;
  readonly buildEvents: readonly string[];
  readonly imageId: string;
  readonly answer: number;
  readonly version: string;
}

describe('cspec/postgres:15 on a cold cache', () => {
  it('four processes at the same moment: one build, four containers that answer pg', async () => {
    const script = fileURLToPath(new URL('./postgres-in-child.ts', import.meta.url));
    const children = Array.from({ length: PROCESSES }, () => {
      const child = execFile(process.execPath, ['--import', 'tsx', '--conditions', 'cspec-source', script], {
        env: { ...process.env, CSPEC_DATA_DIR: dataDir },
        maxBuffer: 16 * 1024 * 1024,
      });
      const lines: string[] = [];
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const ready = new Promise<void>((resolve) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (line === 'ready') resolve();
          else lines.push(line);
        });
      });
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
      return { child, lines, ready, exited, stderr: () => stderr };
    });
    // Every process has its engine; then all ask at once.
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin?.write('go\n');
    const codes = await Promise.all(children.map((c) => c.exited));
    for (const [i, c] of children.entries()) expect(codes[i], c.stderr()).toBe(0);

    const reports = children.map((c) => JSON.parse(c.lines.at(-1) ?? '{}') as ChildReport);
    const builders = reports.filter((r) => r.buildEvents.length > 0);
    expect(builders).toHaveLength(1);
    // The one build went through the Dockerfile's steps (the RUN that installs postgresql-15 among them).
    expect(builders[0]?.buildEvents.some((m) => /step \d+\/\d+ RUN --network=host/.test(m))).toBe(true);
    expect(new Set(reports.map((r) => r.imageId)).size).toBe(1);
    for (const r of reports) {
      expect(r.answer).toBe(r.pid * 2);
      expect(r.version).toMatch(/^PostgreSQL 15\./);
    }
    expect(new Set(reports.map((r) => r.pid)).size).toBe(PROCESSES);

    // The cold cache now holds the base and the service image (and the build's step images), and no work in progress.
    const tags = (await createImageStore(resolveConfig({ dataDir })).list()).map((i) => i.reference);
    expect(tags).toEqual(expect.arrayContaining([IMAGE, 'cspec/postgres:15']));
    expect(await readdir(join(dataDir, 'tmp')).catch(() => [])).toEqual([]);
    expect(await readdir(join(dataDir, 'build-tmp')).catch(() => [])).toEqual([]);
  }, 900_000);
});
