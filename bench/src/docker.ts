/**
 * Docker Engine for side-by-side runs (the bench) and conformance tests: used
 * as found, or installed from Debian's docker.io and started, then stopped again.
 */
import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DockerHandle {
  readonly serverVersion: string;
  /** Stops dockerd if it was started here. */
  stop(): Promise<void>;
}

async function serverVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 5000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function hasDockerd(): Promise<boolean> {
  try {
    await run('sh', ['-c', 'command -v dockerd']);
    return true;
  } catch {
    return false;
  }
}

export async function ensureDocker(log: (line: string) => void): Promise<DockerHandle> {
  const running = await serverVersion();
  if (running) return { serverVersion: running, stop: async () => {} };
  if (!(await hasDockerd())) {
    log('installing Docker Engine (Debian docker.io) for the comparison…');
    await run('apt-get', ['install', '-y', '-qq', 'docker.io'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
    });
  }
  log('starting dockerd…');
  const out = openSync('/tmp/cspec-dockerd.log', 'a');
  const daemon = spawn('dockerd', [], { detached: true, stdio: ['ignore', out, out] });
  daemon.unref();
  for (let i = 0; i < 120; i++) {
    const version = await serverVersion();
    if (version) {
      return {
        serverVersion: version,
        async stop() {
          const exited = new Promise((resolve) => daemon.once('exit', resolve));
          daemon.kill('SIGTERM');
          await Promise.race([exited, sleep(20_000)]);
        },
      };
    }
    if (daemon.exitCode !== null) break;
    await sleep(250);
  }
  daemon.kill('SIGKILL');
  throw new Error('dockerd did not start (see /tmp/cspec-dockerd.log): the Docker comparison cannot run');
}

/** Makes a single-layer cspec image available to Docker under `tag`, with the same root filesystem. */
export async function importIntoDocker(layerDir: string, tag: string): Promise<void> {
  await run(
    'sh',
    [
      '-c',
      `tar --numeric-owner --xattrs -C '${layerDir}' -c . | docker import --change 'CMD ["bash"]' - '${tag}'`,
    ],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
}

/** Gives Docker exactly a cspec image (`cspec image save`, then `docker load`), under the same name. */
export async function saveIntoDocker(
  engine: { images: { save(refs: readonly string[], file: string): Promise<void> } },
  image: string,
  workDir: string,
): Promise<void> {
  const archive = `${workDir}/${image.replace(/[^\w.-]/g, '_')}.tar`;
  await engine.images.save([image], archive);
  await run('docker', ['load', '-i', archive]);
}
