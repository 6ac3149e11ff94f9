/**
 * Seccomp on by default (issue #14, item 3): every container, exec and build
 * step runs under Docker's default profile unless `seccomp=unconfined` is
 * asked for; a profile file replaces it; `no-new-privileges` sets the flag;
 * a bad profile is one clear error and leaves nothing (useEngine checks).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerSpec } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cspec-seccomp-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a shell script to its end and returns its exit code and output. */
async function sh(
  script: string,
  extra: Partial<ContainerSpec> = {},
): Promise<{ code: number; out: string }> {
  const c = await engine().run({ image: IMAGE, command: ['sh', '-c', script], ...extra });
  try {
    const { exitCode } = await c.wait();
    return { code: exitCode, out: await c.logText() };
  } finally {
    await c.remove();
  }
}

/** Syscall numbers on x86_64 and aarch64 (which share the generic table for these). */
const SYSCALLS =
  process.arch === 'arm64' ? { keyctl: 219, io_uring_setup: 425 } : { keyctl: 250, io_uring_setup: 425 };

/** errno of keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) and io_uring_setup(1, NULL), by name. */
const PROBE = [
  'perl',
  '-e',
  `use POSIX; $! = 0; syscall(${SYSCALLS.keyctl}, 0, -3, 0); print "keyctl=", ($! ? $! + 0 : 0), "\\n"; ` +
    `$! = 0; syscall(${SYSCALLS.io_uring_setup}, 1, 0); print "io_uring_setup=", $! + 0, "\\n";`,
];
const EPERM = 1;
const EFAULT = 14;

function profile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('the default seccomp profile', () => {
  it('filters every container: Seccomp is 2, and unshare, keyctl and io_uring are refused', async () => {
    const status = await sh('grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status');
    expect(status.out).toMatch(/^Seccomp:\s+2$/m);
    expect(status.out).toMatch(/^NoNewPrivs:\s+0$/m);

    const unshare = await sh('unshare -Urm sh -c "mount -t tmpfs t /mnt && echo mounted"');
    expect(unshare).toEqual({ code: 1, out: 'unshare: unshare failed: Operation not permitted\n' });

    const c = await engine().run({ image: IMAGE, command: PROBE });
    await c.wait();
    const probed = await c.logText();
    await c.remove();
    expect(probed).toBe(`keyctl=${EPERM}\nio_uring_setup=${EPERM}\n`);
  });

  it('also filters processes started with exec', async () => {
    const c = await engine().run({ image: IMAGE, command: ['sleep', '60'] });
    try {
      const result = await c.exec(['grep', '^Seccomp:', '/proc/self/status']);
      expect(result.stdout).toMatch(/^Seccomp:\s+2$/m);
    } finally {
      await c.remove();
    }
  });

  it('still lets a container make threads, processes, sockets and files', async () => {
    const ok = await sh(
      'perl -e \'socket(my $s, 2, 1, 0) or die "socket: $!"; my $p = fork; exit 0 unless $p; waitpid($p, 0); exit $?\' && mkdir /tmp/d && echo ok',
    );
    expect(ok).toEqual({ code: 0, out: 'ok\n' });
  });

  it('filters the RUN steps of a build', async () => {
    const context = mkdtempSync(join(dir, 'ctx-'));
    const tag = `cspec-test/seccomp-${process.pid}:run`;
    writeFileSync(
      join(context, 'Dockerfile'),
      `FROM ${IMAGE}\nRUN echo ${Date.now()} > /built && grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status > /status\n`,
    );
    await engine().build({ context, tag });
    try {
      const status = await sh('cat /status', { image: tag });
      expect(status.out).toMatch(/^Seccomp:\s+2$/m);
    } finally {
      await engine().images.remove(tag);
    }
  });
});

