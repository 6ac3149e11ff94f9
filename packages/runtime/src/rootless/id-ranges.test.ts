import { describe, expect, it } from 'vitest';
import { hostIdOf, idMappings, parseSubordinateRange } from './id-ranges.js';

describe('parseSubordinateRange', () => {
  const user = { name: 'ada', id: 1001 };
  it('finds the range by name or by uid, the largest of several', () => {
    expect(parseSubordinateRange('bob:100000:65536\nada:165536:65536\n', user)).toEqual({
      start: 165536,
      count: 65536,
    });
    expect(parseSubordinateRange('1001:200000:1000\n', user)).toEqual({ start: 200000, count: 1000 });
    expect(parseSubordinateRange('ada:300000:10\n# ada:1:2\nada:400000:65536\n', user)).toEqual({
      start: 400000,
      count: 65536,
    });
  });
  it('gives nothing for a user without a line, or a broken one', () => {
    expect(parseSubordinateRange('bob:100000:65536\n', user)).toBeUndefined();
    expect(parseSubordinateRange('ada:x:65536\nada:100000:0\n', user)).toBeUndefined();
    expect(parseSubordinateRange('', user)).toBeUndefined();
  });
});

describe('idMappings', () => {
  it('maps 0 to the user and 1.. to the range', () => {
    const maps = idMappings(1001, { start: 100000, count: 65536 });
    expect(maps).toEqual([
      { inside: 0, outside: 1001, count: 1 },
      { inside: 1, outside: 100000, count: 65536 },
    ]);
    expect(hostIdOf(maps, 0)).toBe(1001);
    expect(hostIdOf(maps, 999)).toBe(100998);
    expect(hostIdOf(maps, 65536)).toBe(165535);
    expect(hostIdOf(maps, 65537)).toBeUndefined();
  });
  it('maps the user alone without a range', () => {
    expect(idMappings(1001, undefined)).toEqual([{ inside: 0, outside: 1001, count: 1 }]);
  });
});
