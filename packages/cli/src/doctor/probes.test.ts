import { describe, expect, it } from 'vitest';
import {
  cgroupControllers,
  cgroupModeFromMounts,
  chooseRuntime,
  findExecutable,
  freeSubordinateStart,
  hasFilesystem,
  parseKernelVersion,
  parseMountInfo,
  parseSubordinateFile,
  searchPath,
  subordinateRangeOf,
} from './probes.js';

const HYBRID = `
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
28 26 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,memory
29 26 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,pids
30 26 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct
31 22 0:29 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw
`;
const V1 = HYBRID.split('\n')
  .filter((l) => !l.includes('unified'))
  .join('\n');
const V2 = `
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
31 22 0:29 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw
`;

describe('parseKernelVersion', () => {
  it('reads major and minor from uname -r', () => {
    expect(parseKernelVersion('6.1.0-18-amd64')).toEqual({ major: 6, minor: 1 });
    expect(parseKernelVersion('4.19.0\n')).toEqual({ major: 4, minor: 19 });
    expect(parseKernelVersion('garbage')).toBeUndefined();
  });
});

describe('hasFilesystem', () => {
  const text = 'nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\n';
  it('matches whole names only', () => {
    expect(hasFilesystem(text, 'overlay')).toBe(true);
    expect(hasFilesystem(text, 'ext4')).toBe(true);
    expect(hasFilesystem(text, 'over')).toBe(false);
    expect(hasFilesystem('nodev\ttmpfs\n', 'overlay')).toBe(false);
  });
});

describe('parseMountInfo', () => {
  it('reads mount point, type and options, unescaping spaces', () => {
    const [m] = parseMountInfo('40 1 0:5 / /mnt/my\\040dir rw,relatime - tmpfs tmpfs rw,size=10k');
    expect(m).toEqual({
      mountPoint: '/mnt/my dir',
      fsType: 'tmpfs',
      options: ['rw', 'relatime', 'rw', 'size=10k'],
    });
  });

  it('handles optional fields before the separator', () => {
    const mounts = parseMountInfo(HYBRID);
    expect(mounts.find((m) => m.mountPoint === '/sys/fs/cgroup/memory')?.fsType).toBe('cgroup');
    expect(mounts).toHaveLength(7);
  });
});

describe('cgroupModeFromMounts', () => {
  it('tells v1, hybrid and v2 apart', () => {
    expect(cgroupModeFromMounts(parseMountInfo(HYBRID))).toBe('hybrid');
    expect(cgroupModeFromMounts(parseMountInfo(V1))).toBe('v1');
    expect(cgroupModeFromMounts(parseMountInfo(V2))).toBe('v2');
    expect(cgroupModeFromMounts([])).toBe('none');
  });
});

describe('cgroupControllers', () => {
  it('reads v1 controllers from mount options and v2 from cgroup.controllers', () => {
    expect(cgroupControllers('hybrid', parseMountInfo(HYBRID), undefined)).toEqual([
      'cpu',
      'cpuacct',
      'memory',
      'pids',
    ]);
    expect(cgroupControllers('v2', parseMountInfo(V2), 'cpuset cpu io memory pids\n')).toEqual([
      'cpuset',
      'cpu',
      'io',
      'memory',
      'pids',
    ]);
  });
});

describe('chooseRuntime', () => {
  it('needs runc on hybrid hosts, even when crun is installed', () => {
    expect(chooseRuntime('hybrid', { runc: '/usr/sbin/runc', crun: '/usr/bin/crun' }).runtime).toBe('runc');
    const onlyCrun = chooseRuntime('hybrid', { crun: '/usr/bin/crun' });
    expect(onlyCrun.ok).toBe(false);
    expect(onlyCrun.detail).toContain('crun refuses hybrid');
    expect(onlyCrun.fix).toBe('apt-get install -y runc');
  });

  it('prefers crun on v2 and falls back to runc', () => {
    expect(chooseRuntime('v2', { runc: '/r', crun: '/c' }).runtime).toBe('crun');
    expect(chooseRuntime('v2', { runc: '/r' }).runtime).toBe('runc');
    expect(chooseRuntime('v2', {})).toMatchObject({ ok: false, fix: 'apt-get install -y crun' });
    expect(chooseRuntime('v1', {})).toMatchObject({ ok: false, fix: 'apt-get install -y runc' });
  });

  it('refuses a configured crun on a hybrid host', () => {
    const choice = chooseRuntime('hybrid', { runc: '/r', crun: '/c' }, '/usr/bin/crun');
    expect(choice.ok).toBe(false);
    expect(choice.fix).toContain('unset CSPEC_OCI_RUNTIME');
  });
});

describe('findExecutable / searchPath', () => {
  it('returns the first match in order', () => {
    const present = new Set(['/usr/sbin/runc', '/opt/bin/runc']);
    expect(findExecutable('runc', ['/usr/bin', '/opt/bin/', '/usr/sbin'], (p) => present.has(p))).toBe(
      '/opt/bin/runc',
    );
    expect(findExecutable('crun', ['/usr/bin'], (p) => present.has(p))).toBeUndefined();
  });

  it('adds the sbin directories to PATH once', () => {
    const dirs = searchPath('/home/u/bin:/usr/bin');
    expect(dirs[0]).toBe('/home/u/bin');
    expect(dirs).toContain('/usr/sbin');
    expect(dirs.filter((d) => d === '/usr/bin')).toHaveLength(1);
    expect(searchPath(undefined)).toContain('/sbin');
  });
});

describe('subordinate id files', () => {
  const text =
    '# comment\nbob:100000:65536\n\nalice:165536:1000\nalice:300000:65536\nbad:x:1\n1000:400000:65536\n';

  it('parses ranges, skipping comments and malformed lines', () => {
    expect(parseSubordinateFile(text).map((r) => r.owner)).toEqual(['bob', 'alice', 'alice', '1000']);
  });

  it("finds the user's largest range, by name or uid", () => {
    const ranges = parseSubordinateFile(text);
    expect(subordinateRangeOf(ranges, { name: 'alice', uid: 1 })).toMatchObject({
      start: 300000,
      count: 65536,
    });
    expect(subordinateRangeOf(ranges, { name: 'carol', uid: 1000 })).toMatchObject({ start: 400000 });
    expect(subordinateRangeOf(ranges, { name: 'dave', uid: 2 })).toBeUndefined();
  });

  it('finds the lowest free block of 65536 from 100000', () => {
    expect(freeSubordinateStart([])).toBe(100000);
    const ranges = parseSubordinateFile(text);
    // 100000-165535 bob, 165536-166535 alice, then a gap up to 300000 that fits 65536.
    expect(freeSubordinateStart(ranges)).toBe(166536);
    expect(freeSubordinateStart(parseSubordinateFile('a:100000:65536\nb:200000:65536\n'))).toBe(265536);
    expect(freeSubordinateStart(parseSubordinateFile('a:50000:10\n'))).toBe(100000);
    expect(freeSubordinateStart(parseSubordinateFile('a:150000:10\n'))).toBe(150010);
  });
});
