import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeAbandonedWrites, writeFileAtomic, writeFileExclusive } from './atomic-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cspec-atomic-'));
  dirs.push(dir);
  return dir;
}

/** A pid that no process has any more (it ran `true` and was reaped). */
function deadPid(): number {
  const { pid } = spawnSync('true');
  return pid;
}

describe('removeAbandonedWrites', () => {
  it("removes a killed writer's temp file and keeps a live writer's and every other file", async () => {
    const dir = scratch();
    const dead = deadPid();
    writeFileSync(join(dir, `a.json.${dead}.0123abcd.tmp`), '{"half":');
    writeFileSync(join(dir, `b.json.${process.pid}.89abcdef.tmp`), '{}');
    writeFileSync(join(dir, 'a.json'), '{}');
    writeFileSync(join(dir, 'notes.tmp'), 'not a temp of ours');
    expect(await removeAbandonedWrites(dir)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['a.json', `b.json.${process.pid}.89abcdef.tmp`, 'notes.tmp']);
  });

  it('takes a missing directory as empty', async () => {
    expect(await removeAbandonedWrites(join(scratch(), 'missing'))).toBe(0);
  });
});

describe('file modes', () => {
  it('writes state files for the owner only (0600), even under umask 0', async () => {
    const dir = scratch();
    const previous = process.umask(0);
    try {
      await writeFileAtomic(join(dir, 'state.json'), '{}');
      await writeFileExclusive(join(dir, 'name'), 'id');
    } finally {
      process.umask(previous);
    }
    expect((statSync(join(dir, 'state.json')).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(join(dir, 'name')).mode & 0o777).toString(8)).toBe('600');
  });
});
