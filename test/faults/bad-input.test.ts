/**
 * Issue #14 item 9: bad input never reaches runc or the kernel raw. Each bad
 * `cspec run` flag gives one clear error naming what is wrong, the exit code
 * of a command-line mistake (2), no runc output, and leaves nothing behind.
 */
import { availableParallelism } from 'node:os';
import { type ContainerSpec, createEngine, isCspecError } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { IMAGE } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';
import { runCli } from '../support/run-cli.js';

function cspec(args: readonly string[]) {
  return runCli(args, { timeoutMs: 60_000 });
}

const cpus = availableParallelism();

const cases: [string, string[], RegExp][] = [
  ['--cpus below 0.01', ['--cpus', '0.0001'], /resources.cpus .*0.0001 is out of range/],
  [`--cpus above the host's ${cpus} CPUs`, ['--cpus', '1000'], new RegExp(`only ${cpus} CPUs? available`)],
  [
    '--hostname of 300 characters',
    ['--hostname', 'h'.repeat(300)],
    /hostname "h+…" \(300 characters\) is invalid/,
  ],
  ['--hostname with a space', ['--hostname', 'a b'], /hostname "a b"/],
  [
    '--memory too large',
    ['--memory', '99999999g'],
    /invalid size "99999999g" for --memory — it is larger than/,
  ],
  ['--memory below 6 MiB', ['--memory', '1m'], /below the minimum of 6 MiB/],
  [
    '--pids above PID_MAX_LIMIT',
    ['--pids', '99999999999'],
    /resources.pids\) must be a whole number from 1 to 4194304/,
  ],
  ['-p abc', ['-p', 'abc'], /invalid container port "abc" in -p abc/],
  ['--tmpfs size too large', ['--tmpfs', '/t:size=99999999g'], /--tmpfs size — it is larger than/],
  ['--tmpfs on the root', ['--tmpfs', '/'], /mount target "\/" is the container's root/],
  ['-w with ..', ['-w', '/a/../..'], /working dir "\/a\/..\/.." contains "\.\."/],
  [
    '-v of a missing host path',
    ['-v', '/nonexistent-cspec/x:/x'],
    /bind mount source "\/nonexistent-cspec\/x" does not exist/,
  ],
  [
    '-v onto a target with ..',
    ['-v', '/tmp:/x/../../etc'],
    /mount target "\/x\/..\/..\/etc" contains "\.\."/,
  ],
  ['--user with two colons', ['--user', 'a:b:c'], /user "a:b:c" is invalid/],
  ['--name with a space', ['--name', 'a b'], /container name "a b" is invalid/],
  [
    '--network-alias with a space',
    ['--network', 'cspec-it-none', '--network-alias', 'a b'],
    /network cspec-it-none: alias "a b"/,
  ],
];

describe('bad cspec run flags', () => {
  it.each(cases)('%s: one clear error, exit 2, nothing left', async (_what, flags, message) => {
    const r = await cspec(['run', '--rm', ...flags, IMAGE, 'true']);
    expect(r.code, r.stderr).toBe(2);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors, r.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/runc|crun|level=error|unexpected failure/);
    expect(r.stdout).toBe('');
    expectNoLeaks();
  });
});

describe('a command missing from the image', () => {
  it.each([
    [['--rm']],
    [[]],
  ])('cspec run %j: only the clean CSPEC_COMMAND_NOT_FOUND error, exit 127, nothing left', async (flags) => {
    const r = await cspec(['run', ...flags, '--name', 'cspec-it-missing-cmd', IMAGE, 'nosuchcmd']);
    expect(r.code, r.stderr).toBe(127);
    expect(r.stderr).not.toMatch(/runc|crun|level=error/);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^error: command "nosuchcmd" was not found in image/);
    await cspec(['rm', '-f', 'cspec-it-missing-cmd']);
    expectNoLeaks();
  });

  it('an attached run still shows the stderr of its command, partial lines included', async () => {
    const r = await cspec([
      'run',
      '--rm',
      IMAGE,
      'sh',
      '-c',
      'printf "prompt> " >&2; echo out; echo err >&2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('prompt> err\n');
    expectNoLeaks();
  });
});

describe('bad ContainerSpec values through the engine', () => {
  const specs: [string, Record<string, unknown>, RegExp][] = [
    ['command: [42]', { command: [42] }, /command\[0\] must be a string, got number 42/],
    [
      'memoryBytes: 1e30',
      { resources: { memoryBytes: 1e30 } },
      /resources.memoryBytes must be a whole number/,
    ],
    ['an env name with "="', { env: { 'A=B': 'x' } }, /env name "A=B" is invalid/],
    ['an env value with NUL', { env: { A: 'x\0y' } }, /env.A contains a NUL/],
    ["stopSignal: 'SIGFOO'", { stopSignal: 'SIGFOO' }, /stopSignal "SIGFOO" is not a known signal/],
    ["ports: ['abc']", { ports: ['abc'] }, /port "abc" is out of range/],
  ];
  it.each(specs)('%s: CSPEC_INVALID_SPEC naming the field, nothing left', async (_what, fields, message) => {
    const engine = await createEngine();
    try {
      const error = await engine
        .run({ image: IMAGE, command: ['true'], ...fields } as unknown as ContainerSpec)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isCspecError(error, 'CSPEC_INVALID_SPEC'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    } finally {
      await engine.close();
    }
    expectNoLeaks();
  });
});
