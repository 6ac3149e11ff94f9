import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainIds } from './chain-id.js';

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

describe('chainIds', () => {
  it('is the diff id for the lowest layer and chains the rest', () => {
    const [a, b, c] = [sha('a'), sha('b'), sha('c')];
    const ab = sha(`${a} ${b}`);
    expect(chainIds([a, b, c])).toEqual([a, ab, sha(`${ab} ${c}`)]);
  });
  it('matches a known value', () => {
    // sha256("sha256:aaa… sha256:bbb…") computed independently with coreutils.
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    expect(chainIds([a, b])[1]).toBe(
      'sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c',
    );
  });
  it('depends on the order of layers', () => {
    expect(chainIds([sha('a'), sha('b')])[1]).not.toBe(chainIds([sha('b'), sha('a')])[1]);
  });
  it('is empty for no layers', () => {
    expect(chainIds([])).toEqual([]);
  });
});
