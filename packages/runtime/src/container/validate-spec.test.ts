import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import type { ContainerSpec } from './spec.js';
import { validateSpec } from './validate-spec.js';

function rejects(spec: ContainerSpec, message: RegExp) {
  let error: unknown;
  try {
    validateSpec(spec);
  } catch (e) {
    error = e;
  }
  expect(isCspecError(error, 'CSPEC_INVALID_SPEC'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
}

describe('validateSpec', () => {
  it('fills defaults', () => {
    const spec = validateSpec({
      image: 'cspec/debian:bookworm',
      ports: [5432, { container: 80, host: 8080 }],
    });
    expect(spec.ports).toEqual([
      { container: 5432, host: 0 },
      { container: 80, host: 8080 },
    ]);
    expect(spec.startupTimeoutMs).toBe(60_000);
    expect(spec.writableLayer).toBe('tmpfs');
    // No default here: the image's STOPSIGNAL applies first, then SIGTERM.
    expect(spec.stopSignal).toBeUndefined();
  });
  it('rejects waiting for listening ports when there is no port to check', () => {
    rejects({ image: 'x', wait: { type: 'ports' } }, /needs ports to check/);
    rejects(
      { image: 'x', wait: { type: 'all', of: [{ type: 'ports', ports: [] }] } },
      /needs ports to check/,
    );
    expect(validateSpec({ image: 'x', wait: { type: 'ports', ports: [80] } }).wait).toBeDefined();
    expect(validateSpec({ image: 'x', ports: [80], wait: { type: 'ports' } }).wait).toBeDefined();
  });
  it('rejects ports out of range', () => {
    rejects({ image: 'x', ports: [70000] }, /port 70000 is out of range/);
    rejects({ image: 'x', ports: [0] }, /port 0 is out of range/);
    rejects({ image: 'x', ports: [{ container: 80, host: 65536 }] }, /host port 65536/);
    rejects({ image: 'x', ports: [80, 80] }, /published twice/);
  });
  it('rejects a memory limit below what the runtime can honour', () => {
    rejects({ image: 'x', resources: { memoryBytes: 1024 } }, /below the minimum of 6 MiB/);
  });
  it('rejects relative paths and ambiguous files', () => {
    rejects(
      { image: 'x', mounts: [{ type: 'bind', source: 'rel', target: '/x' }] },
      /must be an absolute path/,
    );
    rejects({ image: 'x', files: [{ target: '/a', content: 'x', source: '/b' }] }, /exactly one of/);
  });
  it('checks overlay mounts: absolute paths, and a source overlayfs can take', () => {
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: 'project', target: '/p' }] },
      /overlay mount source "project" must be an absolute path/,
    );
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: '/p', target: 'p' }] },
      /mount target "p" must be an absolute path/,
    );
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: '/a:b', target: '/p' }] },
      /contains ":" or ","/,
    );
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: '/a,upperdir=/x', target: '/p' }] },
      /contains ":" or ","/,
    );
    const mount = { type: 'overlay', source: tmpdir(), target: '/home/me/p' } as const;
    expect(validateSpec({ image: 'x', mounts: [mount] }).mounts).toEqual([mount]);
  });
  it('rejects unknown mount types', () => {
    rejects(
      { image: 'x', mounts: [{ type: 'volume', target: '/v' }] as unknown as ContainerSpec['mounts'] },
      /unknown mount type "volume"/,
    );
  });
  it('rejects invalid wait strategies', () => {
    rejects({ image: 'x', wait: { type: 'log', pattern: '(' } }, /not a valid regular expression/);
    rejects({ image: 'x', wait: { type: 'http', port: 80 } }, /needs that port published/);
  });
  it('rejects invalid names and limits', () => {
    rejects({ image: 'x', name: '-bad' }, /container name "-bad" is invalid/);
    rejects({ image: 'x', resources: { cpus: 0 } }, /resources.cpus number 0 is out of range/);
    rejects({ image: 'x', resources: { pids: 1.5 } }, /pids limit/);
    rejects({ image: ' ' }, /image is required/);
  });

  // Issue #14 item 9: each value that reaches runc or the kernel is checked first, naming its field.
  const here = tmpdir();
  const bad: [string, Record<string, unknown>, RegExp][] = [
    [
      "cpus below Docker's 0.01",
      { resources: { cpus: 0.0001 } },
      /resources.cpus .*0.0001 is out of range .*from 0.01 to 2.00/,
    ],
    [
      "cpus above the host's CPUs",
      { resources: { cpus: 1000 } },
      /resources.cpus .*1000 .*only 2 CPUs available/,
    ],
    ['cpus not a number', { resources: { cpus: '1' } }, /resources.cpus "1" is out of range/],
    [
      'memory 1e30',
      { resources: { memoryBytes: 1e30 } },
      /resources.memoryBytes must be a whole number of bytes/,
    ],
    [
      'memory not whole',
      { resources: { memoryBytes: 7_000_000.5 } },
      /resources.memoryBytes must be a whole number/,
    ],
    [
      'memory a string',
      { resources: { memoryBytes: '64m' } },
      /resources.memoryBytes must be a whole number/,
    ],
    [
      'pids above PID_MAX_LIMIT',
      { resources: { pids: 99_999_999_999 } },
      /resources.pids\) must be a whole number from 1 to 4194304/,
    ],
    [
      'hostname of 300 characters',
      { hostname: 'a'.repeat(300) },
      /hostname "a{80}…" \(300 characters\) is invalid/,
    ],
    ['hostname with a space', { hostname: 'a b' }, /hostname "a b" .* is invalid/],
    ['hostname starting with "-"', { hostname: '-x' }, /hostname "-x"/],
    ['hostname not a string', { hostname: 5 }, /hostname must be a string, got number 5/],
    ['command with a number', { command: [42] }, /command\[0\] must be a string, got number 42/],
    ['command not an array', { command: 'ls -l' }, /command must be an array of strings, got "ls -l"/],
    ['entrypoint with null', { entrypoint: ['sh', null] }, /entrypoint\[1\] must be a string, got null/],
    ['argument with NUL', { command: ['echo', 'a\0b'] }, /command\[1\] contains a NUL/],
    ['empty env name', { env: { '': 'x' } }, /env name "" is invalid/],
    ['env name with "="', { env: { 'A=B': 'x' } }, /env name "A=B" is invalid/],
    ['env name with NUL', { env: { 'A\0': 'x' } }, /env name "A\\u0000" is invalid/],
    ['env value with NUL', { env: { A: 'x\0y' } }, /env.A contains a NUL/],
    ['env value a number', { env: { A: 1 } }, /env.A must be a string, got number 1/],
    ['env not an object', { env: ['A=1'] }, /env must be an object of strings, got an array/],
    ['label value a number', { labels: { a: 1 } }, /labels.a must be a string/],
    ['empty label name', { labels: { '': 'x' } }, /label name "" is invalid/],
    ['unknown stop signal', { stopSignal: 'SIGFOO' }, /stopSignal "SIGFOO" is not a known signal/],
    ['stop signal 65', { stopSignal: '65' }, /stopSignal "65" is not a known signal/],
    ['stop signal a number type', { stopSignal: 15 }, /stopSignal number 15 is not a known signal/],
    ['port "abc"', { ports: ['abc'] }, /port "abc" is out of range/],
    ['port 1.5', { ports: [1.5] }, /port 1.5 is out of range/],
    ['container port of an object "abc"', { ports: [{ container: 'abc' }] }, /port "abc" is out of range/],
    ['user with two colons', { user: 'a:b:c' }, /user "a:b:c" is invalid/],
    ['user with a space', { user: 'a b' }, /user "a b" is invalid/],
    ['uid out of range', { user: '4294967295' }, /ids go up to 4294967294/],
    ['relative working dir', { workingDir: 'app' }, /working dir "app" must be an absolute path/],
    ['working dir with ..', { workingDir: '/app/../..' }, /working dir "\/app\/..\/.." contains ".."/],
    [
      'mount target with ..',
      { mounts: [{ type: 'tmpfs', target: '/a/../../etc' }] },
      /mount target .* contains "\.\."/,
    ],
    [
      'mount target /',
      { mounts: [{ type: 'tmpfs', target: '/' }] },
      /mount target "\/" is the container's root/,
    ],
    [
      'bind source missing',
      { mounts: [{ type: 'bind', source: '/nonexistent/x', target: '/x' }] },
      /bind mount source "\/nonexistent\/x" does not exist/,
    ],
    [
      'overlay source a file',
      { mounts: [{ type: 'overlay', source: '/etc/hostname', target: '/x' }] },
      /overlay mount source "\/etc\/hostname" is not a directory/,
    ],
    [
      'tmpfs size 0',
      { mounts: [{ type: 'tmpfs', target: '/t', sizeBytes: 0 }] },
      /tmpfs \/t: sizeBytes must be a whole number/,
    ],
    [
      'tmpfs size 1e30',
      { mounts: [{ type: 'tmpfs', target: '/t', sizeBytes: 1e30 }] },
      /tmpfs \/t: sizeBytes/,
    ],
    [
      'tmpfs mode 0o10000',
      { mounts: [{ type: 'tmpfs', target: '/t', mode: 0o10000 }] },
      /tmpfs \/t: mode must be a file mode/,
    ],
    [
      'bind readonly "yes"',
      { mounts: [{ type: 'bind', source: here, target: '/x', readonly: 'yes' }] },
      /readonly must be true or false/,
    ],
    [
      'file target with ..',
      { files: [{ target: '/a/../b', content: 'x' }] },
      /file target "\/a\/..\/b" contains "\.\."/,
    ],
    [
      'file content a number',
      { files: [{ target: '/a', content: 5 }] },
      /file \/a: content must be a string/,
    ],
    [
      'file source missing',
      { files: [{ target: '/a', source: '/nonexistent' }] },
      /file \/a: source "\/nonexistent" does not exist/,
    ],
    [
      'file uid -1',
      { files: [{ target: '/a', content: 'x', uid: -1 }] },
      /file \/a: uid must be a whole number/,
    ],
    [
      'file mode 1.5',
      { files: [{ target: '/a', content: 'x', mode: 1.5 }] },
      /file \/a: mode must be a file mode/,
    ],
    [
      'file contentBase64 not base64',
      { files: [{ target: '/a', contentBase64: 'a$b' }] },
      /contentBase64 is not base64/,
    ],
    ['name with a space', { name: 'a b' }, /container name "a b" is invalid/],
    ['name of 129 characters', { name: 'a'.repeat(129) }, /container name "a{129}" is invalid/],
    ['network name with "/"', { networks: [{ network: 'a/b' }] }, /network name "a\/b" is invalid/],
    [
      'network alias with a space',
      { networks: [{ network: 'n', aliases: ['a b'] }] },
      /network n: alias "a b"/,
    ],
    [
      'network alias not a string',
      { networks: [{ network: 'n', aliases: [1] }] },
      /network n: alias must be a string/,
    ],
    ['writable layer "ram"', { writableLayer: 'ram' }, /writableLayer must be "tmpfs" or "disk"/],
    ['image with NUL', { image: 'a\0' }, /image contains a NUL/],
  ];
  it.each(bad)('rejects %s', (_what, fields, message) => {
    let error: unknown;
    try {
      validateSpec({ image: 'x', ...fields } as unknown as ContainerSpec, { hostCpus: 2 });
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  const good: [string, Record<string, unknown>][] = [
    ["cpus 0.01 and the host's count", { resources: { cpus: 0.01 } }],
    ['cpus = host CPUs', { resources: { cpus: 2 } }],
    ['memory 6 MiB', { resources: { memoryBytes: 6 * 1024 * 1024 } }],
    ['pids 4194304', { resources: { pids: 4_194_304 } }],
    ['hostname of 64 characters', { hostname: 'a'.repeat(64) }],
    ['hostname with dots, "-" and "_"', { hostname: 'db-1.svc_x' }],
    ['signals by name, short name, number and real-time', { stopSignal: 'SIGINT' }],
    ['short signal name', { stopSignal: 'QUIT' }],
    ['signal number', { stopSignal: '9' }],
    ['real-time signal', { stopSignal: 'SIGRTMIN+3' }],
    ['env value with "="', { env: { A: 'B=x', EMPTY: '' } }],
    ['user uid:gid', { user: '1000:1000' }],
    ['user name:group', { user: 'postgres:postgres' }],
    [
      'bind mount of an existing directory',
      { mounts: [{ type: 'bind', source: here, target: '/x', readonly: true }] },
    ],
    [
      'tmpfs with size and mode',
      { mounts: [{ type: 'tmpfs', target: '/t', sizeBytes: 65536, mode: 0o1777 }] },
    ],
    ['file from base64', { files: [{ target: '/a', contentBase64: 'aGVsbG8=\n', uid: 1000, mode: 0o600 }] }],
    ['network with aliases', { networks: [{ network: 'net_1', aliases: ['postgres', 'db.local'] }] }],
  ];
  it.each(good)('accepts %s', (_what, fields) => {
    expect(() =>
      validateSpec({ image: 'x', ...fields } as unknown as ContainerSpec, { hostCpus: 2 }),
    ).not.toThrow();
  });
});
