/**
 * Runs as an unprivileged user (test/rootless/network.test.ts starts it with
 * runuser): a rootless engine starts real containers from a tiny image whose
 * programs are the host's (/usr, /lib, /lib64 and /bin bound read-only): one
 * with a published port, two on a network where one dials the other by alias
 * and by name. The network is the one named by the first argument (made by
 * another process: `cspec network create`), or one made here.
 * Prints one JSON line per step; closes the engine on SIGTERM.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine } from '../../packages/runtime/src/engine/native-engine.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { dockerArchive, type TarEntry, tarOf } from '../support/archives.js';

const report = (step: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ step, ...data })}\n`);

const HOST_PROGRAMS = ['/usr', '/lib', '/lib64', '/bin'].map((p) => ({
  type: 'bind' as const,
  source: p,
  target: p,
  readonly: true,
}));
const serve = (name: string) =>
  `require('net').createServer((s) => s.end('hello from ${name}\\n')).listen(8080, '0.0.0.0')`;
const dial = (host: string) =>
  `require('net').connect(8080, '${host}').setTimeout(5000, () => { console.error('timed out'); process.exit(1); }).on('data', (d) => { process.stdout.write(d); process.exit(0); }).on('error', (e) => { console.error(e.message); process.exit(1); })`;

/** Until the test sends SIGTERM: then the engine closes. */
const terminated = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
const engine = await createEngine();
try {
  const dir = (name: string, mode = 0o755): TarEntry => ({ name, type: 'directory', mode });
  const layer = await tarOf([
    dir('etc/'),
    dir('tmp/', 0o1777),
    ...['usr/', 'lib/', 'lib64/', 'bin/', 'proc/', 'sys/', 'dev/'].map((name) => dir(name)),
  ]);
  const archive = join(process.env.CSPEC_RUN_DIR!, '..', 'host-programs.tar');
  await writeFile(archive, await dockerArchive([layer], { repoTag: 'test/host-programs:1' }));
  await engine.images.load(archive);

  const t0 = performance.now();
  const web = await engine.run({
    image: 'test/host-programs:1',
    command: ['/usr/bin/node', '-e', serve('web')],
    mounts: HOST_PROGRAMS,
    ports: [{ container: 8080 }],
    wait: { type: 'ports' },
  });
  const t1 = performance.now();
  const detachedPorts = await engine
    .run(
      { image: 'test/host-programs:1', command: ['/bin/sleep', '60'], mounts: HOST_PROGRAMS, ports: [8080] },
      { detached: true },
    )
    .then(
      () => 'started',
      (error: unknown) => (isCspecError(error) ? error.code : String(error)),
    );
  report('published', { port: web.ports[8080], ms: t1 - t0, detachedPorts });

  const network = process.argv[2]
    ? { name: process.argv[2] }
    : await engine.createNetwork(`rl-${process.pid}`);
  const db = await engine.run({
    image: 'test/host-programs:1',
    name: `db-${process.pid}`,
    command: ['/usr/bin/node', '-e', serve('db')],
    mounts: HOST_PROGRAMS,
    networks: [{ network: network.name, aliases: ['database'] }],
    wait: { type: 'ports', ports: [8080] },
  });
  const client = await engine.run({
    image: 'test/host-programs:1',
    command: [
      '/bin/sh',
      '-c',
      `/usr/bin/node -e "$0" && /usr/bin/node -e "$1"`,
      dial('database'),
      dial(`db-${process.pid}`),
    ],
    mounts: HOST_PROGRAMS,
    networks: [{ network: network.name }],
  });
  const exit = await client.wait();
  report('reached', { exit, logs: await client.logText(), db: db.ipAddress, network: network.name });

  await terminated;
} catch (error) {
  report('failed', { message: (error as Error).stack ?? String(error) });
} finally {
  await engine.close();
  report('closed');
}
