import { describe, expect, it } from 'vitest';
import { checkNodeVersion, nodeRelease } from './node-release.js';

describe('Node releases', () => {
  it('takes a major or a full version', () => {
    expect(checkNodeVersion('22')).toBe('22');
    expect(checkNodeVersion('22.12.0')).toBe('22.12.0');
  });

  it('refuses anything else with a hint, before installing anything', async () => {
    for (const bad of ['', 'latest', 'v22', '2', '22.x', '../22']) {
      expect(() => checkNodeVersion(bad)).toThrow(/use a major version such as 22/);
      await expect(nodeRelease({ dataDir: '/nonexistent', version: bad })).rejects.toThrow(
        /invalid Node version/,
      );
    }
  });
});
