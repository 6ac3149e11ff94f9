import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();

const MiB = 1024 * 1024;

function pidsCurrent(id: string): string {
  const v1 = `/sys/fs/cgroup/pids/cspec-${id}/pids.current`;
  return existsSync(v1) ? v1 : `/sys/fs/cgroup/cspec-${id}/pids.current`;
}

describe('cgroup limits', () => {
  it('OOM-kills a process that allocates past the memory limit and reports it', async () => {
    // `tail` buffers its whole input when the input has no newline: 200 MB of zeros.
    const c = await engine().run({
      image: IMAGE,
      command: ['sh', '-c', 'head -c 200m /dev/zero | tail -n 1 > /dev/null'],
      resources: { memoryBytes: 64 * MiB },
    });
    const exit = await c.wait();
    await c.remove();
    // The shell's exit status is tail's: killed by SIGKILL from the OOM killer.
    expect(exit).toEqual({ exitCode: 137, oomKilled: true });
  });

  it('does not report OOM for a normal exit under a limit', async () => {
    const c = await engine().run({ image: IMAGE, command: ['true'], resources: { memoryBytes: 64 * MiB } });
    expect(await c.wait()).toEqual({ exitCode: 0, oomKilled: false });
    await c.remove();
  });

  it('contains a fork bomb with a pids limit', async () => {
    const c = await engine().run({
      image: IMAGE,
      command: [
        'perl',
        '-e',
        '$| = 1; my $n = 0; for (1..200) { my $p = fork; last unless defined $p; if ($p == 0) { sleep 60; exit } $n++ } print "forked=$n\n"; sleep 60',
      ],
      resources: { pids: 32 },
      wait: { type: 'log', pattern: 'forked=' },
    });
    const forked = Number(/forked=(\d+)/.exec(await c.logText())?.[1]);
    const current = Number(readFileSync(pidsCurrent(c.id), 'utf8'));
    await c.remove();
    // perl itself plus its children fill the limit, and not one more.
    expect(forked).toBe(31);
    expect(current).toBe(32);
  });

  it('applies a CPU quota', async () => {
    const c = await engine().run({
      image: IMAGE,
      command: [
        'sh',
        '-c',
        'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d" " -f1 /sys/fs/cgroup/cpu.max',
      ],
      resources: { cpus: 0.5 },
    });
    await c.wait();
    expect((await c.logText()).trim()).toBe('50000');
    await c.remove();
  });

  it('refuses a memory limit below what the runtime can honour, creating nothing', async () => {
    await expect(
      engine().run({ image: IMAGE, command: ['true'], resources: { memoryBytes: 1024 } }),
    ).rejects.toMatchObject({
      code: 'CSPEC_INVALID_SPEC',
      message: expect.stringMatching(/minimum of 6 MiB/),
    });
    expect(await engine().list({ all: true })).toEqual([]);
  });
});
