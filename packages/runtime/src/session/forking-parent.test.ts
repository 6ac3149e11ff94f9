import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';

const MODULE = fileURLToPath(new URL('./forking-parent.ts', import.meta.url));

// A child that follows its forking parent and prints what happened to it.
const CHILD = `
import { forkingParent, watchForkingParent } from ${JSON.stringify(MODULE)};
const parent = forkingParent();
if (!parent) { console.log('none'); process.exit(0); }
const since = Date.now();
watchForkingParent(parent, {
  gone: () => { console.log('gone ' + (Date.now() - since)); process.exit(0); },
  released: () => { console.log('released'); process.exit(0); },
});
console.log('following ' + parent.pid);
process.send('following');
setInterval(() => {}, 1 << 30);
`;

// The parent forks it with an IPC channel (or without), then waits or disconnects it.
const PARENT = (how: 'ipc' | 'no-ipc' | 'disconnect') => `
import { spawn } from 'node:child_process';
const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(CHILD)}],
  { stdio: ['ignore', 'inherit', 'inherit', ...(${JSON.stringify(how)} === 'no-ipc' ? [] : ['ipc'])] });
console.log('child ' + child.pid);
if (${JSON.stringify(how)} === 'disconnect') child.on('message', () => child.disconnect());
setInterval(() => {}, 1 << 30);
`;

const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

/** Runs the parent; resolves with its pid and a function that waits for a printed line. */
function run(how: 'ipc' | 'no-ipc' | 'disconnect') {
  const parent = spawn(process.execPath, ['--input-type=module', '-e', PARENT(how)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  pids.push(parent.pid as number);
  let out = '';
  parent.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const m of out.matchAll(/^child (\d+)$/gm)) pids.push(Number(m[1]));
  });
  const line = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const end = Date.now() + 10_000;
      const check = () => {
        const m = pattern.exec(out);
        if (m) resolve(m);
        else if (Date.now() > end) reject(new Error(`no ${pattern} in:\n${out}`));
        else setTimeout(check, 20);
      };
      check();
    });
  return { parent, line };
}

test('a forked child learns within a moment that its parent was SIGKILLed', async () => {
  const { parent, line } = await run('ipc');
  await line(/^following \d+$/m);
  const killed = Date.now();
  parent.kill('SIGKILL');
  await line(/^gone \d+$/m);
  expect(Date.now() - killed).toBeLessThan(1_000);
}, 20_000);

test('a child whose channel is closed on purpose, its parent alive, stops following it', async () => {
  const { parent, line } = await run('disconnect');
  await line(/^released$/m);
  expect(parent.exitCode).toBe(null);
}, 20_000);

test('a child started without an IPC channel follows no parent', async () => {
  const { line } = await run('no-ipc');
  await line(/^none$/m);
}, 20_000);
