import { describe, expect, it } from 'vitest';
import { checkNodeVersion, nodeBinary } from './node-runtime.js';

describe('--node', () => {
  it('refuses a version that is not one, as a usage error', () => {
    expect(checkNodeVersion('24')).toBe('24');
    expect(() => checkNodeVersion('lts')).toThrow(/invalid --node "lts" — use a major version such as 22/);
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
