import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { acquireFileLock } from './file-lock.js';

const lockModule = fileURLToPath(new URL('./file-lock.ts', import.meta.url));

/** Runs `body` in a fresh Node process with `acquireFileLock` imported from the sources. */
function runNode(body: string, args: string[]): ChildProcess {
  const script = `import { acquireFileLock } from ${JSON.stringify(lockModule)};\n${body}`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before writing a line`)));
  });
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cspec-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('acquireFileLock', () => {
  it('lets exactly one of several racing processes do the work, one at a time', async () => {
    const lock = join(dir, 'work.lock');
    const log = join(dir, 'log');
    const done = join(dir, 'done');
    // Each process: take the lock, record start/end around a pause, do the work only if nobody did it yet.
    const body = `
      import { appendFile, access, writeFile } from 'node:fs/promises';
      const [lock, log, done] = process.argv.slice(-3);
      const release = await acquireFileLock(lock, { pollMs: 5 });
      await appendFile(log, 'start ' + process.pid + '\\n');
      const already = await access(done).then(() => true, () => false);
      if (!already) {
        await new Promise((r) => setTimeout(r, 150));
        await writeFile(done, String(process.pid));
      }
      await appendFile(log, 'end ' + process.pid + '\\n');
      await release();`;
    const children = Array.from({ length: 4 }, () => runNode(body, [lock, log, done]));
    const codes = await Promise.all(children.map(exited));
    expect(codes).toEqual([0, 0, 0, 0]);

    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(8);
    // Critical sections never interleave: every start is followed by the end of the same process.
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]?.replace('start', 'end')).toBe(lines[i + 1]);
    }
    const worker = await readFile(done, 'utf8');
    expect(children.map((c) => String(c.pid))).toContain(worker);
    // Nothing but the log and the marker is left: no lock, no temp files.
    expect((await readdir(dir)).sort()).toEqual(['done', 'log']);
  });

  it('takes over the lock of a SIGKILLed holder', async () => {
    const lock = join(dir, 'held.lock');
    const holder = runNode(
      `await acquireFileLock(process.argv.at(-1)); console.log('locked'); setInterval(() => {}, 1 << 30);`,
      [lock],
    );
    expect(await firstLine(holder)).toBe('locked');
    expect((await readFile(lock, 'utf8')).split(' ')[0]).toBe(String(holder.pid));

    // While the holder lives, the lock is not available.
    await expect(acquireFileLock(lock, { timeoutMs: 100 })).rejects.toThrow(/timed out waiting for the lock/);

    const gone = exited(holder);
    holder.kill('SIGKILL');
    await gone;
    const release = await acquireFileLock(lock, { timeoutMs: 5_000 });
    expect((await readFile(lock, 'utf8')).split(' ')[0]).toBe(String(process.pid));
    await release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('does not mistake a reused pid for the holder', async () => {
    const lock = join(dir, 'reused.lock');
    // Our own pid with a start time that is not ours: a previous process that had this pid.
    await writeFile(lock, `${process.pid} 1 deadbeef\n`);
    const release = await acquireFileLock(lock, { timeoutMs: 1_000 });
    await release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('stops waiting when aborted and leaves the holder alone', async () => {
    const lock = join(dir, 'abort.lock');
    const release = await acquireFileLock(lock);
    const controller = new AbortController();
    const waiting = acquireFileLock(lock, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await waiting.catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_ABORTED')).toBe(true);
    expect(await readdir(dir)).toEqual(['abort.lock']);
    await release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('release does not remove a lock another process took over', async () => {
    const lock = join(dir, 'stale.lock');
    const release = await acquireFileLock(lock);
    // staleMs: 0 treats our live lock as abandoned, as a slow holder's would be.
    await new Promise((r) => setTimeout(r, 5));
    const second = await acquireFileLock(lock, { staleMs: 0, timeoutMs: 1_000 });
    const content = await readFile(lock, 'utf8');
    await release();
    expect(await readFile(lock, 'utf8')).toBe(content);
    await second();
    expect(await readdir(dir)).toEqual([]);
  });
});
