import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks } from '../support/leaks.js';
import {
  ensureRootlessUser,
  openRootlessWorld,
  type RootlessUser,
  type RootlessWorld,
} from '../support/rootless-user.js';

/**
 * findDelegatedCgroup as the unprivileged rootless test user, on this hybrid
 * host, before and after root delegates a subtree to it (docs/rootless.md).
 * The delegated directories are named rl-deleg-PID (not *cspec*, which the
 * leak check counts).
 */
const PREFIX = 'rl-deleg-';
const NAME = `${PREFIX}${process.pid}`;
const HIERARCHIES = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .filter((l) => l.includes(' - cgroup cgroup '))
  .map((l) => l.split(' ')[4] as string);

let user: RootlessUser;
let world: RootlessWorld;
let scriptDir: string;

/** Runs findDelegatedCgroup as the user; with `probe`, also makes and removes a child cgroup in every directory found. */
async function findAsUser(
  options: Record<string, unknown> = {},
  probe = false,
): Promise<Record<string, unknown>> {
  const script = join(scriptDir, 'find.mts');
  const source = join(world.repo, 'packages/runtime/src/cgroup/delegation.ts');
  writeFileSync(
    script,
    `import { mkdirSync, rmdirSync } from 'node:fs';
import { findDelegatedCgroup } from ${JSON.stringify(source)};
const found = findDelegatedCgroup(${JSON.stringify({ user: user.name, ...options })});
let probed;
if (${probe} && found.delegated) {
  for (const dir of found.delegated.dirs) mkdirSync(dir + '/probe');
  for (const dir of found.delegated.dirs) rmdirSync(dir + '/probe');
  probed = found.delegated.dirs.length;
}
console.log(JSON.stringify({ ...found, probed }));
`,
  );
  const tsx = join(world.repo, 'node_modules/tsx/dist/esm/index.mjs');
  const result = await world.command([process.execPath, '--import', tsx, script]);
  if (result.status !== 0) throw new Error(`as ${user.name}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

function delegate(hierarchies: readonly string[]): void {
  for (const h of hierarchies) {
    const dir = `${h}/${NAME}`;
    mkdirSync(dir);
    if (h.endsWith('/cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(`${dir}/${f}`, readFileSync(`${h}/${f}`));
    }
    execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  }
}

/** Removes a cgroup directory and the cgroups under it (children first); every one it could not. */
function removeCgroup(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const failed = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => removeCgroup(join(dir, e.name)));
  try {
    rmdirSync(dir);
  } catch (error) {
    failed.push(`${dir}: ${(error as Error).message}`);
  }
  return failed;
}

/** Takes the delegated directories back (all of them, whatever failed); throws if any stays. */
function undelegate(name = NAME): void {
  const failed = HIERARCHIES.flatMap((h) => removeCgroup(`${h}/${name}`));
  if (failed.length) throw new Error(`cgroups left behind:\n${failed.join('\n')}`);
}

beforeAll(async () => {
  // What a run killed before its afterAll left: its process is gone.
  const stale = new Set(
    HIERARCHIES.flatMap((h) => readdirSync(h)).filter(
      (n) => n.startsWith(PREFIX) && !existsSync(`/proc/${n.slice(PREFIX.length)}`),
    ),
  );
  for (const name of stale) undelegate(name);
  user = ensureRootlessUser();
  world = await openRootlessWorld(user);
  scriptDir = mkdtempSync(join(tmpdir(), 'cspec-rl-delegation-'));
  chmodSync(scriptDir, 0o755);
});

afterAll(async () => {
  try {
    undelegate();
  } finally {
    if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
    await world?.close();
  }
  expect(HIERARCHIES.filter((h) => existsSync(`${h}/${NAME}`))).toEqual([]);
  expectNoLeaks();
});

describe('findDelegatedCgroup as an ordinary user', () => {
  it('finds nothing without delegation, and gives the recipe for every hierarchy', async () => {
    expect(HIERARCHIES.length).toBeGreaterThan(1);
    const found = await findAsUser();
    expect(found.delegated).toBeUndefined();
    expect(found.reason).toContain(`no cgroup directory is delegated to ${user.name}`);
    for (const h of HIERARCHIES) expect(found.recipe).toContain(h);
    expect(found.recipe).toContain(`chown -R ${user.name}:`);
    expect(found.recipe).toContain(`/sys/fs/cgroup/cpuset/${user.name}/cpuset.cpus`);
  });

  it('names the hierarchies missing from a partial delegation (runc needs all)', async () => {
    const some = HIERARCHIES.filter((h) => /\/(memory|pids|cpu|cpuacct)$/.test(h));
    try {
      delegate(some);
      const found = await findAsUser();
      expect(found.delegated).toBeUndefined();
      expect(found.reason).toContain(`/${NAME} is writable in some cgroup hierarchies but not all`);
      expect(found.reason).toContain(`cpuset: no /${NAME}`);
      expect(found.reason).not.toContain('memory:');
    } finally {
      undelegate();
    }
  });

  it('finds a subtree root delegated in every hierarchy, and the user can make cgroups in it', async () => {
    try {
      delegate(HIERARCHIES);
      const found = await findAsUser({}, true);
      expect(found.delegated).toEqual({
        version: 1,
        path: `/${NAME}`,
        dirs: HIERARCHIES.map((h) => `${h}/${NAME}`),
        enable: [],
      });
      expect(found.probed).toBe(HIERARCHIES.length);
      expect(((await findAsUser({ path: NAME })).delegated as { path: string }).path).toBe(`/${NAME}`);
    } finally {
      undelegate();
    }
  });
});
