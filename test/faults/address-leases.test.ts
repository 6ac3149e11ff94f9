/**
 * Issue #14 item 6: address leases are unique on the host whatever the
 * state directory. Two engines with their own run and tmpfs directories (as
 * two processes with different CSPEC_RUN_DIRs) start containers with
 * published ports at the same time: each gets its own point-to-point block,
 * and each published port answers its own container.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine, type Engine, resolveConfig } from '@cspec/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { ask, echoServer } from '../support/echo-server.js';
import { expectNoLeaks } from '../support/leaks.js';

const made: string[] = [];
const engines: Engine[] = [];

async function engineWithOwnDirs(name: string): Promise<{ engine: Engine; runDir: string }> {
  const runDir = await mkdtemp(join('/run', `cspec-it-${name}-`));
  const tmpfsDir = await mkdtemp(join('/dev/shm', `cspec-it-${name}-`));
  made.push(runDir, tmpfsDir);
  const engine = await createEngine({ runDir, tmpfsDir, netnsPoolSize: 0 });
  engines.push(engine);
  return { engine, runDir };
}

/** The p2p leases an engine holds under its run directory. */
function p2pLeases(runDir: string): string[] {
  try {
    return readdirSync(join(runDir, 'ipam', 'p2p')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
  } catch {
    return [];
  }
}

/** Host-wide claims that stand for a lease under one of this file's run directories. */
function claimsOfThisFile(): string[] {
  const found: string[] = [];
  for (const pool of ['p2p', 'subnets']) {
    const dir = join(resolveConfig().hostIpamDir, pool);
    for (const claim of existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : []) {
      const lease = readFileSync(join(dir, claim), 'utf8').trim();
      if (made.some((d) => lease.startsWith(`${d}/`))) found.push(`${pool}/${claim} -> ${lease}`);
    }
  }
  return found;
}

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  // Closing released every lease, and with it its host-wide claim.
  expect(claimsOfThisFile()).toEqual([]);
  for (const d of made.filter((d) => d.startsWith('/run/'))) expect(p2pLeases(d)).toEqual([]);
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
  expectNoLeaks();
});

describe('address leases across run directories', () => {
  it('two engines with different run directories lease different blocks; each port answers its own container', async () => {
    const a = await engineWithOwnDirs('a');
    const b = await engineWithOwnDirs('b');
    const [ca, cb] = await Promise.all([a.engine.run(echoServer('alpha')), b.engine.run(echoServer('beta'))]);
    const [la, lb] = [p2pLeases(a.runDir), p2pLeases(b.runDir)];
    expect(la).toHaveLength(1);
    expect(lb).toHaveLength(1);
    expect(la[0]).not.toBe(lb[0]);
    expect(await ask(ca.mappedPort(7000), 'x')).toBe('alpha: x');
    expect(await ask(cb.mappedPort(7000), 'y')).toBe('beta: y');
    await Promise.all([ca.remove(), cb.remove()]);
    expect(p2pLeases(a.runDir)).toEqual([]);
    expect(p2pLeases(b.runDir)).toEqual([]);
  });

  it('a block whose subnet the host routes through any interface (not only cspec) is skipped', async () => {
    // A non-cspec interface holding the first block a fresh run directory would lease.
    const link = 'itaddr0';
    execFileSync('ip', ['link', 'add', link, 'type', 'bridge']);
    try {
      execFileSync('ip', ['addr', 'add', '10.88.0.1/30', 'dev', link]);
      execFileSync('ip', ['link', 'set', link, 'up']);
      const a = await engineWithOwnDirs('c');
      const ca = await a.engine.run(echoServer('gamma'));
      expect(p2pLeases(a.runDir)).toHaveLength(1);
      expect(p2pLeases(a.runDir)[0]).not.toBe('10.88.0.0');
      expect(await ask(ca.mappedPort(7000), 'x')).toBe('gamma: x');
      await ca.remove();
    } finally {
      execFileSync('ip', ['link', 'del', link]);
    }
  });

  it('namespaces made ahead (the netns pool) of two run directories hold different blocks', async () => {
    const engines2 = await Promise.all(
      ['e', 'f'].map(async (name) => {
        const runDir = await mkdtemp(join('/run', `cspec-it-${name}-`));
        const tmpfsDir = await mkdtemp(join('/dev/shm', `cspec-it-${name}-`));
        made.push(runDir, tmpfsDir);
        const engine = await createEngine({ runDir, tmpfsDir, netnsPoolSize: 2 });
        engines.push(engine);
        return { engine, runDir };
      }),
    );
    // Two set-ups each start the pool; removals make replacements ahead.
    await Promise.all(
      engines2.map(async ({ engine }, i) => {
        const cs = await Promise.all([0, 1].map((j) => engine.run(echoServer(`pool-${i}-${j}`))));
        await Promise.all(cs.map((c) => c.remove()));
        const again = await engine.run(echoServer(`again-${i}`));
        expect(await ask(again.mappedPort(7000), 'z')).toBe(`again-${i}: z`);
        await again.remove();
      }),
    );
    const [la, lb] = engines2.map(({ runDir }) => p2pLeases(runDir));
    expect(la!.length).toBeGreaterThan(0);
    expect(lb!.length).toBeGreaterThan(0);
    expect(la!.filter((a) => lb!.includes(a))).toEqual([]);
  });
});
