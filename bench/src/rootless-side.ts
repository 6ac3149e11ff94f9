/**
 * The rootless lanes of the scenarios: the same operation as the root
 * library lane, done by an ordinary user's engine (issue #15), in a worker
 * process that runs as that user (test/support/rootless-user.ts makes the
 * user, with its subordinate ids, and its directories). Images reach its
 * store as a user's would without a registry: saved by root, loaded by it.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ensureRootlessUser,
  openRootlessWorld,
  type RootlessWorld,
} from '../../test/support/rootless-user.js';
import type { WorkerOp } from './rootless-worker.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

export interface RootlessSide {
  /** Milliseconds the user's engine took for `op`. */
  measure(op: WorkerOp): Promise<number>;
  close(): Promise<void>;
}

export async function openRootlessSide(
  images: readonly string[],
  log: (line: string) => void,
): Promise<RootlessSide> {
  const world: RootlessWorld = await openRootlessWorld(ensureRootlessUser());
  let worker: ChildProcess | undefined;
  try {
    for (const image of images) {
      const file = join(world.repo, '..', `${image.replace(/\W/g, '_')}.tar`);
      log(`rootless: loading ${image} into ${world.user.name}'s store`);
      await run(process.execPath, [cli, 'image', 'save', '-o', file, image]);
      const loaded = await world.cli(['image', 'load', '-i', file]);
      if (loaded.status !== 0) throw new Error(`loading ${image} as ${world.user.name}: ${loaded.stderr}`);
    }
    const child = world.spawn('bench/src/rootless-worker.ts', [], {}, { ipc: true });
    worker = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the rootless worker exited (${code}): ${stderr}`)));
    });
    return {
      measure: (op) =>
        new Promise((resolve, reject) => {
          child.once('message', (answer: { ms?: number; error?: string }) =>
            answer.ms === undefined
              ? reject(new Error(`rootless ${op.op}: ${answer.error}`))
              : resolve(answer.ms),
          );
          child.send(op);
        }),
      async close() {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.disconnect();
        await exited;
        await world.close();
      },
    };
  } catch (error) {
    worker?.kill('SIGKILL');
    await world.close();
    throw error;
  }
}
