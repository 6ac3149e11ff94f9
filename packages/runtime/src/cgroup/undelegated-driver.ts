import type { CgroupDriver, CgroupMode } from './driver.js';

/**
 * A rootless engine with no cgroup delegated to its user: the OCI runtime
 * makes no cgroup (it may not), containers stay in the caller's cgroups and
 * run without limits; the engine says so when a spec asks for one
 * (engine/limits.ts). `cspec doctor` prints how to delegate.
 */
export function createUndelegatedDriver(mode: CgroupMode): CgroupDriver {
  return {
    mode,
    limits: false,
    pathFor: () => undefined,
    // Without a cgroup of its own the kernel's OOM kills of a container cannot be told apart.
    oomKillCount: async () => 0,
    list: async () => [],
    remove: async () => {},
  };
}
