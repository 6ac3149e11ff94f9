/**
 * A process that owns containers and then waits to be killed: the cleanup
 * tests SIGKILL it and check that its session watcher removes everything.
 * Usage: node --import tsx --conditions cspec-source owner-process.ts COUNT
 */
import { createEngine } from '@cspec/runtime';

const count = Number(process.argv[2] ?? 5);
const engine = await createEngine();
// An ephemeral network belongs to the session too: the watcher removes it after the containers.
const network = await engine.createNetwork(undefined, { ephemeral: true });
const started = await Promise.all(
  Array.from({ length: count }, (_, i) =>
    engine.run({
      image: 'cspec/debian:bookworm',
      command: ['sleep', '600'],
      ...(i % 2 === 0 ? { ports: [7000 + i] } : {}),
      ...(i === 1 ? { networks: [{ network: network.name }] } : {}),
      resources: { memoryBytes: 64 * 1024 * 1024 },
    }),
  ),
);
process.stdout.write(`ready ${started.map((c) => c.id).join(' ')}\n`);
setInterval(() => {}, 1 << 30);
