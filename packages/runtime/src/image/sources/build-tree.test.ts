import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { SourceContext } from '../source.js';
import { tarIntoBlobs } from './build-tree.js';

describe('tarIntoBlobs', () => {
  it('keeps the whole archive of a small tree even when the store starts reading after tar has exited', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cspec-tar-'));
    try {
      await writeFile(join(dir, 'file'), 'content');
      let bytes = 0;
      const ctx = {
        signal: undefined,
        blobs: {
          async ingest(source: Readable) {
            await sleep(300); // tar is long done by now
            for await (const chunk of source) bytes += (chunk as Buffer).length;
            return { digest: 'sha256:x', size: bytes };
          },
          async delete() {},
        },
      } as unknown as SourceContext;
      await tarIntoBlobs(dir, ctx);
      // A tar of one small file: headers and padding make it at least 3 KiB.
      expect(bytes).toBeGreaterThanOrEqual(3 * 512);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
