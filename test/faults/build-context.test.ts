/**
 * A hostile build context cannot read outside itself (issue 14, item 2).
 * Every build here has a secret in a fresh directory outside the context,
 * reachable from the context only through symbolic links; each build either
 * fails with CSPEC_IMAGE_BUILD_FAILED naming the Dockerfile line and the
 * path, or copies what Docker would (the link resolved as if the context
 * were the root) — and the secret is in no layer of any image it made.
 * useEngine checks that nothing is left on the host afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { isCspecError } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TarEntry, tarOf } from '../support/archives.js';
import { useEngine } from '../support/engine.js';

const engine = useEngine();
const TAG = `cspec-test/build-context-${process.pid}`;
const SECRET = `host-secret-${randomBytes(8).toString('hex')}`;
let outside: string;
let contexts: string;
let count = 0;

beforeAll(() => {
  outside = mkdtempSync(join(tmpdir(), 'cspec-outside-'));
  writeFileSync(join(outside, 'secret.txt'), `${SECRET}\n`);
  mkdirSync(join(outside, 'dir'));
  writeFileSync(join(outside, 'dir', 'nested.txt'), `${SECRET} nested\n`);
  execFileSync('tar', ['-cf', join(outside, 'secret.tar'), '-C', outside, 'secret.txt']);
  contexts = mkdtempSync(join(tmpdir(), 'cspec-contexts-'));
});

afterAll(async () => {
  rmSync(outside, { recursive: true, force: true });
  rmSync(contexts, { recursive: true, force: true });
  for (const image of await engine().images.list()) {
    if (image.reference.includes(TAG)) await engine().images.remove(image.reference);
  }
});

interface Context {
  readonly dir: string;
  file(path: string, text: string): void;
  link(path: string, target: string): void;
}

/** A fresh context with `ok/ok.txt` in it. */
function context(): Context {
  const dir = join(contexts, `ctx-${++count}`);
  mkdirSync(join(dir, 'ok'), { recursive: true });
  writeFileSync(join(dir, 'ok', 'ok.txt'), 'inside the context\n');
  return {
    dir,
    file(path, text) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    },
    link(path, target) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      symlinkSync(target, join(dir, path));
    },
  };
}

/** Every layer of every image the build made (step images too) holds no byte of the secret. */
async function secretNowhere(reference: string): Promise<void> {
  const { layerDirs } = await engine().images.resolve(reference, { pull: 'never' });
  expect(layerDirs.length).toBeGreaterThan(0);
  let found = '';
  try {
    found = execFileSync('grep', ['-rlaF', SECRET, ...layerDirs], { encoding: 'utf8' });
  } catch (error) {
    // grep exits 1 when nothing matches.
    expect((error as { status?: number }).status).toBe(1);
  }
  expect(found).toBe('');
}

/** The host file at `path` in the image (top layer first), read without following links. */
async function inImage(reference: string, path: string): Promise<string | undefined> {
  const { layerDirs } = await engine().images.resolve(reference, { pull: 'never' });
  for (const dir of [...layerDirs].reverse()) {
    const host = join(dir, path);
    if (lstatSyncOrUndefined(host)) return host;
  }
  return undefined;
}

function lstatSyncOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

async function build(ctx: Context, lines: readonly string[]) {
  writeFileSync(join(ctx.dir, 'Dockerfile'), `${lines.join('\n')}\n`);
  return engine().build({ context: ctx.dir, tag: `${TAG}:${count}` });
}

/** The build fails on `line` of the Dockerfile, naming `path`; the secret is not in the message. */
async function expectRefused(ctx: Context, lines: readonly string[], line: number, path: string) {
  const error = await build(ctx, lines).catch((e: unknown) => e);
  expect(isCspecError(error, 'CSPEC_IMAGE_BUILD_FAILED'), String(error)).toBe(true);
  const message = (error as Error).message;
  expect(message).toContain(`Dockerfile:${line}:`);
  expect(message).toContain(path);
  expect(message).not.toContain(SECRET);
  expect(readdirSync(outside).sort()).toEqual(['dir', 'secret.tar', 'secret.txt']);
}

