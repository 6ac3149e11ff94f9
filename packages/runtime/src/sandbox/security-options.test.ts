import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSeccompProfile } from './seccomp-profile.js';
import { loadSeccompProfile, resolveSecurityOptions } from './security-options.js';

describe('resolveSecurityOptions', () => {
  it('defaults to the default profile and new privileges allowed', () => {
    expect(resolveSecurityOptions(undefined)).toEqual({
      seccomp: { kind: 'default' },
      noNewPrivileges: false,
    });
    expect(resolveSecurityOptions([])).toEqual({ seccomp: { kind: 'default' }, noNewPrivileges: false });
  });

  it('takes Docker’s spellings; the last value of a key wins', () => {
    expect(resolveSecurityOptions(['seccomp=unconfined']).seccomp).toEqual({ kind: 'unconfined' });
    expect(resolveSecurityOptions(['seccomp:unconfined']).seccomp).toEqual({ kind: 'unconfined' });
    expect(resolveSecurityOptions(['seccomp=unconfined', 'seccomp=builtin']).seccomp).toEqual({
      kind: 'default',
    });
    expect(resolveSecurityOptions(['seccomp=/etc/p.json']).seccomp).toEqual({
      kind: 'file',
      path: '/etc/p.json',
    });
    expect(resolveSecurityOptions(['seccomp=p.json']).seccomp).toEqual({
      kind: 'file',
      path: resolve('p.json'),
    });
    expect(resolveSecurityOptions(['no-new-privileges']).noNewPrivileges).toBe(true);
    expect(resolveSecurityOptions(['no-new-privileges=true']).noNewPrivileges).toBe(true);
    expect(resolveSecurityOptions(['no-new-privileges:true']).noNewPrivileges).toBe(true);
    expect(resolveSecurityOptions(['no-new-privileges', 'no-new-privileges=false']).noNewPrivileges).toBe(
      false,
    );
    expect(resolveSecurityOptions(['no-new-privileges=1']).noNewPrivileges).toBe(true);
  });

  it.each([
    [['seccomp'], /"seccomp" is invalid: expected key=value/],
    [['seccomp='], /seccomp= needs unconfined, builtin or the path of a profile/],
    [['no-new-privileges=yes'], /no-new-privileges takes true or false/],
    [['apparmor=unconfined'], /"apparmor" is a Docker option that cspec does not support/],
    [['label=disable'], /"label" is a Docker option that cspec does not support/],
    [['privileged=true'], /unknown option "privileged"/],
    [[42], /each option must be a string/],
  ])('refuses %j with CSPEC_INVALID_SPEC naming securityOpt', (options, message) => {
    expect(() => resolveSecurityOptions(options as string[])).toThrow(
      expect.objectContaining({ code: 'CSPEC_INVALID_SPEC', message: expect.stringMatching(message) }),
    );
    expect(() => resolveSecurityOptions(options as string[])).toThrow(
      /^securityOpt .* — cspec takes seccomp=unconfined/,
    );
  });

  it('refuses a value that is not a list', () => {
    expect(() => resolveSecurityOptions('seccomp=unconfined' as unknown as string[])).toThrow(
      /securityOpt must be a list of strings/,
    );
  });
});

describe('loadSeccompProfile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cspec-security-options-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives no profile for unconfined, the default one for default, the file’s for a file', async () => {
    expect(await loadSeccompProfile({ kind: 'unconfined' }, defaultSeccompProfile)).toBeUndefined();
    expect(await loadSeccompProfile({ kind: 'default' }, defaultSeccompProfile)).toEqual(
      defaultSeccompProfile(),
    );
    const path = join(dir, 'p.json');
    writeFileSync(path, JSON.stringify({ defaultAction: 'SCMP_ACT_LOG' }));
    expect(await loadSeccompProfile({ kind: 'file', path }, defaultSeccompProfile)).toEqual({
      defaultAction: 'SCMP_ACT_LOG',
      syscalls: [],
    });
  });

  it('names the file it cannot read and why', async () => {
    await expect(
      loadSeccompProfile({ kind: 'file', path: join(dir, 'none.json') }, defaultSeccompProfile),
    ).rejects.toMatchObject({
      code: 'CSPEC_INVALID_SPEC',
      message: `securityOpt seccomp=${join(dir, 'none.json')}: cannot read the profile (no such file) — give the path of a JSON seccomp profile, or seccomp=unconfined`,
    });
    await expect(
      loadSeccompProfile({ kind: 'file', path: dir }, defaultSeccompProfile),
    ).rejects.toMatchObject({
      message: expect.stringContaining('(it is a directory)'),
    });
  });
});
