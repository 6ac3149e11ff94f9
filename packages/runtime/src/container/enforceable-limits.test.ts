import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCspecError } from '../errors.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.resetModules();
});

// Fresh per test: the warning is given once per process (module).
const load = async () => (await import('./enforceable-limits.js')).enforceableLimits;

describe('enforceableLimits', () => {
  it('passes limits through where cgroups enforce them', async () => {
    const enforceableLimits = await load();
    const resources = { memoryBytes: 64 << 20, pids: 10 };
    expect(enforceableLimits(resources, { limits: true, requireLimits: true })).toBe(resources);
  });

  it('drops them with one warning per process where nothing is delegated', async () => {
    const enforceableLimits = await load();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const host = { limits: false, requireLimits: false };
    expect(enforceableLimits({ memoryBytes: 64 << 20, cpus: 0.5 }, host)).toBeUndefined();
    expect(enforceableLimits({ pids: 5 }, host)).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/without memory, cpus limits: no cgroup is delegated/);
    expect(warn.mock.calls[0]![1]).toEqual({ code: 'CSPEC_LIMITS_IGNORED' });
  });

  it('says nothing when no limit is asked for', async () => {
    const enforceableLimits = await load();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expect(enforceableLimits(undefined, { limits: false, requireLimits: true })).toBeUndefined();
    expect(enforceableLimits({}, { limits: false, requireLimits: true })).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
  });

  it('fails the start when limits must be enforced (CSPEC_REQUIRE_LIMITS=1)', async () => {
    const enforceableLimits = await load();
    let error: unknown;
    try {
      enforceableLimits({ memoryBytes: 64 << 20 }, { limits: false, requireLimits: true });
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_HOST_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toContain('cannot enforce the memory limit of this container');
    expect((error as { hint?: string }).hint).toContain('cspec doctor');
  });
});