describe('the build context is sealed', () => {
  it('COPY through a link to a host directory: evil/secret.txt is <context>/<host dir>/secret.txt', async () => {
    const ctx = context();
    ctx.link('evil', outside);
    await expectRefused(ctx, ['FROM scratch', 'COPY evil/secret.txt /leak'], 2, 'evil/secret.txt');
  });

  it('COPY of a wildcard through a link to a host directory matches nothing', async () => {
    const ctx = context();
    ctx.link('evil', outside);
    await expectRefused(
      ctx,
      ['FROM scratch', 'COPY ok/ok.txt /ok.txt', 'COPY evil/*.txt /g/'],
      3,
      'evil/*.txt',
    );
  });

  it('COPY of a link to a host file (absolute, or a chain of ..) is refused', async () => {
    const ctx = context();
    ctx.link('abs.txt', join(outside, 'secret.txt'));
    ctx.link('ok/up.txt', `${'../'.repeat(12)}${relative('/', join(outside, 'secret.txt'))}`);
    await expectRefused(ctx, ['FROM scratch', 'COPY abs.txt /leak'], 2, 'abs.txt');
    await expectRefused(ctx, ['FROM scratch', 'COPY ok/up.txt /leak'], 2, 'ok/up.txt');
    await expectRefused(ctx, ['FROM scratch', 'COPY ok/*.txt /g/', 'COPY ok/up.txt /leak'], 3, 'ok/up.txt');
  });

  it('a link is followed as if the context were the root, as Docker does', async () => {
    const ctx = context();
    ctx.link('abs', '/ok'); // <context>/ok
    ctx.link('deep/climb', '../../../../../../ok'); // .. stops at the context: <context>/ok
    ctx.link('host', outside);
    ctx.link('ok/leak.txt', join(outside, 'secret.txt'));
    await build(ctx, [
      'FROM scratch',
      'COPY abs/ok.txt /a.txt',
      'COPY deep/climb/ok.txt /b.txt',
      'COPY abs/*.txt /g/',
      // A directory is copied with its links as links: the link's text, never what it points at.
      'COPY . /all/',
    ]);
    const ref = `${TAG}:${count}`;
    for (const path of ['a.txt', 'b.txt', 'g/ok.txt', 'all/ok/ok.txt']) {
      expect(readFileSync((await inImage(ref, path)) ?? '/nonexistent', 'utf8')).toBe('inside the context\n');
    }
    expect(await inImage(ref, 'g/leak.txt')).toBeUndefined();
    const leak = (await inImage(ref, 'all/ok/leak.txt')) ?? '/nonexistent';
    expect(lstatSync(leak).isSymbolicLink()).toBe(true);
    expect(readlinkSync(leak)).toBe(join(outside, 'secret.txt'));
    expect(readlinkSync((await inImage(ref, 'all/host')) ?? '/nonexistent')).toBe(outside);
    await secretNowhere(ref);
  });

  it('ADD of a link to a host archive is refused', async () => {
    const ctx = context();
    ctx.link('files.tar', join(outside, 'secret.tar'));
    await expectRefused(ctx, ['FROM scratch', 'ADD files.tar /x/'], 2, 'files.tar');
  });

  it('ADD of a hostile archive in the context writes nothing outside the image', async () => {
    const ctx = context();
    const entries = [
      { name: 'x', type: 'symlink', linkname: outside },
      { name: 'x/pwned', content: 'pwned\n' },
      { name: '../pwned-above', content: 'pwned\n' },
      { name: 'h', type: 'link', linkname: join(outside, 'secret.txt') },
    ];
    writeFileSync(join(ctx.dir, 'evil.tar'), await tarOf(entries as unknown as TarEntry[]));
    await expectRefused(ctx, ['FROM scratch', 'ADD evil.tar /x/'], 2, 'evil.tar');
    expect(existsSync(join(contexts, 'pwned-above'))).toBe(false);
  });

  it('a file .dockerignore excludes cannot be read through a link either', async () => {
    const ctx = context();
    ctx.file('private/key.txt', `${SECRET} in the context\n`);
    ctx.file('.dockerignore', 'private\n');
    ctx.link('alias.txt', 'private/key.txt');
    ctx.link('dir-alias', '/private');
    await expectRefused(ctx, ['FROM scratch', 'COPY alias.txt /leak'], 2, 'alias.txt');
    await expectRefused(ctx, ['FROM scratch', 'COPY dir-alias/key.txt /leak'], 2, 'dir-alias/key.txt');
    await expectRefused(ctx, ['FROM scratch', 'COPY ok/ok.txt /', 'COPY dir-alias/*.txt /g/'], 3, '*.txt');
  });

  it("COPY --from resolves links inside that stage's root, never the host's", async () => {
    const ctx = context();
    // The first stage gets links (copied as links with the directory): one to a host path, one inside.
    ctx.link('tree/evil', outside);
    ctx.link('tree/etc-link', '/etc');
    ctx.file('tree/etc/hostname', 'image hostname\n');
    const stage = ['FROM scratch AS one', 'COPY tree/ /', 'FROM scratch'];
    await expectRefused(ctx, [...stage, 'COPY --from=one /evil/secret.txt /leak'], 4, '/evil/secret.txt');
    await expectRefused(ctx, [...stage, 'COPY --from=one /evil/dir /leak/'], 4, '/evil/dir');
    await build(ctx, [...stage, 'COPY --from=one /etc-link/hostname /hostname']);
    const ref = `${TAG}:${count}`;
    expect(readFileSync((await inImage(ref, 'hostname')) ?? '/nonexistent', 'utf8')).toBe('image hostname\n');
    await secretNowhere(ref);
  });

  it('a destination with .. stays inside the image', async () => {
    const ctx = context();
    const target = join(outside, 'written');
    await build(ctx, ['FROM scratch', `COPY ok/ok.txt /${'../'.repeat(20)}${target}`]);
    expect(existsSync(target)).toBe(false);
    const ref = `${TAG}:${count}`;
    expect(readFileSync((await inImage(ref, relative('/', target))) ?? '/nonexistent', 'utf8')).toBe(
      'inside the context\n',
    );
  });
});
