import { describe, expect, it } from 'vitest';
import { insideIdOf } from './tree-owners.js';

describe('insideIdOf', () => {
  const maps = [
    { inside: 0, outside: 1001, count: 1 },
    { inside: 1, outside: 100000, count: 65536 },
  ];
  it("gives the image's id of a rootless layer file's host owner", () => {
    expect(insideIdOf(maps, 1001)).toBe(0);
    expect(insideIdOf(maps, 100000)).toBe(1);
    expect(insideIdOf(maps, 100998)).toBe(999);
    expect(insideIdOf(maps, 165535)).toBe(65536);
  });
  it('gives the overflow id for a host id the namespace does not map', () => {
    expect(insideIdOf(maps, 0)).toBe(65534);
    expect(insideIdOf(maps, 165536)).toBe(65534);
  });
});
