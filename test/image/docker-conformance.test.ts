/**
 * Layer unpacking against Docker itself: Docker Engine builds an image whose
 * layers delete files, replace directories with files and back, make opaque
 * directories, hard links to files of lower layers, symbolic links, a device
 * node, a fifo, odd modes and owners. `docker save` hands it to
 * `cspec image load`, and the root filesystem cspec mounts must be the one
 * `docker export` gives for a container of the same image. Then cspec builds
 * the same Dockerfile itself (`cspec image build`), and the root filesystem of
 * its layers must be that same tree.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerHandle, ensureDocker, importIntoDocker } from '../../bench/src/docker.js';
import { IMAGE, useEngine } from '../support/engine.js';

const run = promisify(execFile);
const engine = useEngine();

/** What a path is, compared between the two trees. */
type Tree = Map<string, string>;

/** Files, links, devices and directories Docker itself puts into every container. */
const DOCKER_OWN = /^(\.dockerenv|etc\/(hosts|hostname|resolv\.conf|mtab)|dev(\/.*)?|proc|sys)$/;

const DOCKERFILE = `FROM cspec-conformance/base:1
RUN mkdir -p /opt/app/sub && echo one > /opt/app/sub/a && echo keep > /opt/keep \\
 && ln -s /opt/keep /opt/link && ln -s ../missing /opt/dangling \\
 && chmod 4711 /opt/keep && chown 1234:5678 /opt/app/sub/a && chmod 0640 /opt/app/sub/a \\
 && mkfifo /opt/fifo && mknod /opt/null c 1 3 && mkdir -m 1777 /opt/tmp
RUN rm -rf /opt/app && mkdir -p /opt/app && echo two > /opt/app/b
RUN rm /opt/keep && mkdir /opt/keep && echo inner > /opt/keep/x
RUN ln /etc/debian_version /opt/hardlink && rm /etc/issue.net && rm -rf /usr/share/doc/bash
RUN rm -rf /opt/keep && echo file-again > /opt/keep && chown 42:42 /opt/keep
`;

function describeEntry(type: string, mode: number, uid: number, gid: number, detail: string): string {
  return `${type} ${(mode & 0o7777).toString(8)} ${uid}:${gid} ${detail}`;
}

/** The tree of a `docker export` tar; hard links count as the file they link to. */
async function exportedTree(file: string): Promise<Tree> {
  const tree: Tree = new Map();
  const extractor = extract();
  createReadStream(file).pipe(extractor as unknown as NodeJS.WritableStream);
  for await (const entry of extractor) {
    const h = entry.header;
    const path = h.name.replace(/^\.?\/+/, '').replace(/\/$/, '');
    let detail = '';
    let type: string = h.type;
    if (h.type === 'file') {
      const hash = createHash('sha256');
      for await (const chunk of entry) hash.update(chunk as Buffer);
      detail = `${h.size} ${hash.digest('hex')}`;
    } else {
      entry.resume();
      if (h.type === 'symlink') detail = h.linkname ?? '';
      if (h.type === 'link') detail = `=${h.linkname?.replace(/^\.?\/+/, '')}`;
      if (h.type === 'character-device' || h.type === 'block-device') detail = `${h.devmajor}:${h.devminor}`;
    }
    if (type === 'contiguous-file') type = 'file';
    if (path === '' || DOCKER_OWN.test(path)) continue;
    tree.set(path, describeEntry(type, h.mode ?? 0, h.uid ?? 0, h.gid ?? 0, detail));
  }
  for (const [path, value] of tree) {
    const target = /^link \S+ \S+ =(.*)$/.exec(value)?.[1];
    if (target !== undefined) tree.set(path, tree.get(target) ?? `missing link target ${target}`);
  }
  return tree;
}

/** The tree of a directory (an overlay mount of the image's layers). */
async function walkTree(root: string): Promise<Tree> {
  const tree: Tree = new Map();
  const visit = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(root, path);
      const s = await lstat(full);
      let type = 'file';
      let detail = '';
      if (s.isDirectory()) type = 'directory';
      else if (s.isSymbolicLink()) {
        type = 'symlink';
        detail = await readlink(full);
      } else if (s.isFIFO()) type = 'fifo';
      else if (s.isCharacterDevice()) {
        type = 'character-device';
        detail = `${Math.floor(s.rdev / 256)}:${s.rdev % 256}`;
      } else if (s.isBlockDevice()) {
        type = 'block-device';
        detail = `${Math.floor(s.rdev / 256)}:${s.rdev % 256}`;
      } else {
        detail = `${s.size} ${createHash('sha256')
          .update(await readFile(full))
          .digest('hex')}`;
      }
      if (!DOCKER_OWN.test(path)) tree.set(path, describeEntry(type, s.mode, s.uid, s.gid, detail));
      if (s.isDirectory()) await visit(path);
    }
  };
  await visit('');
  return tree;
}

