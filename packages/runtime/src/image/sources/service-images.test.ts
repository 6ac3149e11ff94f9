import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuildOptions } from '../build/builder.js';
import { parseDockerfile } from '../build/dockerfile.js';
import { parseReference } from '../reference.js';
import type { SourceContext } from '../source.js';
import {
  createServiceImageSource,
  recipeFingerprint,
  SERVICE_IMAGES,
  SERVICE_IMAGES_DIR,
} from './service-images.js';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copyOf(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'cspec-recipe-'));
  scratch.push(copy);
  cpSync(join(SERVICE_IMAGES_DIR, dir), copy, { recursive: true });
  return copy;
}

describe('service image recipes', () => {
  it.each(
    Object.entries(SERVICE_IMAGES),
  )('%s: a Dockerfile on cspec/debian and an executable entrypoint', (_, image) => {
    const dir = join(SERVICE_IMAGES_DIR, image.dir);
    const { instructions } = parseDockerfile(readFileSync(join(dir, 'Dockerfile'), 'utf8'));
    expect(instructions.find((i) => i.keyword === 'FROM')?.text).toBe(`cspec/debian:\${SUITE}`);
    expect(instructions.slice(-2).map((i) => `${i.keyword} ${i.text}`)).toEqual([
      'ARG CSPEC_RECIPE',
      `LABEL dev.cspec.recipe=\${CSPEC_RECIPE}`,
    ]);
    expect(instructions.find((i) => i.keyword === 'HEALTHCHECK')).toBeDefined();
    expect(statSync(join(dir, 'docker-entrypoint.sh')).mode & 0o111).toBe(0o111);
  });

  it('ship in the npm package', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
        cwd: join(SERVICE_IMAGES_DIR, '..'),
        encoding: 'utf8',
      }),
    ) as { files: { path: string; mode: number }[] }[];
    const dirs = new Set(Object.values(SERVICE_IMAGES).map((i) => i.dir));
    for (const dir of dirs) {
      expect(pack!.files.find((f) => f.path === `images/${dir}/Dockerfile`)).toBeDefined();
      expect(pack!.files.find((f) => f.path === `images/${dir}/docker-entrypoint.sh`)?.mode).toBe(0o755);
    }
  });

  it('the fingerprint changes with any file, a mode or a build argument', () => {
    const dir = copyOf('redis');
    const first = recipeFingerprint(dir, { SUITE: 'bookworm' });
    expect(recipeFingerprint(dir, { SUITE: 'bookworm' })).toBe(first);
    expect(recipeFingerprint(dir, { SUITE: 'trixie' })).not.toBe(first);
    chmodSync(join(dir, 'docker-entrypoint.sh'), 0o700);
    const chmodded = recipeFingerprint(dir, { SUITE: 'bookworm' });
    expect(chmodded).not.toBe(first);
    writeFileSync(join(dir, 'Dockerfile'), `${readFileSync(join(dir, 'Dockerfile'), 'utf8')}\n# changed\n`);
    expect(recipeFingerprint(dir, { SUITE: 'bookworm' })).not.toBe(chmodded);
  });

  it("builds the image's directory with its build arguments and the fingerprint, reporting the steps", async () => {
    const source = createServiceImageSource();
    const ref = parseReference('cspec/postgres:17');
    const asked: BuildOptions[] = [];
    const progress: string[] = [];
    const ctx = {
      signal: undefined,
      onProgress: (e: { message: string }) => progress.push(e.message),
      buildDockerfile: async (options: BuildOptions) => {
        asked.push(options);
        options.onProgress?.({ type: 'step', index: 1, total: 2, line: 4, instruction: 'FROM x' });
        options.onProgress?.({ type: 'cached', index: 1 });
        return { id: 'sha256:id', manifestDigest: 'sha256:built', reference: undefined, steps: [] };
      },
    } as unknown as SourceContext;
    expect(await source.build(ref, ctx)).toEqual({ manifestDigest: 'sha256:built' });
    expect(asked).toMatchObject([
      {
        context: join(SERVICE_IMAGES_DIR, 'postgres'),
        buildArgs: { SUITE: 'trixie', PG_MAJOR: '17', CSPEC_RECIPE: source.fingerprint?.(ref) },
      },
    ]);
    expect(asked[0]?.tag).toBeUndefined();
    expect(progress).toEqual(['cspec/postgres:17: step 1/2 FROM x', 'cspec/postgres:17: step 1/2 cached']);
  });

  it('a missing recipe directory, or a store without an engine, is a clear error', async () => {
    const missing = createServiceImageSource('/nonexistent/images');
    expect(() => missing.fingerprint?.(parseReference('cspec/redis:7'))).toThrow(
      /the recipe of cspec\/redis:7 cannot be read from \/nonexistent\/images\/redis/,
    );
    const source = createServiceImageSource();
    const ctx = { buildDockerfile: undefined, onProgress: () => {} } as unknown as SourceContext;
    await expect(source.build(parseReference('cspec/redis:7'), ctx)).rejects.toMatchObject({
      code: 'CSPEC_IMAGE_BUILD_FAILED',
      message:
        'cspec/redis:7 is built from a Dockerfile, and this image store has no engine to run its steps',
    });
  });
});
