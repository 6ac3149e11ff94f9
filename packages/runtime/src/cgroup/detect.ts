import { readFileSync } from 'node:fs';
import type { CgroupDriver } from './driver.js';
import { createV1Driver } from './v1-driver.js';
import { createV2Driver } from './v2-driver.js';

export interface CgroupMount {
  readonly mountPoint: string;
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
    const mountPoint = left[4];
    if (mountPoint) mounts.push({ mountPoint, fsType, superOptions });
  }
  return mounts;
}

/** Chooses the driver for a host from its cgroup mounts. */
export function driverForMounts(mounts: readonly CgroupMount[], root = '/sys/fs/cgroup'): CgroupDriver {
  const v1 = mounts.filter((m) => m.fsType === 'cgroup' && m.mountPoint.startsWith(`${root}/`));
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (v1.length === 0 && v2) return createV2Driver({ root: v2.mountPoint });
  const hierarchies = v1.map((m) => m.mountPoint.slice(root.length + 1));
  if (v2) return createV1Driver({ root, hierarchies, mode: 'hybrid', unified: v2.mountPoint });
  return createV1Driver({ root, hierarchies, mode: 'v1' });
}

export function detectCgroupDriver(): CgroupDriver {
  return driverForMounts(parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8')));
}
