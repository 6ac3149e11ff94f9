import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks } from '../support/leaks.js';

/**
 * findDelegatedCgroup as the unprivileged user cspecrl, on this hybrid host,
 * before and after root delegates a subtree to it (docs/rootless.md).
 */
const USER = 'cspecrl';
const SOURCE = fileURLToPath(new URL('../../packages/runtime/src/cgroup/delegation.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const NAME = `rldeleg-${process.pid}`;
const HIERARCHIES = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter((l) => l.includes(' - cgroup cgroup '))
  .map((l) => l.split(' ')[4] as string);

let scriptDir: string;

/** Runs findDelegatedCgroup as the user; with `probe`, also makes and removes a child cgroup in every directory found. */
function findAsUser(options: Record<string, unknown> = {}, probe = false): Record<string, unknown> {
  const script = join(scriptDir, 'find.mts');
  writeFileSync(
    script,
    `import { mkdirSync, rmdirSync } from 'node:fs';
import { findDelegatedCgroup } from ${JSON.stringify(SOURCE)};
const found = findDelegatedCgroup(${JSON.stringify({ user: USER, ...options })});
let probed;
if (${probe} && found.delegated) {
  for (const dir of found.delegated.dirs) mkdirSync(dir + '/probe');
  for (const dir of found.delegated.dirs) rmdirSync(dir + '/probe');
  probed = found.delegated.dirs.length;
}
console.log(JSON.stringify({ ...found, probed }));
`,
  );
  const result = spawnSync(
    'runuser',
    [
      '-u',
      USER,
      '--',
      'env',
      '-i',
      `HOME=/home/${USER}`,
      'PATH=/usr/bin:/bin',
      process.execPath,
      '--import',
      TSX,
      script,
    ],
    { encoding: 'utf8', cwd: '/', timeout: 60_000 },
  );
  if (result.status !== 0) throw new Error(`as ${USER}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

function delegate(hierarchies: readonly string[]): void {
  for (const h of hierarchies) {
    const dir = `${h}/${NAME}`;
    mkdirSync(dir);
    if (h.endsWith('/cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(`${dir}/${f}`, readFileSync(`${h}/${f}`));
    }
    execFileSync('chown', ['-R', `${USER}:`, dir]);
  }
}

function undelegate(): void {
  for (const h of HIERARCHIES) {
    const dir = `${h}/${NAME}`;
    if (existsSync(`${dir}/probe`)) rmdirSync(`${dir}/probe`);
    if (existsSync(dir)) rmdirSync(dir);
  }
}

beforeAll(() => {
  expect(
    spawnSync('id', ['-u', USER]).status,
    `the test user ${USER} (scripts/rootless-user.sh ${USER})`,
  ).toBe(0);
  scriptDir = mkdtempSync(join(tmpdir(), 'cspec-rl-delegation-'));
  chmodSync(scriptDir, 0o755);
});

afterAll(() => {
  undelegate();
  rmSync(scriptDir, { recursive: true, force: true });
  expect(HIERARCHIES.filter((h) => existsSync(`${h}/${NAME}`))).toEqual([]);
  expectNoLeaks();
});

describe('findDelegatedCgroup as an ordinary user', () => {
  it('finds nothing without delegation, and gives the recipe for every hierarchy', () => {
    expect(HIERARCHIES.length).toBeGreaterThan(1);
    const found = findAsUser();
    expect(found.delegated).toBeUndefined();
    expect(found.reason).toContain(`no cgroup directory is delegated to ${USER}`);
    for (const h of HIERARCHIES) expect(found.recipe).toContain(h);
    expect(found.recipe).toContain(`chown -R ${USER}:`);
    expect(found.recipe).toContain(`/sys/fs/cgroup/cpuset/${USER}/cpuset.cpus`);
  });

  it('names the hierarchies missing from a partial delegation (runc needs all)', () => {
    const some = HIERARCHIES.filter((h) => /\/(memory|pids|cpu|cpuacct)$/.test(h));
    try {
      delegate(some);
      const found = findAsUser();
      expect(found.delegated).toBeUndefined();
      expect(found.reason).toContain(`/${NAME} is writable in some cgroup hierarchies but not all`);
      expect(found.reason).toContain(`cpuset: no /${NAME}`);
      expect(found.reason).not.toContain('memory:');
    } finally {
      undelegate();
    }
  });

  it('finds a subtree root delegated in every hierarchy, and the user can make cgroups in it', () => {
    try {
      delegate(HIERARCHIES);
      const found = findAsUser({}, true);
      expect(found.delegated).toEqual({
        version: 1,
        path: `/${NAME}`,
        dirs: HIERARCHIES.map((h) => `${h}/${NAME}`),
        enable: [],
      });
      expect(found.probed).toBe(HIERARCHIES.length);
      expect((findAsUser({ path: NAME }).delegated as { path: string }).path).toBe(`/${NAME}`);
    } finally {
      undelegate();
    }
  });
});
