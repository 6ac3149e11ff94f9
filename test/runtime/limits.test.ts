import type { Engine } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, testEngine } from '../support/engine.js';
import { expectNoLeaks } from '../support/leaks.js';

let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(async () => {
  await engine.close();
  expectNoLeaks();
});

const MiB = 1024 * 1024;

describe('cgroup limits', () => {
  it('OOM-kills a process that allocates past the memory limit and reports it', async () => {
    // `tail` buffers its whole input when the input has no newline: 200 MB of zeros.
    const c = await engine.run({
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
    const c = await engine.run({ image: IMAGE, command: ['true'], resources: { memoryBytes: 64 * MiB } });
    expect(await c.wait()).toEqual({ exitCode: 0, oomKilled: false });
    await c.remove();
  });

  it('contains a fork bomb with a pids limit', async () => {
    const c = await engine.run({
      image: IMAGE,
      command: [
        'sh',
        '-c',
        'n=0; for i in $(seq 200); do sleep 30 & if [ $? -eq 0 ]; then n=$((n+1)); fi; done 2>/dev/null; echo started=$(ls /proc | grep -cE "^[0-9]+$")',
      ],
      resources: { pids: 32 },
    });
    await c.wait();
    const log = await c.logText();
    await c.remove();
    const started = Number(/started=(\d+)/.exec(log)?.[1]);
    expect(started).toBeGreaterThan(5);
    expect(started).toBeLessThanOrEqual(32);
  });

  it('applies a CPU quota', async () => {
    const c = await engine.run({
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
      engine.run({ image: IMAGE, command: ['true'], resources: { memoryBytes: 1024 } }),
    ).rejects.toMatchObject({
      code: 'CSPEC_INVALID_SPEC',
      message: expect.stringMatching(/minimum of 6 MiB/),
    });
    expect(await engine.list({ all: true })).toEqual([]);
  });
});
