/**
 * The plugin on Vitest 5 (which needs Node >= 22): examples/postgres-per-test
 * copied into a temporary project that installs vitest@5 and cspec's packages
 * (packed from this checkout, so one Vitest serves runner and fixtures), run
 * on Node 24.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '@cspec/runtime';
import { afterAll, expect, test } from 'vitest';
import { serviceKey } from '../../packages/vitest/src/main/prepared-image.js';
import { expectNoLeaks } from '../support/leaks.js';
import { outsideVitest } from './run-vitest.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VITEST5 = '5.1.1';
const project = realpathSync(mkdtempSync(join(tmpdir(), 'cspec-vitest5-')));

afterAll(async () => {
  // The prepared template image belongs to this temporary project: remove it.
  const engine = await createEngine();
  try {
    const key = serviceKey(project, 'db');
    for (const image of await engine.images.list()) {
      if (image.reference.includes(`-${key}:`)) await engine.images.remove(image.reference);
    }
  } finally {
    await engine.close();
  }
  rmSync(project, { recursive: true, force: true });
});

test(`examples/postgres-per-test passes on Vitest ${VITEST5} (Node 24)`, async () => {
  const example = join(ROOT, 'examples/postgres-per-test');
  for (const entry of ['vitest.config.ts', 'migrations', 'seed.sql', 'src', 'test']) {
    cpSync(join(example, entry), join(project, entry), { recursive: true });
  }
  const local = (name: string) => `file:${join(ROOT, 'packages', name)}`;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'cspec-vitest5-check',
      private: true,
      type: 'module',
      dependencies: {
        vitest: VITEST5,
        pg: '^8.23.1',
        cspec: local('cli'),
        '@cspec/runtime': local('runtime'),
        '@cspec/vitest': local('vitest'),
      },
      overrides: { '@cspec/runtime': local('runtime'), '@cspec/vitest': local('vitest') },
    }),
  );
  execFileSync('npm', ['install', '--install-links', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project,
    stdio: 'pipe',
  });
  const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'scripts/with-node24.mjs'), 'node_modules/vitest/vitest.mjs', 'run'],
      { cwd: project, env: { ...outsideVitest(), NO_COLOR: '1', CI: 'true' } },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('close', (code) => resolve({ code, output }));
  });
  expect(run.code, run.output).toBe(0);
  expect(run.output).toMatch(/RUN {2}v5\.\d+\.\d+/);
  expect(run.output).toMatch(/Tests\s+8 passed/);
  expect(run.output).toMatch(/\[cspec\] db \(cspec\/postgres:17\) ready in/);
  expectNoLeaks();
}, 300_000);
