import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.js';
import { buildRunSpec, RUN_FLAGS } from './run-spec.js';
import { UsageError } from './usage-error.js';

function spec(argv: string[], env: Record<string, string> = {}) {
  return buildRunSpec(parseArgs(argv, RUN_FLAGS, { stopAtFirstPositional: true, command: 'run' }), env);
}

describe('buildRunSpec', () => {
  it('takes only the image and the command when no flags are given', () => {
    expect(spec(['cspec/debian:bookworm', 'ls', '-la'])).toEqual({
      image: 'cspec/debian:bookworm',
      command: ['ls', '-la'],
    });
    expect(spec(['img'])).toEqual({ image: 'img' });
  });

  it('maps every flag onto the spec', () => {
    const result = spec([
      '--rm',
      '-p',
      '5432',
      '-p',
      '8080:80',
      '-e',
      'A=1',
      '-e',
      'B=x=y',
      '--memory',
      '64m',
      '--cpus',
      '0.5',
      '--pids',
      '64',
      '--network',
      'backend',
      '--network-alias',
      'db',
      '--name',
      'pg',
      '-w',
      '/srv',
      '-u',
      'postgres',
      '--hostname',
      'h1',
      '-v',
      '/data:/var/lib/data:ro',
      '-v',
      '/tmp/x:/x',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/cache:size=16m,mode=1777',
      '--entrypoint',
      '/bin/sh',
      '--label',
      'team=db',
      'cspec/postgres:16',
      '-c',
      'echo hi',
    ]);
    expect(result).toEqual({
      image: 'cspec/postgres:16',
      command: ['-c', 'echo hi'],
      entrypoint: ['/bin/sh'],
      name: 'pg',
      env: { A: '1', B: 'x=y' },
      labels: { team: 'db' },
      user: 'postgres',
      workingDir: '/srv',
      hostname: 'h1',
      ports: [5432, { container: 80, host: 8080 }],
      mounts: [
        { type: 'bind', source: '/data', target: '/var/lib/data', readonly: true },
        { type: 'bind', source: '/tmp/x', target: '/x', readonly: false },
        { type: 'tmpfs', target: '/run' },
        { type: 'tmpfs', target: '/cache', sizeBytes: 16 * 1024 ** 2, mode: 0o1777 },
      ],
      resources: { memoryBytes: 64 * 1024 ** 2, cpus: 0.5, pids: 64 },
      networks: [{ network: 'backend', aliases: ['db'] }],
    });
  });

  it('copies `-e NAME` from the host, skipping unset names (docker semantics)', () => {
    expect(spec(['-e', 'HOME_DIR', '-e', 'UNSET', 'img'], { HOME_DIR: '/root' }).env).toEqual({
      HOME_DIR: '/root',
    });
  });

  it('passes --security-opt through in order (the runtime checks the values)', () => {
    expect(
      spec(['--security-opt', 'seccomp=unconfined', '--security-opt', 'no-new-privileges', 'img'])
        .securityOpt,
    ).toEqual(['seccomp=unconfined', 'no-new-privileges']);
    expect(spec(['img']).securityOpt).toBeUndefined();
  });

  it('resets the entrypoint with --entrypoint ""', () => {
    expect(spec(['--entrypoint', '', 'img']).entrypoint).toEqual([]);
  });

  it.each([
    [['--rm'], '"cspec run" needs an IMAGE'],
    [['--memory', 'lots', 'img'], 'invalid size "lots" for --memory'],
    [
      ['-p', '70000', 'img'],
      'invalid container port "70000" in -p 70000 — ports are whole numbers from 1 to 65535',
    ],
    [['--cpus', '0', 'img'], 'invalid --cpus "0"'],
    [['--cpus', 'abc', 'img'], 'invalid --cpus "abc"'],
    [['--pids', '1.5', 'img'], 'invalid --pids "1.5"'],
    [['-v', 'data:/x', 'img'], 'host path "data" in -v data:/x must be an absolute path'],
    [['-v', '/data:x', 'img'], 'container path "x" in -v /data:x must be an absolute path'],
    [['-v', '/data', 'img'], 'invalid -v /data'],
    [['-v', '/a:/b:rx', 'img'], 'the mode must be ro or rw'],
    [['--tmpfs', 'run', 'img'], 'must be an absolute path'],
    [['--tmpfs', '/run:uid=3', 'img'], 'invalid --tmpfs option "uid=3"'],
    [['--network-alias', 'db', 'img'], '--network-alias needs --network NAME'],
    [['--label', 'novalue', 'img'], 'invalid --label "novalue" — use KEY=VALUE'],
    [['-e', '=x', 'img'], 'invalid -e "=x"'],
    [['-w', 'srv', 'img'], 'working dir "srv"'],
  ])('rejects %j', (argv, message) => {
    expect(() => spec(argv)).toThrow(UsageError);
    expect(() => spec(argv)).toThrow(message);
  });
});
