/**
 * `cspec image push` and `cspec image pull`, the built binary against a real
 * registry on 127.0.0.1: a round trip between two data directories, the
 * output, and bad input with one clear line.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy } from '../registry/proxy.js';
import { freePort, type RegistryServer, startRegistry } from '../registry/registry-server.js';
import { BIN, runCli } from '../support/run-cli.js';

function cspec(args: readonly string[], env: Record<string, string>) {
  return runCli(args, { env });
}

describe('cspec image push / pull', () => {
  let dir: string;
  let registry: RegistryServer;
  let source: Record<string, string>;
  let target: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-registry-cli-'));
    registry = await startRegistry();
    source = { CSPEC_DATA_DIR: join(dir, 'source') };
    target = { CSPEC_DATA_DIR: join(dir, 'target') };
    const p = pack();
    p.entry({ name: 'hello.txt', mode: 0o644, mtime: new Date(0) }, 'from the cli\n');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of p) chunks.push(chunk as Buffer);
    await writeFile(join(dir, 'rootfs.tar'), Buffer.concat(chunks));
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes a cached image under another name and pulls it into another data directory', async () => {
    const imported = await cspec(['image', 'import', join(dir, 'rootfs.tar'), 'cli/tiny:1'], source);
    expect(imported.code).toBe(0);
    const id = imported.stdout.trim();
    const remote = `${registry.host}/cli/tiny:1`;

    const pushed = await cspec(['image', 'push', 'cli/tiny:1', remote], source);
    expect(pushed.stderr).toContain('uploaded 2 blob(s)');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^Digest: sha256:[a-f0-9]{64}\n$/);

    const pulled = await cspec(['image', 'pull', remote], target);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toBe(`${pushed.stdout}Image ID: ${id}\n${remote}\n`);
    expect(pulled.stderr).toMatch(/^downloaded [a-f0-9]{12}$/m);
    expect(pulled.stderr).toContain('downloaded 1 of 1 layers');

    const again = await cspec(['pull', remote], target);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${remote}: image is up to date`);

    const ls = await cspec(['image', 'ls', '--json'], target);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ reference: remote, id })]);
  });

  it('takes credentials from DOCKER_AUTH_CONFIG and $DOCKER_CONFIG/config.json, and never prints them', async () => {
    const secured = await startRegistry({ kind: 'htpasswd', users: { carol: 'pa55-w0rd-carol' } });
    try {
      const remote = `${secured.host}/cli/secured:1`;
      const auth = Buffer.from('carol:pa55-w0rd-carol').toString('base64');
      const inline = { DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [secured.host]: { auth } } }) };
      const pushed = await cspec(['image', 'push', 'cli/tiny:1', remote], { ...source, ...inline });
      expect(pushed.code).toBe(0);

      const dockerConfig = join(dir, 'docker-config');
      await mkdir(dockerConfig);
      await writeFile(
        join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [secured.host]: { auth } } }),
      );
      const pulled = await cspec(['image', 'pull', '--debug', remote], {
        CSPEC_DATA_DIR: join(dir, 'secured'),
        DOCKER_CONFIG: dockerConfig,
        DEBUG: 'cspec:*',
      });
      expect(pulled.code).toBe(0);
      const wrong = await cspec(['image', 'pull', '--debug', remote], {
        CSPEC_DATA_DIR: join(dir, 'secured-wrong'),
        DOCKER_AUTH_CONFIG: JSON.stringify({
          auths: { [secured.host]: { username: 'carol', password: 'not-her-pa55' } },
        }),
        DEBUG: 'cspec:*',
      });
      expect(wrong.code).toBe(125);
      expect(wrong.stderr).toContain(
        `error: ${secured.host} rejected the credentials of "carol" (from DOCKER_AUTH_CONFIG)`,
      );
      for (const output of [pushed, pulled, wrong]) {
        for (const secret of ['pa55-w0rd-carol', 'not-her-pa55', auth, 'Basic ']) {
          expect(output.stdout + output.stderr).not.toContain(secret);
        }
      }
    } finally {
      await secured.stop();
    }
  });

  it('refuses bad input with one clear line', async () => {
    const port = await freePort();
    const cases: [string[], number, RegExp][] = [
      [['image', 'pull'], 2, /^error: "cspec image pull" needs exactly one REFERENCE/],
      [['image', 'push'], 2, /^error: "cspec image push" needs a REFERENCE/],
      [['image', 'pull', 'Not::Valid'], 125, /^error: invalid image reference/],
      [['image', 'pull', 'cspec/debian:bookworm'], 125, /^error: .*local namespace/],
      [
        ['image', 'pull', `127.0.0.1:${port}/x:1`],
        125,
        /^error: cannot reach the registry 127\.0\.0\.1:\d+: the connection was refused/,
      ],
      [
        ['image', 'pull', '--platform', 'linux/', `${registry.host}/cli/tiny:1`],
        125,
        /^error: invalid platform "linux\/"/,
      ],
      [
        ['image', 'push', `${registry.host}/cli/missing:1`],
        125,
        /^error: cannot push ".*missing:1": it is not in the cache/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const result = await cspec(args, target);
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(result.stdout).toBe('');
      // Progress lines may come first; the error is one line, and at most a hint follows it.
      const lines = result.stderr.trim().split('\n');
      const at = lines.findIndex((l) => l.startsWith('error: '));
      expect(lines[at]).toMatch(message);
      expect(lines.length - at).toBeLessThanOrEqual(2);
    }
  });
  it.each([
    'SIGINT',
    'SIGKILL',
  ] as const)('a pull ended by %s leaves nothing a later run trusts', async (signal) => {
    const proxy = await startProxy(registry.url, { stallBlobs: true });
    const env = { CSPEC_DATA_DIR: join(dir, `killed-${signal}`) };
    try {
      const child = spawn(process.execPath, [BIN, 'image', 'pull', `${proxy.host}/cli/tiny:1`], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NO_COLOR: '1', ...env },
      });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      // The config blob stalls: wait until its download has a temp file, then end the pull.
      for (
        let i = 0;
        i < 100 && (await readdir(join(env.CSPEC_DATA_DIR, 'tmp')).catch(() => [])).length === 0;
        i++
      ) {
        await sleep(50);
      }
      expect(await readdir(join(env.CSPEC_DATA_DIR, 'tmp'))).toHaveLength(1);
      child.kill(signal);
      const code = await closed;
      if (signal === 'SIGINT') {
        expect(code).toBe(130);
        // Aborted: it cleaned up itself.
        expect(await readdir(join(env.CSPEC_DATA_DIR, 'tmp'))).toEqual([]);
      }
      // Killed or not, the next run sees no image and sweeps what is left.
      const ls = await cspec(['image', 'ls', '--json'], env);
      expect(JSON.parse(ls.stdout)).toEqual([]);
      expect(await readdir(join(env.CSPEC_DATA_DIR, 'tmp'))).toEqual([]);
      expect(stderr).not.toMatch(/error: .*Error/);
    } finally {
      await proxy.close();
    }
  });
});