describe('the default seccomp profile, in the init-cache step', () => {
  it('filters the step that makes a first start cacheable', async () => {
    const script = [
      '[ -e /data/status ] || { mkdir -p /data && grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status > /data/status && echo "work done"; }',
      'echo up',
      // Stops cleanly on SIGTERM (pid 1 has no default handler): the step keeps only a clean stop.
      'trap "exit 0" TERM',
      'while :; do sleep 0.05; done',
    ].join('; ');
    const c = await engine().run({
      image: IMAGE,
      command: ['sh', '-c', script],
      env: { RUN: `${process.pid}-${Date.now()}` },
      initCache: { doneLog: '^work done$', dataDir: '/data' },
      wait: { type: 'log', pattern: '^up$', flags: 'm' },
    });
    const image = (await c.info()).image;
    try {
      // Started from the cached state: the status was written by the init-cache step.
      expect(image).toMatch(/cspec-init\//);
      expect((await c.exec(['cat', '/data/status'])).stdout).toMatch(/^Seccomp:\s+2$/m);
    } finally {
      await c.remove();
      await engine().images.remove(image);
    }
  });
});

describe('securityOpt', () => {
  it('seccomp=unconfined turns the filter off', async () => {
    const unconfined = { securityOpt: ['seccomp=unconfined'] };
    const status = await sh(
      'grep "^Seccomp:" /proc/self/status; unshare -Urm sh -c "mount -t tmpfs t /mnt && echo mounted"',
      unconfined,
    );
    expect(status.out).toMatch(/^Seccomp:\s+0$/m);
    expect(status.out).toMatch(/^mounted$/m);
    const c = await engine().run({ image: IMAGE, command: PROBE, ...unconfined });
    await c.wait();
    const probed = await c.logText();
    await c.remove();
    // Reached the kernel: io_uring_setup(1, NULL) fails on its NULL argument, not on a filter.
    expect(probed).toMatch(new RegExp(`^io_uring_setup=${EFAULT}$`, 'm'));
  });

  it('no-new-privileges sets NoNewPrivs, also in exec, and =false leaves it off', async () => {
    const on = await sh('grep "^NoNewPrivs:" /proc/self/status', { securityOpt: ['no-new-privileges'] });
    expect(on.out).toMatch(/^NoNewPrivs:\s+1$/m);
    const off = await sh('grep "^NoNewPrivs:" /proc/self/status', {
      securityOpt: ['no-new-privileges=true', 'no-new-privileges=false'],
    });
    expect(off.out).toMatch(/^NoNewPrivs:\s+0$/m);
    const c = await engine().run({
      image: IMAGE,
      command: ['sleep', '60'],
      securityOpt: ['no-new-privileges=true'],
    });
    try {
      expect((await c.exec(['grep', '^NoNewPrivs:', '/proc/self/status'])).stdout).toMatch(
        /^NoNewPrivs:\s+1$/m,
      );
    } finally {
      await c.remove();
    }
  });

  it('seccomp=<file> applies a profile in OCI format: one that refuses mkdir makes mkdir fail', async () => {
    const path = profile('no-mkdir.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }],
    });
    const result = await sh('touch /tmp/f && echo touched; mkdir /tmp/d', {
      securityOpt: [`seccomp=${path}`],
    });
    expect(result.code).toBe(1);
    expect(result.out).toMatch(
      /^touched\nmkdir: cannot create directory '\/tmp\/d': Operation not permitted\n$/,
    );
  });

  it("seccomp=<file> applies a profile in Docker's format, with its conditions decided for the container", async () => {
    const path = profile('docker-format.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
      syscalls: [
        // Applies: containers have CAP_CHOWN and not CAP_SYS_ADMIN.
        {
          names: ['mkdir', 'mkdirat'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 13,
          includes: { caps: ['CAP_CHOWN'] },
        },
        { name: 'rmdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13, excludes: { caps: ['CAP_SYS_ADMIN'] } },
        // Does not apply.
        { names: ['symlink', 'symlinkat'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
      ],
    });
    const result = await sh('ln -s / /tmp/l && echo linked; rmdir /tmp; mkdir /tmp/d', {
      securityOpt: [`seccomp=${path}`],
    });
    expect(result.out).toMatch(/^linked$/m);
    expect(result.out).toMatch(/rmdir: failed to remove '\/tmp': Permission denied/);
    expect(result.out).toMatch(/mkdir: cannot create directory '\/tmp\/d': Permission denied/);
  });

  it('a profile file that is missing or not a profile is one clear error, and nothing is left', async () => {
    const missing = join(dir, 'missing.json');
    await expect(
      engine().run({ image: IMAGE, command: ['true'], securityOpt: [`seccomp=${missing}`] }),
    ).rejects.toMatchObject({
      code: 'CSPEC_INVALID_SPEC',
      message: expect.stringContaining(
        `securityOpt seccomp=${missing}: cannot read the profile (no such file)`,
      ),
    });
    const garbage = profile('garbage.json', '{"defaultAction": ');
    await expect(
      engine().run({ image: IMAGE, command: ['true'], securityOpt: [`seccomp=${garbage}`] }),
    ).rejects.toMatchObject({
      code: 'CSPEC_INVALID_SPEC',
      message: expect.stringContaining(`securityOpt seccomp=${garbage}: the file is not valid JSON`),
    });
    const wrong = profile('wrong.json', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir'], action: 'ALLOW' }],
    });
    await expect(
      engine().run({ image: IMAGE, command: ['true'], securityOpt: [`seccomp=${wrong}`] }),
    ).rejects.toMatchObject({
      code: 'CSPEC_INVALID_SPEC',
      message: expect.stringContaining('syscalls[0].action "ALLOW" is not one of SCMP_ACT_ALLOW'),
    });
    await expect(
      engine().run({ image: IMAGE, command: ['true'], securityOpt: ['seccomp'] }),
    ).rejects.toMatchObject({
      code: 'CSPEC_INVALID_SPEC',
      message: expect.stringMatching(/^securityOpt "seccomp" is invalid/),
    });
    expect(await engine().list({ all: true })).toEqual([]);
  });
});

describe('cspec run --security-opt', () => {
  const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
  const cli = (args: readonly string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        { env: { ...process.env, NO_COLOR: '1' } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });

  it('hands the options to the container, and a bad one is one clear error', async () => {
    const ok = await cli([
      'run',
      '--rm',
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'no-new-privileges',
      IMAGE,
      'grep',
      '-E',
      '^(Seccomp|NoNewPrivs):',
      '/proc/self/status',
    ]);
    expect(ok.stdout).toMatch(/^NoNewPrivs:\s+1\nSeccomp:\s+0\n$/);
    const missing = join(dir, 'missing.json');
    const bad = await cli(['run', '--rm', '--security-opt', `seccomp=${missing}`, IMAGE, 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`securityOpt seccomp=${missing}: cannot read the profile (no such file)`);
    expect(bad.stderr).not.toMatch(/bug in cspec/);
  });
});
