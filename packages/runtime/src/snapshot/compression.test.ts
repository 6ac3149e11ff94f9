import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createZstdDecoder, detectCompression } from './compression.js';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;

describe('detectCompression', () => {
  it('goes by magic bytes', () => {
    expect(detectCompression(gzipSync('x'))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from('ustar'))).toBe('none');
    expect(detectCompression(Buffer.from([0x28, 0xb5]))).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
  });
});

describe.skipIf(!hasZstd)('createZstdDecoder', () => {
  it('decodes zstd (Node zlib or the zstd program) and reports garbage', async () => {
    const text = 'hello zstd '.repeat(1000);
    const packed = spawnSync('zstd', ['-c'], { input: text }).stdout;
    const chunks: Buffer[] = [];
    for await (const chunk of Readable.from([packed]).pipe(createZstdDecoder('test layer')))
      chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(text);

    const broken = Buffer.concat([packed.subarray(0, 8), Buffer.alloc(64, 7)]);
    const failing = async () => {
      for await (const _ of Readable.from([broken]).pipe(createZstdDecoder('test layer'))) {
      }
    };
    await expect(failing()).rejects.toThrow();
  });
});
