import { describe, expect, it } from 'vitest';
import { driverForMounts, parseCgroupMounts } from './detect.js';
import { parseOomKillCount } from './driver.js';

const hybrid = `
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,pids
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
`;
const unified =
  '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate';

describe('cgroup detection', () => {
  it('parses cgroup mounts', () => {
    expect(parseCgroupMounts(hybrid).map((m) => [m.mountPoint, m.fsType])).toEqual([
      ['/sys/fs/cgroup/unified', 'cgroup2'],
      ['/sys/fs/cgroup/memory', 'cgroup'],
      ['/sys/fs/cgroup/pids', 'cgroup'],
      ['/sys/fs/cgroup/cpu,cpuacct', 'cgroup'],
    ]);
  });
  it('tells hybrid, v1 and v2 apart', () => {
    expect(driverForMounts(parseCgroupMounts(hybrid)).mode).toBe('hybrid');
    expect(driverForMounts(parseCgroupMounts(hybrid).filter((m) => m.fsType === 'cgroup')).mode).toBe('v1');
    expect(driverForMounts(parseCgroupMounts(unified)).mode).toBe('v2');
  });
  it('reads OOM kill counters of both versions', () => {
    expect(parseOomKillCount('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n')).toBe(2);
    expect(parseOomKillCount('low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n')).toBe(1);
    expect(parseOomKillCount('low 0\n')).toBe(0);
  });
});
