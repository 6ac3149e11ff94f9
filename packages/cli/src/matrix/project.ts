/**
 * The project `cspec test` runs: its directory, the Vitest it has installed,
 * and the directory a container must see for that Vitest to load (the
 * project itself, or the workspace root whose node_modules holds Vitest).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../usage-error.js';

export interface Project {
  readonly dir: string;
  /** Vitest's command-line entry (`vitest.mjs`), a real path. */
  readonly vitestBin: string;
  /** The smallest directory holding both the project and its Vitest: what a container mounts. */
  readonly mountRoot: string;
}

/** The deepest directory both paths are in. */
export function commonAncestor(a: string, b: string): string {
  const pa = a.split(sep);
  const pb = b.split(sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return pa.slice(0, i).join(sep) || sep;
}

export function findProject(dir: string): Project {
  const real = realpathSync(dir);
  if (!existsSync(join(real, 'package.json'))) {
    throw new UsageError(
      `${real} has no package.json — run cspec test in the directory of the project whose tests it should run`,
      'test',
    );
  }
  let pkg: string;
  try {
    pkg = createRequire(join(real, 'package.json')).resolve('vitest/package.json');
  } catch {
    throw new UsageError(
      `Vitest is not installed in ${real} (nor in a parent's node_modules) — install it: npm install -D vitest`,
      'test',
    );
  }
  const vitestDir = realpathSync(dirname(pkg));
  const vitestBin = join(vitestDir, 'vitest.mjs');
  if (!existsSync(vitestBin)) {
    throw new UsageError(`${vitestDir} has no vitest.mjs — is it Vitest 1 or later? reinstall it`, 'test');
  }
  // `.../node_modules/vitest` -> the directory that holds node_modules.
  const modulesParent = dirname(dirname(vitestDir));
  const mountRoot = commonAncestor(real, modulesParent);
  if (mountRoot === sep) {
    throw new UsageError(
      `the project ${real} and its Vitest (${vitestDir}) share no directory but / — install Vitest in the project: npm install -D vitest`,
      'test',
    );
  }
  return { dir: real, vitestBin, mountRoot };
}

/**
 * The reporter Vitest loads, as text: compiled beside this module (`.mjs`),
 * or its source when cspec runs from its sources (`.mts`). Without its
 * source-map comment, since it is written where its map is not.
 */
export function reporterSource(): { readonly text: string; readonly ext: string } {
  for (const ext of ['.mjs', '.mts']) {
    const path = fileURLToPath(new URL(`./vitest-reporter${ext}`, import.meta.url));
    if (existsSync(path)) {
      return { text: readFileSync(path, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, ''), ext };
    }
  }
  throw new Error('vitest-reporter.mjs is missing beside the cspec CLI — reinstall cspec');
}
