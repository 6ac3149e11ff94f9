import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readExitStatus } from './native-container.js';

describe('readExitStatus', () => {
  let dir: string;
  let paths: { exit: string; exitJson: string };
  const ctx = { cgroups: { oomKillCount: async () => 0 } } as never;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-exit-'));
    paths = { exit: join(dir, 'exit'), exitJson: join(dir, 'exit.json') };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is undefined while the monitor has not written the file, or has only created it', async () => {
    expect(await readExitStatus(ctx, paths, 'c1')).toBeUndefined();
    // The shell's redirection creates the file a moment before `echo` writes the code.
    await writeFile(paths.exit, '');
    expect(await readExitStatus(ctx, paths, 'c1')).toBeUndefined();
  });

  it('reads the code once written, and keeps it', async () => {
    await writeFile(paths.exit, '137\n');
    expect(await readExitStatus(ctx, paths, 'c1')).toEqual({ exitCode: 137, oomKilled: false });
    await rm(paths.exit);
    expect(await readExitStatus(ctx, paths, 'c1')).toEqual({ exitCode: 137, oomKilled: false });
  });
});
