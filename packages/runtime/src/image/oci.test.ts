import { describe, expect, it } from 'vitest';
import { toImageConfig } from './oci.js';

const base = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } } as const;

describe('toImageConfig', () => {
  it('reads HEALTHCHECK in its CMD, CMD-SHELL and NONE forms', () => {
    const hc = (Test: string[]) => toImageConfig({ ...base, config: { Healthcheck: { Test } } }).healthcheck;
    expect(hc(['CMD', 'redis-cli', 'ping'])).toEqual(['redis-cli', 'ping']);
    expect(hc(['CMD-SHELL', 'pg_isready || exit 1'])).toEqual(['/bin/sh', '-c', 'pg_isready || exit 1']);
    expect(hc(['NONE'])).toBeUndefined();
    expect(toImageConfig(base).healthcheck).toBeUndefined();
  });

  it('keeps TCP exposed ports only, sorted', () => {
    const config = toImageConfig({
      ...base,
      config: { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '443': {} } },
    });
    expect(config.exposedPorts).toEqual([80, 443]);
  });
});
