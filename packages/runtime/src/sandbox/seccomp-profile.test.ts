import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES } from './oci-config.js';
import { DEFAULT_SECCOMP } from './seccomp-default.js';
import {
  defaultSeccompProfile,
  hostSeccompArch,
  kernelVersion,
  type OciSeccomp,
  parseSeccompProfile,
  resolveSeccompProfile,
  type SeccompTarget,
} from './seccomp-profile.js';

const amd64: SeccompTarget = { arch: 'amd64', capabilities: DEFAULT_CAPABILITIES, kernel: [6, 1] };

/** The rules for one syscall name. */
function rulesFor(profile: OciSeccomp, name: string) {
  return profile.syscalls.filter((r) => r.names.includes(name));
}

describe('the default profile (Docker’s)', () => {
  const resolved = resolveSeccompProfile(defaultSeccompProfile(), amd64);

  it('refuses everything else with EPERM, for x86_64, x86 and x32', () => {
    expect(resolved.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(resolved.defaultErrnoRet).toBe(1);
    expect(resolved.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('filters for aarch64 and arm on an arm64 host', () => {
    const arm = resolveSeccompProfile(defaultSeccompProfile(), { ...amd64, arch: 'arm64' });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(rulesFor(arm, 'arch_prctl')).toEqual([]);
    expect(rulesFor(arm, 'set_tls')).toEqual([{ names: expect.any(Array), action: 'SCMP_ACT_ALLOW' }]);
  });

  it('holds Docker’s 361 unconditional syscalls, without keyctl, io_uring or userfaultfd', () => {
    expect(DEFAULT_SECCOMP.allowed).toHaveLength(361);
    expect(new Set(DEFAULT_SECCOMP.allowed).size).toBe(361);
    for (const name of ['read', 'write', 'openat', 'execve', 'futex', 'socketcall', 'rseq', 'statx']) {
      expect(DEFAULT_SECCOMP.allowed).toContain(name);
    }
    for (const name of ['keyctl', 'add_key', 'request_key', 'io_uring_setup', 'userfaultfd', 'kexec_load']) {
      expect(rulesFor(resolved, name)).toEqual([]);
    }
  });

  it('allows socket for every address family but AF_ALG (38) and AF_VSOCK (40)', () => {
    expect(rulesFor(resolved, 'socket').map((r) => r.args)).toEqual([
      [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }],
      [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }],
      [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }],
    ]);
  });

  it('allows personality only for the harmless personas', () => {
    expect(rulesFor(resolved, 'personality').map((r) => r.args?.[0]?.value)).toEqual([
      0, 8, 0x20000, 0x20008, 0xffffffff,
    ]);
  });

  it('without CAP_SYS_ADMIN: clone without namespace flags, clone3 gives ENOSYS, no mount/unshare/setns', () => {
    expect(rulesFor(resolved, 'clone')).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ]);
    expect(rulesFor(resolved, 'clone3')).toEqual([
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ]);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'bpf', 'perf_event_open', 'ptrace']) {
      expect(rulesFor(resolved, name).filter((r) => r.action === 'SCMP_ACT_ALLOW')).toEqual(
        name === 'ptrace' ? [expect.anything()] : [],
      );
    }
  });

  it('follows the container’s capabilities, as Docker does', () => {
    const admin = resolveSeccompProfile(defaultSeccompProfile(), {
      ...amd64,
      capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'],
    });
    expect(rulesFor(admin, 'clone')).toEqual([expect.objectContaining({ action: 'SCMP_ACT_ALLOW' })]);
    expect(rulesFor(admin, 'clone')[0]!.args).toBeUndefined();
    expect(rulesFor(admin, 'clone3')).toEqual([expect.objectContaining({ action: 'SCMP_ACT_ALLOW' })]);
    expect(rulesFor(admin, 'mount')).toHaveLength(1);
    expect(rulesFor(admin, 'kcmp')).toHaveLength(1);
    // chroot needs CAP_SYS_CHROOT, which Docker's defaults (and cspec's) grant.
    expect(rulesFor(resolved, 'chroot')).toHaveLength(1);
    expect(
      rulesFor(resolveSeccompProfile(defaultSeccompProfile(), { ...amd64, capabilities: [] }), 'chroot'),
    ).toEqual([]);
  });

  it('allows ptrace and process_vm_* from kernel 4.8 on', () => {
    expect(rulesFor(resolved, 'ptrace')).toHaveLength(1);
    const old = resolveSeccompProfile(defaultSeccompProfile(), { ...amd64, kernel: [4, 4] });
    expect(rulesFor(old, 'ptrace')).toEqual([]);
  });
});

