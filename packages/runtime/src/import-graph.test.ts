/**
 * Importing the runtime must not load what only moving image content needs
 * (tar, registry, unpacking, Dockerfile builds): those modules are imported on
 * first use (image/image-store.ts), which keeps them off every CLI command's
 * and test worker's start. This walks the static imports from index.ts — the
 * ones Node loads before any code runs; `import type` and `import()` are not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Static value imports and re-exports in `text` (of `file`): local files (as .ts paths) and packages. */
function staticImports(text: string, file: string): string[] {
  const found: string[] = [];
  const pattern = /^(?:import|export)\s+(?!type\s)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const match of text.matchAll(pattern)) {
    const spec = match[1]!;
    found.push(spec.startsWith('.') ? join(dirname(file), spec.replace(/\.js$/, '.ts')) : spec);
  }
  return found;
}

function loadedAtImport(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    if (next.startsWith('/') && existsSync(next))
      pending.push(...staticImports(readFileSync(next, 'utf8'), next));
  }
  return new Set([...seen].map((m) => (m.startsWith('/') ? relative(SRC, m) : m)));
}

describe('what importing the runtime loads', () => {
  const loaded = loadedAtImport(join(SRC, 'index.ts'));

  it('finds the engine (the walk itself works)', () => {
    expect(loaded).toContain('engine/native-engine.ts');
    expect(loaded).toContain('image/image-store.ts');
    expect(loaded).toContain('container/start-container.ts');
  });

  it.each([
    'tar-stream',
    'registry/pull.ts',
    'registry/push.ts',
    'snapshot/unpack-layer.ts',
    'image/commit-image.ts',
    'image/export-image.ts',
    'image/import-image.ts',
    'image/build/builder.ts',
  ])('leaves %s for first use', (module) => {
    expect(loaded).not.toContain(module);
  });

  it('counts value imports and re-exports, not type imports or import()', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      'import {',
      '  c,',
      '  type C,',
      "} from './c.js';",
      "export { d } from './d.js';",
      "export type { E } from './e.js';",
      "export * from './f.js';",
      "import 'node:fs';",
      "const g = await import('./g.js');",
    ].join('\n');
    expect(staticImports(text, '/src/x.ts')).toEqual([
      '/src/a.ts',
      '/src/c.ts',
      '/src/d.ts',
      '/src/f.ts',
      'node:fs',
    ]);
  });
});
