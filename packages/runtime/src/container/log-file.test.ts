import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { streamLogFile, tailLines } from './log-file.js';

describe('log files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-log-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('tails the last lines, with or without a trailing newline', () => {
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tailLines('a\nb\nc', 2)).toBe('b\nc');
    expect(tailLines('a\n', 0)).toBe('');
    expect(tailLines('a\nb\n', undefined)).toBe('a\nb\n');
  });

  it('follows appended output and keeps characters split across writes whole', async () => {
    const path = join(dir, 'container.log');
    const accent = Buffer.from('é'); // two bytes
    await writeFile(path, Buffer.concat([Buffer.from('h'), accent.subarray(0, 1)]));
    let done = false;
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const chunk of streamLogFile(path, { follow: true, done: () => done, pollMs: 5 })) {
        chunks.push(chunk);
      }
    })();
    await sleep(30);
    await appendFile(path, Buffer.concat([accent.subarray(1), Buffer.from('llo ✓\n')]));
    await sleep(30);
    await appendFile(path, 'second line\n');
    await sleep(30);
    done = true;
    await reading;
    expect(chunks.join('')).toBe('héllo ✓\nsecond line\n');
    expect(chunks.join('')).not.toContain('\uFFFD');
  });

  it('stops at once when the signal aborts', async () => {
    const path = join(dir, 'container.log');
    await writeFile(path, 'x\n');
    const controller = new AbortController();
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const chunk of streamLogFile(path, {
        follow: true,
        done: () => false,
        signal: controller.signal,
      })) {
        chunks.push(chunk);
      }
    })();
    await sleep(20);
    controller.abort();
    await reading;
    expect(chunks).toEqual(['x\n']);
  });
});