describe('host facts', () => {
  it('names the architecture as profiles do and reads the kernel version', () => {
    expect(hostSeccompArch('x64')).toBe('amd64');
    expect(hostSeccompArch('arm64')).toBe('arm64');
    expect(kernelVersion('6.1.0-18-amd64')).toEqual([6, 1]);
    expect(kernelVersion('6.18.2')).toEqual([6, 18]);
    expect(kernelVersion('weird')).toEqual([0, 0]);
  });
});

describe('parseSeccompProfile', () => {
  const parse = (profile: unknown) => parseSeccompProfile(JSON.stringify(profile), '/p.json');

  it('reads Docker’s format: name or names, archMap, includes and excludes', () => {
    const profile = parse({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
      syscalls: [
        { name: 'read', action: 'SCMP_ACT_ALLOW', comment: 'old form' },
        { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
        {
          names: ['ptrace'],
          action: 'SCMP_ACT_ALLOW',
          includes: { minKernel: '4.8' },
          excludes: { arches: ['s390x'] },
        },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
      ],
    });
    expect(resolveSeccompProfile(profile, amd64)).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['ptrace'], action: 'SCMP_ACT_ALLOW' },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
      ],
    });
  });

  it('reads the OCI format as it is', () => {
    const oci = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    };
    expect(resolveSeccompProfile(parse(oci), amd64)).toEqual(oci);
  });

  it.each([
    ['not JSON', '{', /the file is not valid JSON/],
    ['not an object', '[]', /must hold a JSON object/],
    ['no defaultAction', '{"syscalls": []}', /defaultAction undefined is not one of/],
    ['an unknown action', '{"defaultAction": "KILL"}', /defaultAction "KILL" is not one of SCMP_ACT_ALLOW/],
    ['a notify action', '{"defaultAction": "SCMP_ACT_NOTIFY"}', /needs a seccomp agent/],
    [
      'both arch fields',
      '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "archMap": [{"architecture": "SCMP_ARCH_X86"}]}',
      /either architectures or archMap/,
    ],
    [
      'a bad architecture',
      '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]}',
      /SCMP_ARCH_\* names/,
    ],
    [
      'rules that are no list',
      '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}',
      /syscalls must be a list/,
    ],
    [
      'a rule without names',
      '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}',
      /syscalls\[0\]\.names must be a non-empty list/,
    ],
    [
      'an argument index past 5',
      '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}',
      /syscalls\[0\]\.args\[0\]\.index must be 0 to 5/,
    ],
    [
      'an unknown operator',
      '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "EQ"}]}]}',
      /op "EQ" is not one of/,
    ],
    [
      'a bad errno',
      '{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}',
      /defaultErrnoRet must be an errno number/,
    ],
    [
      'a bad kernel version',
      '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}]}',
      /includes\.minKernel must be/,
    ],
    [
      'an unknown flag',
      '{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["FAST"]}',
      /flags must be a list of SECCOMP_FILTER_FLAG_TSYNC/,
    ],
  ])('refuses %s with CSPEC_INVALID_SPEC naming the file and the field', (_what, text, message) => {
    let caught: unknown;
    try {
      parseSeccompProfile(text, '/p.json');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'CSPEC_INVALID_SPEC', message: expect.stringMatching(message) });
    expect((caught as Error).message).toMatch(/^securityOpt seccomp=\/p\.json: /);
  });
});