/** The tree of the image's layers, mounted read-only as overlay lower dirs. */
async function mountedTree(layerDirs: readonly string[], mountpoint: string): Promise<Tree> {
  await mkdir(mountpoint);
  const lowerdir = [...layerDirs].reverse().join(':');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowerdir}`, mountpoint]);
  try {
    return await walkTree(mountpoint);
  } finally {
    execFileSync('umount', [mountpoint]);
  }
}

/** Where two trees differ: `path: docker ... / cspec ...`. */
function differences(theirs: Tree, ours: Tree): string[] {
  const out: string[] = [];
  for (const [path, value] of theirs) {
    if (ours.get(path) !== value) out.push(`${path}: docker ${value} / cspec ${ours.get(path) ?? 'missing'}`);
  }
  for (const path of ours.keys()) if (!theirs.has(path)) out.push(`${path}: only in cspec`);
  return out;
}

const BUILT = 'cspec-conformance/built:1';

describe('image load and build match Docker', () => {
  let docker: DockerHandle;
  let work: string;
  /** `docker export` of a container of Docker's build. */
  let theirs: Tree;
  beforeAll(async () => {
    docker = await ensureDocker((line) => process.stderr.write(`[docker] ${line}\n`));
    work = await mkdtemp(join(tmpdir(), 'cspec-conformance-'));
    const base = await engine().images.resolve(IMAGE);
    await importIntoDocker(base.layerDirs[0]!, 'cspec-conformance/base:1');
    await mkdir(join(work, 'context'));
    await writeFile(join(work, 'context', 'Dockerfile'), DOCKERFILE);
    await run('docker', ['build', '-q', '-t', 'cspec-conformance/layers:1', join(work, 'context')], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      maxBuffer: 16 * 1024 * 1024,
    });
    const exported = join(work, 'export.tar');
    const { stdout: id } = await run('docker', ['create', 'cspec-conformance/layers:1', 'true']);
    try {
      await run('docker', ['export', '-o', exported, id.trim()]);
    } finally {
      await run('docker', ['rm', '-f', id.trim()]);
    }
    theirs = await exportedTree(exported);
  }, 600_000);
  afterAll(async () => {
    await run('docker', ['rmi', '-f', 'cspec-conformance/layers:1', 'cspec-conformance/base:1']).catch(
      () => {},
    );
    await docker?.stop();
    await rm(work, { recursive: true, force: true });
    for (const tag of ['cspec-conformance/layers:1', 'cspec-conformance/base:1', BUILT]) {
      await engine()
        .images.remove(tag)
        .catch(() => {});
    }
  }, 120_000);

  it('a docker save of a tricky multi-layer image unpacks to the tree docker export shows', async () => {
    const archive = join(work, 'image.tar');
    await run('docker', ['save', '-o', archive, 'cspec-conformance/layers:1']);
    const { stdout: dockerId } = await run('docker', [
      'image',
      'inspect',
      '-f',
      '{{.Id}}',
      'cspec-conformance/layers:1',
    ]);

    const loaded = await engine().images.load(archive);
    expect(loaded).toEqual([{ id: dockerId.trim(), references: ['docker.io/cspec-conformance/layers:1'] }]);
    const image = await engine().images.resolve('cspec-conformance/layers:1');
    expect(image.layerDirs.length).toBeGreaterThanOrEqual(6);

    const ours = await mountedTree(image.layerDirs, join(work, 'mnt-loaded'));
    expect(differences(theirs, ours)).toEqual([]);
    // The tricky paths are really there (a guard against comparing two empty trees).
    expect(theirs.get('opt/keep')).toMatch(/^file 644 42:42 11 /);
    expect(theirs.get('opt/app/b')).toBeDefined();
    expect(theirs.has('opt/app/sub')).toBe(false);
    expect(theirs.has('etc/issue.net')).toBe(false);
    expect(theirs.get('opt/null')).toBe('character-device 644 0:0 1:3');

    // And a container runs from it.
    const c = await engine().run({
      image: 'cspec-conformance/layers:1',
      command: [
        'sh',
        '-c',
        'cat /opt/keep /opt/app/b; ls /opt/app; test ! -e /etc/issue.net && echo whiteout-ok',
      ],
    });
    await c.wait();
    expect(await c.logText()).toBe('file-again\ntwo\nb\nwhiteout-ok\n');
    await c.remove();
  });

  it('cspec image build of the same Dockerfile makes the same tree', async () => {
    // The same base under the same name, in cspec's cache.
    await engine().images.tag(
      'cspec-conformance/base:1',
      (await engine().images.inspect(IMAGE)).manifestDigest,
    );
    const built = await engine().build({ context: join(work, 'context'), tag: BUILT });
    expect(built.steps.map((s) => s.instruction.slice(0, 4))).toEqual([
      'RUN ',
      'RUN ',
      'RUN ',
      'RUN ',
      'RUN ',
    ]);
    const image = await engine().images.resolve(BUILT);
    expect(image.layerDirs).toHaveLength(6);
    const ours = await mountedTree(image.layerDirs, join(work, 'mnt-built'));
    expect(differences(theirs, ours)).toEqual([]);
    expect(ours.get('opt/keep')).toMatch(/^file 644 42:42 11 /);
    expect(ours.get('opt/null')).toBe('character-device 644 0:0 1:3');
    expect(ours.get('opt/hardlink')).toBe(ours.get('etc/debian_version'));
  });

  it('docker load reads what cspec image save writes', async () => {
    const archive = join(work, 'saved.tar');
    await engine().images.save([IMAGE], archive);
    await run('docker', ['rmi', '-f', IMAGE]).catch(() => {});
    const { stdout } = await run('docker', ['load', '-i', archive]);
    expect(stdout).toContain(`Loaded image: ${IMAGE}`);
    const { stdout: version } = await run('docker', ['run', '--rm', IMAGE, 'cat', '/etc/debian_version']);
    expect(version).toMatch(/^12\.\d+\n$/);
    const { stdout: dockerId } = await run('docker', ['image', 'inspect', '-f', '{{.Id}}', IMAGE]);
    expect(dockerId.trim()).toBe((await engine().images.resolve(IMAGE)).id);
  });
});
