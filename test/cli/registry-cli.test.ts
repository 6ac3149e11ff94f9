/**
 * `cspec image push` and `cspec image pull`, the built binary against a real
 * registry on 127.0.0.1: a round trip between two data directories, the
 * output, and bad input with one clear line.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RegistryServer, startRegistry } from '../registry/registry-server.js';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cspec(args: readonly string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
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
});
