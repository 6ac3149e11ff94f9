import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const GUARD = fileURLToPath(new URL('./orphan-guard.ts', import.meta.url));

// A stand-in for Vitest's main process: forks a worker that loads the guard, prints its pid when ready.
const PARENT = `
import { spawn } from 'node:child_process';
const worker = spawn(process.execPath, ['--import', 'tsx', '--import', ${JSON.stringify(GUARD)}, '-e',
  "process.send('ready'); setInterval(() => {}, 1 << 30)"], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
worker.on('message', () => process.stdout.write(worker.pid + '\\n'));
setInterval(() => {}, 1 << 30);
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a forked worker lives while its parent does, and ends as soon as the parent dies', async () => {
  const parent = spawn(process.execPath, ['--input-type=module', '-e', PARENT], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let pid: number | undefined;
  try {
    pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      parent.once('exit', () => reject(new Error('the parent exited before its worker was ready')));
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    const end = Date.now() + 3_000;
    while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
  } finally {
    parent.kill('SIGKILL');
    // A failed run must not leave the worker behind.
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
  }
}, 20_000);
