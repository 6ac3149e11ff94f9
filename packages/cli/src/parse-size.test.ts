import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from './parse-size.js';
import { UsageError } from './usage-error.js';

describe('parseSize', () => {
  it.each([
    ['1048576', 1_048_576],
    ['512k', 512 * 1024],
    ['512K', 512 * 1024],
    ['64m', 64 * 1024 ** 2],
    ['64M', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['64MiB', 64 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['100b', 100],
    ['2t', 2 * 1024 ** 4],
  ])('%s -> %d bytes', (text, bytes) => {
    expect(parseSize(text, '--memory')).toBe(bytes);
  });

  it.each(['', 'abc', '64x', '-1m', '1..5g', 'm', '0', '0m', '64 m b'])('rejects %j', (text) => {
    expect(() => parseSize(text, '--memory', 'run')).toThrow(UsageError);
  });

  it('says a size too large to pass on is too large, not that it must be greater than zero', () => {
    expect(() => parseSize('99999999g', '--memory')).toThrow(
      'invalid size "99999999g" for --memory — it is larger than the largest size cspec passes on (8 PiB)',
    );
    expect(() => parseSize('0', '--memory')).toThrow('it must be greater than zero');
  });

  it('names the flag and shows valid forms', () => {
    expect(() => parseSize('lots', '--memory')).toThrow(
      'invalid size "lots" for --memory — use a number of bytes or a number with a unit: 512k, 64m, 1g',
    );
  });
});

describe('formatSize', () => {
  it('uses binary units', () => {
    expect(formatSize(64 * 1024 ** 2)).toBe('64 MiB');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(3 * 1024 ** 3)).toBe('3 GiB');
  });
});
