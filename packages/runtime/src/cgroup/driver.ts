/**
 * The cgroup side of a container. runc/crun create the cgroup and apply the
 * limits from the OCI config; a driver reads what happened (OOM kills)
 * and removes leftovers when the OCI runtime's own state is gone.
 */
export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface CgroupDriver {
  readonly mode: CgroupMode;
  /**
   * Whether containers get a cgroup of their own, and so memory, CPU and pids
   * limits (false: a rootless engine that no cgroup was delegated to).
   */
  readonly limits: boolean;
  /** Value for the OCI config's `linux.cgroupsPath`; undefined: the runtime makes none. */
  pathFor(containerId: string): string | undefined;
  /** How many processes the kernel's OOM killer killed in the container's cgroup. */
  oomKillCount(containerId: string): Promise<number>;
  /** Ids of containers that have a cgroup (what leak checks look at). */
  list(): Promise<string[]>;
  /** SIGKILLs every process left in the cgroup and removes it everywhere. Idempotent. */
  remove(containerId: string): Promise<void>;
}

export const CGROUP_PREFIX = 'cspec-';

export function cgroupName(containerId: string): string {
  return `${CGROUP_PREFIX}${containerId}`;
}

/** `oom_kill N` from v1 memory.oom_control or v2 memory.events. */
export function parseOomKillCount(text: string): number {
  const match = /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}
