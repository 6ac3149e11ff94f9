import { describe, expect, it } from 'vitest';
import { buildOciConfig, type OciConfigInput, overlayMountDirs, overlayOptions } from './oci-config.js';
import { defaultSeccompProfile, type OciSeccomp } from './seccomp-profile.js';

const base: OciConfigInput = {
  process: { args: ['sh'], env: ['PATH=/bin'], cwd: '/', uid: 0, gid: 0, additionalGids: [] },
  hostname: 'abc',
  rootPath: '/run/c/rootfs',
  lowerDirs: ['/l/base/fs', '/l/top/fs'],
  upperDir: '/shm/c/upper',
  workDir: '/shm/c/work',
  mounts: [],
  mountsDir: '/shm/c/mounts',
  etcFiles: { hosts: '/run/c/hosts', hostname: '/run/c/hostname', resolvConf: '/run/c/resolv.conf' },
  netnsPath: undefined,
  cgroupsPath: '/cspec-abc',
  resources: undefined,
  swapLimitSupported: true,
  labels: {},
  openFilesLimit: 1024,
};

type Mount = { destination: string; type: string; source: string; options?: string[] };

describe('buildOciConfig', () => {
  it('mounts the overlay at / first, top layer first in lowerdir', () => {
    const config = buildOciConfig(base) as { mounts: Mount[] };
    expect(config.mounts[0]).toEqual({
      destination: '/',
      type: 'overlay',
      source: 'overlay',
      options: ['lowerdir=/l/top/fs:/l/base/fs', 'upperdir=/shm/c/upper', 'workdir=/shm/c/work'],
    });
  });
  it('creates a private network namespace unless a path is given', () => {
    const own = buildOciConfig(base) as { linux: { namespaces: { type: string; path?: string }[] } };
    expect(own.linux.namespaces).toContainEqual({ type: 'network' });
    const joined = buildOciConfig({ ...base, netnsPath: '/run/netns/x' }) as typeof own;
    expect(joined.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/x' });
    expect(joined.linux.namespaces.map((n) => n.type).sort()).toEqual([
      'ipc',
      'mount',
      'network',
      'pid',
      'uts',
    ]);
  });
  it("shares the runtime's network namespace when told (null), with the host's /sys bound read-only", () => {
    const shared = buildOciConfig({ ...base, netnsPath: null }) as {
      linux: { namespaces: { type: string }[] };
      mounts: Mount[];
    };
    expect(shared.linux.namespaces.map((n) => n.type)).not.toContain('network');
    expect(shared.mounts.find((m) => m.destination === '/sys')).toEqual({
      destination: '/sys',
      type: 'bind',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    const own = buildOciConfig(base) as typeof shared;
    expect(own.mounts.find((m) => m.destination === '/sys')?.type).toBe('sysfs');
  });
  it('leaves cgroupsPath out when there is none (rootless, nothing delegated)', () => {
    const config = buildOciConfig({ ...base, cgroupsPath: undefined }) as { linux: Record<string, unknown> };
    expect(config.linux).not.toHaveProperty('cgroupsPath');
    expect((buildOciConfig(base) as typeof config).linux.cgroupsPath).toBe('/cspec-abc');
  });
  it('translates limits: memory without swap, cpu quota, pids', () => {
    const config = buildOciConfig({
      ...base,
      resources: { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 32 },
    }) as { linux: { resources: Record<string, unknown> } };
    expect(config.linux.resources.memory).toEqual({ limit: 67108864, swap: 67108864 });
    expect(config.linux.resources.cpu).toEqual({ quota: 50000, period: 100000 });
    expect(config.linux.resources.pids).toEqual({ limit: 32 });
    const noSwap = buildOciConfig({
      ...base,
      swapLimitSupported: false,
      resources: { memoryBytes: 1 << 30 },
    }) as {
      linux: { resources: Record<string, unknown> };
    };
    expect(noSwap.linux.resources.memory).toEqual({ limit: 1 << 30 });
  });
  it('maps bind and tmpfs mounts', () => {
    const config = buildOciConfig({
      ...base,
      mounts: [
        { type: 'bind', source: '/host/data', target: '/data', readonly: true },
        { type: 'tmpfs', target: '/scratch', sizeBytes: 1048576, mode: 0o700 },
      ],
    }) as { mounts: Mount[] };
    expect(config.mounts).toContainEqual({
      destination: '/data',
      type: 'bind',
      source: '/host/data',
      options: ['rbind', 'rprivate', 'ro'],
    });
    expect(config.mounts).toContainEqual({
      destination: '/scratch',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'mode=700', 'size=1048576'],
    });
  });
  it('maps an overlay mount onto its own upper and work directories, after the fixed mounts', () => {
    const config = buildOciConfig({
      ...base,
      mounts: [
        { type: 'tmpfs', target: '/scratch' },
        { type: 'overlay', source: '/home/me/project', target: '/home/me/project' },
      ],
    }) as { mounts: Mount[] };
    const overlay = config.mounts.at(-1);
    expect(overlay).toEqual({
      destination: '/home/me/project',
      type: 'overlay',
      source: 'overlay',
      options: [
        'lowerdir=/home/me/project',
        'upperdir=/shm/c/mounts/1/upper',
        'workdir=/shm/c/mounts/1/work',
      ],
    });
    expect(overlayMountDirs('/shm/c/mounts', 1)).toEqual({
      upper: '/shm/c/mounts/1/upper',
      work: '/shm/c/mounts/1/work',
    });
    // The root overlay comes first, so the mount lands on the container's filesystem.
    expect(config.mounts.findIndex((m) => m.destination === '/')).toBe(0);
  });
  it("reads overlay's xattrs from user.overlay.* (userxattr) on every overlay mount of a rootless engine", () => {
    const config = buildOciConfig({
      ...base,
      overlayUserXattr: true,
      mounts: [{ type: 'overlay', source: '/home/me/project', target: '/home/me/project' }],
    }) as { mounts: Mount[] };
    const overlays = config.mounts.filter((m) => m.type === 'overlay');
    expect(overlays.map((m) => m.destination)).toEqual(['/', '/home/me/project']);
    for (const m of overlays) expect(m.options?.at(-1)).toBe('userxattr');
    const root = buildOciConfig(base) as { mounts: Mount[] };
    expect(root.mounts.flatMap((m) => m.options ?? [])).not.toContain('userxattr');
  });
  it('keeps overlay options short for many layers', () => {
    const layers = Array.from(
      { length: 60 },
      (_, i) => `/var/lib/cspec/layers/${i.toString(16).padStart(16, '0')}/fs`,
    );
    expect(
      overlayOptions(layers, '/dev/shm/cspec/x/upper', '/dev/shm/cspec/x/work').join(',').length,
    ).toBeLessThan(4096);
  });
});

describe('buildOciConfig security', () => {
  it('has no seccomp filter and allows new privileges unless asked', () => {
    const config = buildOciConfig(base) as {
      linux: Record<string, unknown>;
      process: Record<string, unknown>;
    };
    expect(config.linux.seccomp).toBeUndefined();
    expect(config.process.noNewPrivileges).toBe(false);
  });

  it('resolves the profile against the container’s capabilities, and sets no-new-privileges', () => {
    const config = buildOciConfig({
      ...base,
      seccomp: { profile: defaultSeccompProfile(), arch: 'amd64', kernel: [6, 1] },
      noNewPrivileges: true,
    }) as { linux: { seccomp: OciSeccomp }; process: Record<string, unknown> };
    expect(config.process.noNewPrivileges).toBe(true);
    expect(config.linux.seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    // cspec grants CAP_SYS_CHROOT and not CAP_SYS_ADMIN.
    const names = config.linux.seccomp.syscalls.flatMap((r) => r.names);
    expect(names).toContain('chroot');
    expect(names).not.toContain('mount');
  });
});
