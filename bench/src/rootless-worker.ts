/**
 * The rootless side of the bench: runs as an ordinary user (rootless-side.ts
 * starts it) and does one measured operation per message from its parent,
 * answering with the milliseconds it took, as the root side measures them.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { postgresSpec, queryPostgres } from './postgres-side.js';

export interface WorkerOp {
  readonly op: 'trivial' | 'cli' | 'postgres';
  readonly image: string;
}

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

const engine = await createEngine();

async function measure(message: WorkerOp): Promise<number> {
  const t0 = performance.now();
  if (message.op === 'cli') {
    await run(process.execPath, [cli, 'run', '--rm', message.image, 'true']);
    return performance.now() - t0;
  }
  if (message.op === 'trivial') {
    const c = await engine.run({ image: message.image, command: ['true'] });
    await c.wait();
    await c.remove();
    return performance.now() - t0;
  }
  const c = await engine.run(postgresSpec(message.image));
  await queryPostgres(c.mappedPort(5432));
  const ready = performance.now() - t0;
  await c.remove();
  return ready;
}

process.on('message', (message: WorkerOp) => {
  measure(message).then(
    (ms) => process.send?.({ ms }),
    (error: unknown) => process.send?.({ error: (error as Error).message }),
  );
});
process.on('disconnect', () => {
  void engine.close().finally(() => process.exit(0));
});
process.send?.({ ready: true });
