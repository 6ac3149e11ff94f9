import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGrowingFile } from './growing-file.js';

async function all(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('growing file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-growing-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads what is written as it is written, and ends only when the writer is done', async () => {
    const path = join(dir, 'part');
    const file = createGrowingFile(path);
    const reading = all(file.read());
    let ended = false;
    void reading.then(() => {
      ended = true;
    });
    await writeFile(path, 'abc');
    file.written(3);
    await tick();
    await appendFile(path, 'def');
    file.written(6);
    await tick();
    expect(ended).toBe(false);
    file.finish();
    expect(await reading).toBe('abcdef');
  });

  it('reads a file that was complete and moved away before the reader opened it', async () => {
    const path = join(dir, 'part');
    const file = createGrowingFile(path);
    await writeFile(path, 'whole blob');
    file.written(10);
    await rename(path, join(dir, 'stored'));
    file.finish(undefined, join(dir, 'stored'));
    expect(await all(file.read())).toBe('whole blob');
    expect(await readFile(join(dir, 'stored'), 'utf8')).toBe('whole blob');
  });

  it("fails with the writer's error, also a reader waiting for more", async () => {
    const path = join(dir, 'part');
    const file = createGrowingFile(path);
    await writeFile(path, 'ab');
    file.written(2);
    const reading = all(file.read());
    await tick();
    const broken = new Error('connection reset');
    file.finish(broken);
    await expect(reading).rejects.toBe(broken);
    expect(file.error).toBe(broken);
  });
});
