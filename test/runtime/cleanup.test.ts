import { spawn } from 'node:child_process';
import { createEngine } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { expectNoLeaks, hostResources, pooledByLiveSessions, waitForNoLeaks } from '../support/leaks.js';

function startOwner(count: number): Promise<{ pid: number; ids: string[] }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions',
      'cspec-source',
      new URL('../support/owner-process.ts', import.meta.url).pathname,
      String(count),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = /ready (.*)\n/.exec(out);
      if (line) resolve({ pid: child.pid!, ids: line[1]!.split(' ') });
    });
    child.on('exit', (code) => reject(new Error(`owner exited early with ${code}: ${out}`)));
  });
}

describe('leak-proof cleanup', () => {
  it('removes every resource within 5 s after the owning process is SIGKILLed', async () => {
    const owner = await startOwner(5);
    const during = hostResources();
    expect(during.containerDirs).toEqual(expect.arrayContaining(owner.ids));
    expect(during.netns.length).toBeGreaterThanOrEqual(3);
    expect(during.cgroups.length).toBeGreaterThanOrEqual(5);
    expect(during.links.filter((l) => l.startsWith('csbr'))).toHaveLength(1);
    // A namespace made ahead (netns-pool.ts) is the session's too.
    expect(pooledByLiveSessions().netns.size).toBe(1);
    const killedAt = Date.now();
    process.kill(owner.pid, 'SIGKILL');
    const left = await waitForNoLeaks(5000);
    expect(left, `left after ${Date.now() - killedAt} ms`).toBeUndefined();
  });

  it('close() removes the networks of its session, and only those', async () => {
    const engine = await createEngine();
    const kept = await engine.createNetwork(undefined, {
      labels: { 'dev.cspec.test': 'kept' },
      detached: true,
    });
    const ephemeral = await engine.createNetwork();
    const member = await engine.run({
      image: 'cspec/debian:bookworm',
      command: ['sleep', '60'],
      networks: [{ network: ephemeral.name }],
    });
    expect(member.ipAddress).toBeDefined();
    await engine.close();
    const engine2 = await createEngine();
    try {
      expect((await engine2.listNetworks()).map((n) => n.name)).toEqual(expect.arrayContaining([kept.name]));
      expect((await engine2.listNetworks()).map((n) => n.name)).not.toContain(ephemeral.name);
      await engine2.removeNetwork(kept.name);
    } finally {
      await engine2.close();
    }
    expectNoLeaks();
  });

  it('sweeps a dead session on the next start even without its watcher', async () => {
    const owner = await startOwner(2);
    // Kill the watcher first (it is the sh blocked on the owner's pipe), then the owner.
    const watchers = await import('node:child_process').then(({ execFileSync }) =>
      execFileSync('pgrep', ['-f', 'read line; \\[ "\\$line" = done \\]'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );
    for (const pid of watchers) process.kill(pid, 'SIGKILL');
    process.kill(owner.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(hostResources().containerDirs).toEqual(expect.arrayContaining(owner.ids));
    const engine = await createEngine();
    const report = await engine.prune();
    await engine.close();
    expect(report.containersRemoved).toBe(2);
    expectNoLeaks();
  });
});
