import { describe, expect, it } from 'vitest';
import { checkNodeVersion, nodeBinary } from './node-runtime.js';

describe('--node', () => {
  it('takes a major or a full version', () => {
    expect(checkNodeVersion('22')).toBe('22');
    expect(checkNodeVersion('22.12.0')).toBe('22.12.0');
  });

  it('refuses anything else with a hint', () => {
    for (const bad of ['', 'latest', 'v22', '2', '22.x', '../22']) {
      expect(() => checkNodeVersion(bad)).toThrow(/use a major version such as 22/);
    }
  });

  it('uses the Node running cspec when no version is asked for', async () => {
    const binary = await nodeBinary(undefined, {
      dataDir: '/nonexistent',
      signal: new AbortController().signal,
      log: () => {},
    });
    expect(binary).toBe(process.execPath);
  });
});
