import { describe, expect, it } from 'vitest';
import { formatReport, type HostFacts, runChecks } from './checks.js';

const MOUNTS = `
26 25 0:24 / /sys/fs/cgroup ro,nosuid shared:8 - tmpfs tmpfs ro,mode=755
27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw
28 26 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory
29 26 0:27 / /sys/fs/cgroup/pids rw,nosuid shared:11 - cgroup cgroup rw,pids
30 26 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
31 22 0:29 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw
`;

const HEALTHY: HostFacts = {
  uid: 0,
  kernelRelease: '6.1.0-18-amd64',
  filesystems: 'nodev\ttmpfs\nnodev\toverlay\n',
  mountinfo: MOUNTS,
  v2Controllers: undefined,
  maxUserNamespaces: '63000',
  executables: { runc: '/usr/sbin/runc', debootstrap: '/usr/sbin/debootstrap', ip: '/usr/sbin/ip' },
  runtimeVersion: 'runc version 1.1.5',
  configuredRuntime: undefined,
  shmWritable: true,
  dataDir: { path: '/var/lib/cspec', writable: true },
  runDir: { path: '/run/cspec', writable: true },
};

function failed(facts: HostFacts) {
  const report = runChecks(facts);
  return { report, failed: report.checks.filter((c) => !c.ok) };
}

describe('runChecks', () => {
  it('passes a healthy hybrid host', () => {
    const { report, failed: f } = failed(HEALTHY);
    expect(f).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.cgroupMode).toBe('hybrid');
  });

  it.each([
    [{ uid: 1000 }, 'mode', 'npx cspec doctor'],
    [{ kernelRelease: '4.19.0-20-amd64' }, 'kernel', 'upgrade the kernel'],
    [{ filesystems: 'nodev\ttmpfs\n' }, 'overlay', 'modprobe overlay'],
    [{ executables: { ...HEALTHY.executables, runc: undefined } }, 'oci-runtime', 'apt-get install -y runc'],
    [
      { executables: { ...HEALTHY.executables, debootstrap: undefined } },
      'debootstrap',
      'apt-get install -y debootstrap',
    ],
    [{ executables: { ...HEALTHY.executables, ip: undefined } }, 'iproute2', 'apt-get install -y iproute2'],
    [{ runtimeVersion: 'error: spawn EACCES' }, 'oci-runtime', 'apt-get install --reinstall -y runc'],
    [{ shmWritable: false }, 'shm', 'mount -t tmpfs'],
    [{ dataDir: { path: '/var/lib/cspec', writable: false } }, 'data-dir', 'mkdir -p /var/lib/cspec'],
    [{ runtimeLoadError: 'Cannot find module' }, 'runtime-package', 'npx tsc -b'],
  ] as const)('fails %j with the fix', (change, id, fix) => {
    const { report, failed: f } = failed({ ...HEALTHY, ...change });
    expect(f.map((c) => c.id)).toEqual([id]);
    expect(f[0]?.fix).toContain(fix);
    expect(report.ok).toBe(false);
  });

  it('warns, without failing, when bridged traffic is filtered and iptables is missing', () => {
    const filtered = { ...HEALTHY, bridgeNfCallIptables: '1\n' };
    expect(
      failed({ ...filtered, executables: { ...HEALTHY.executables, iptables: '/usr/sbin/iptables' } }).failed,
    ).toEqual([]);
    const { report, failed: f } = failed(filtered);
    expect(f.map((c) => [c.id, c.required, c.fix])).toEqual([
      ['bridge-filter', false, 'apt-get install -y iptables'],
    ]);
    expect(report.ok).toBe(true);
    expect(formatReport(report).some((l) => l.startsWith('warn  traffic between containers'))).toBe(true);
  });

  it('reports missing cgroup controllers', () => {
    const mountinfo = MOUNTS.split('\n')
      .filter((l) => !l.includes('pids'))
      .join('\n');
    const { failed: f } = failed({ ...HEALTHY, mountinfo });
    expect(f.map((c) => c.id)).toEqual(['cgroups']);
    expect(f[0]?.detail).toContain('missing controllers: pids');
  });

  it('recommends runc when only crun is installed on a hybrid host', () => {
    const { failed: f } = failed({
      ...HEALTHY,
      executables: { ...HEALTHY.executables, runc: undefined, crun: '/usr/bin/crun' },
    });
    expect(f[0]?.detail).toContain('crun refuses hybrid');
    expect(f[0]?.fix).toBe('apt-get install -y runc');
  });
});

describe('formatReport', () => {
  it('prints FAIL lines with their fix and a summary', () => {
    const lines = formatReport(runChecks({ ...HEALTHY, filesystems: '' }));
    expect(lines).toContain('FAIL  overlayfs: overlay is not in /proc/filesystems');
    expect(lines).toContain('      fix: modprobe overlay && echo overlay >> /etc/modules');
    expect(lines.at(-1)).toBe('1 required check(s) failed');
    expect(formatReport(runChecks(HEALTHY)).at(-1)).toBe('everything cspec needs is here');
  });
});
