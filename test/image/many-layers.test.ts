/**
 * Images with more layers than fit in one page of overlay mount options
 * when each layer is named by its full path: a docker-archive with a base
 * layer (the host's dash and the libraries it needs) and 130 tiny layers
 * on top, some of them deleting or hiding files of layers far below. It
 * loads and runs from the default data directory, every layer's file is
 * visible and every whiteout applies; with a data directory whose path is
 * too long for that many layers, the start fails before anything exists.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, isCspecError, resolveConfig } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerArchive, type TarEntry, tarOf } from '../support/archives.js';
import { caught } from '../support/caught.js';
import { useEngine } from '../support/engine.js';
import { hostResources } from '../support/leaks.js';

const engine = useEngine();

const TOP_LAYERS = 130;
const REFERENCE = 'example.test/many-layers:130';

const pad = (i: number) => String(i).padStart(3, '0');

/** /bin/sh (the host's dash) and the files its dynamic loader needs, at the paths ldd names. */
async function shellLayer(): Promise<Buffer> {
  const libraries = execFileSync('ldd', ['/bin/dash'], { encoding: 'utf8' })
    .split('\n')
    .flatMap((line) => /(\/\S+) \(0x/.exec(line)?.[1] ?? []);
  const files: TarEntry[] = [{ name: 'bin/sh', content: await readFile('/bin/dash'), mode: 0o755 }];
  for (const lib of libraries) files.push({ name: lib.slice(1), content: await readFile(lib), mode: 0o755 });
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  return tarOf([
    ...[...dirs].sort().map((name) => ({ name, type: 'directory' as const, mode: 0o755 })),
    ...files,
  ]);
}

/**
 * Layer i (1..130) adds /layers/NNN holding NNN. Further down, some add
 * what a layer far above takes away again.
 */
function topLayer(i: number): Promise<Buffer> {
  const entries: TarEntry[] = [{ name: `layers/${pad(i)}`, content: `${pad(i)}\n` }];
  if (i === 2) entries.push({ name: 'gone/a', content: 'a\n' }, { name: 'gone/b', content: 'b\n' });
  if (i === 3) entries.push({ name: 'opq/old', content: 'old\n' });
  if (i === 4) entries.push({ name: 'over', content: 'v4\n' });
  if (i === 5) entries.push({ name: 'dir5/x', content: 'x\n' });
  if (i === 50) entries.push({ name: 'gone/.wh.a' });
  if (i === 60) entries.push({ name: 'opq/.wh..wh..opq' }, { name: 'opq/new', content: 'new\n' });
  if (i === 100) entries.push({ name: '.wh.dir5' });
  if (i === 129) entries.push({ name: 'over', content: 'v129\n' });
  if (i === TOP_LAYERS) entries.push({ name: 'layers/.wh.007' });
  return tarOf(entries);
}

/** What `docker save` writes for the image: manifest.json, the config and one tar per layer. */
async function manyLayerArchive(): Promise<Buffer> {
  const layers = [await shellLayer()];
  for (let i = 1; i <= TOP_LAYERS; i++) layers.push(await topLayer(i));
  return dockerArchive(layers, { repoTag: REFERENCE, cmd: ['/bin/sh'] });
}

/** Runs in the container with dash's builtins only: what the layers add up to. */
const SCRIPT = [
  'n=0; for f in /layers/*; do n=$((n+1)); read v < "$f"; [ "/layers/$v" = "$f" ] || echo "wrong $f: $v"; done',
  'echo "files=$n"',
  'for f in /gone/* /opq/*; do echo "entry=$f"; done',
  'read o < /over; echo "over=$o"',
  '[ -e /dir5 ] && echo dir5=present || echo dir5=absent',
  '[ -e /layers/007 ] && echo 007=present || echo 007=absent',
  'while read -r line; do case "$line" in *" / / "*lowerdir=*) echo "root=$line";; esac; done < /proc/self/mountinfo',
].join('\n');

let dir: string;
let archive: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cspec-many-layers-'));
  archive = join(dir, 'many.tar');
  await writeFile(archive, await manyLayerArchive());
});
afterAll(async () => {
  await engine()
    .images.remove(REFERENCE)
    .catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('images with many layers', () => {
  it('runs a 131-layer image from the default data directory; every layer and whiteout counts', async () => {
    const [loaded] = await engine().images.load(archive);
    expect(loaded!.references).toEqual([REFERENCE]);
    const image = await engine().images.resolve(REFERENCE);
    expect(image.layerDirs).toHaveLength(TOP_LAYERS + 1);
    // Named by their full paths, these layers would need more than a page of mount options.
    expect(image.layerDirs.join(':').length).toBeGreaterThan(4096);

    const c = await engine().run({ image: REFERENCE, command: ['/bin/sh', '-c', SCRIPT] });
    const exit = await c.wait();
    const log = await c.logText();
    await c.remove();
    expect(exit.exitCode, log).toBe(0);
    const lines = log.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('wrong'))).toEqual([]);
    expect(lines).toContain(`files=${TOP_LAYERS - 1}`); // all but /layers/007, whited out at the top
    expect(lines.filter((l) => l.startsWith('entry='))).toEqual(['entry=/gone/b', 'entry=/opq/new']);
    expect(lines).toContain('over=v129');
    expect(lines).toContain('dir5=absent');
    expect(lines).toContain('007=absent');
    // The root is mounted through the short links, one per layer.
    const root = lines.find((l) => l.startsWith('root='));
    const lowerdir = /lowerdir=([^,]+)/.exec(root ?? '')?.[1]?.split(':') ?? [];
    const linksDir = join(resolveConfig().dataDir, 'l');
    expect(lowerdir).toHaveLength(TOP_LAYERS + 1);
    for (const path of lowerdir) expect(path).toMatch(new RegExp(`^${linksDir}/[A-Za-z0-9_-]{11}$`));
  });

  it('refuses to start it from a data directory whose path is too long, and leaves nothing behind', async () => {
    const dataDir = join(dir, 'd'.repeat(200), 'data');
    await mkdir(dataDir, { recursive: true });
    const long = await createEngine({ dataDir });
    try {
      await long.images.load(archive);
      const before = hostResources();
      const error = await caught(long.run({ image: REFERENCE, command: ['/bin/sh', '-c', 'true'] }));
      expect(isCspecError(error, 'CSPEC_IMAGE_TOO_MANY_LAYERS'), String(error)).toBe(true);
      expect(error.message).toContain(`image ${REFERENCE} has ${TOP_LAYERS + 1} layers`);
      expect(error.message).toContain('at most 4095');
      expect(error.message).toMatch(/at most \d+ layers fit/);
      expect(error.hint).toContain('CSPEC_DATA_DIR');
      expect(hostResources()).toEqual(before);
      // Not even the layers' links were made.
      expect(existsSync(join(dataDir, 'l'))).toBe(false);
    } finally {
      await long.close();
    }
  });
});
