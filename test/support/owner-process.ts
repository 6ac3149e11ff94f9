/**
 * A process that owns containers and then waits to be killed: the cleanup
 * tests SIGKILL it and check that its session watcher removes everything.
 * Usage: node --import tsx --conditions cspec-source owner-process.ts COUNT
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createEngine, resolveConfig } from '@cspec/runtime';

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
// Then two short-lived containers with published ports, one after the other: each removal makes a
// network namespace ahead (netns-pool.ts), which the session's cleanup must remove as well.
for (let i = 0; i < 2; i++) {
  const c = await engine.run({ image: 'cspec/debian:bookworm', command: ['true'], ports: [7000] });
  await c.wait();
  await c.remove();
}
const records = `${resolveConfig().runDir}/container-networks`;
const pooled = () =>
  readdirSync(records).some((f) => {
    if (!/^[0-9a-f]+\.json$/.test(f)) return false;
    const r = JSON.parse(readFileSync(`${records}/${f}`, 'utf8')) as { pooledBy?: string; netns: string };
    return r.pooledBy !== undefined && existsSync(`/run/netns/${r.netns}`);
  });
while (!pooled()) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(`ready ${started.map((c) => c.id).join(' ')}\n`);
setInterval(() => {}, 1 << 30);
