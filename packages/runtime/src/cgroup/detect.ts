import { readFileSync } from 'node:fs';
import { unescapeMountPath } from '../util/mountinfo.js';
import type { CgroupDriver } from './driver.js';
import { createUndelegatedDriver } from './undelegated-driver.js';
import { createV1Driver } from './v1-driver.js';
import { createV2Driver } from './v2-driver.js';

export interface CgroupMount {
  readonly mountPoint: string;
  /** The directory of the cgroup tree this mount shows (field 4 of mountinfo; `/` on the host). */
  readonly root: string;
  readonly fsType: string;
  readonly superOptions: string;
}

/** Parses /proc/self/mountinfo lines of cgroup and cgroup2 filesystems. */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fsType, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const root = left[3];
    const mountPoint = left[4];
    if (root && mountPoint) {
      mounts.push({
        mountPoint: unescapeMountPath(mountPoint),
        root: unescapeMountPath(root),
        fsType,
        superOptions,
      });
    }
  }
  return mounts;
}

export interface DriverOptions {
  /**
   * Rootless: the subtree delegated to the user (`/user`), or null when none
   * is: containers then get no cgroup and no limits (undelegated-driver.ts).
   * Undefined: root, the whole tree.
   */
  readonly base?: string | null;
}

export function driverForMounts(
  mounts: readonly CgroupMount[],
  root = '/sys/fs/cgroup',
  options: DriverOptions = {},
): CgroupDriver {
  const v1 = mounts.filter((m) => m.fsType === 'cgroup' && m.mountPoint.startsWith(`${root}/`));
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  const mode = v1.length === 0 && v2 ? 'v2' : v2 ? 'hybrid' : 'v1';
  if (options.base === null) return createUndelegatedDriver(mode);
  const base = options.base === undefined ? {} : { base: options.base };
  if (mode === 'v2' && v2) return createV2Driver({ root: v2.mountPoint, ...base });
  const hierarchies = v1.map((m) => m.mountPoint.slice(root.length + 1));
  if (v2) return createV1Driver({ root, hierarchies, mode: 'hybrid', unified: v2.mountPoint, ...base });
  return createV1Driver({ root, hierarchies, mode: 'v1', ...base });
}

export function detectCgroupDriver(options: DriverOptions = {}): CgroupDriver {
  return driverForMounts(parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')), undefined, options);
}
