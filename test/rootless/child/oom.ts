/**
 * Run as the rootless test user: one container with a 64 MB memory limit
 * that allocates 200 MB; prints its exit status as JSON.
 * Usage: oom.ts IMAGE
 */
import { createEngine } from '@cspec/runtime';

const [image = 'cspec/debian:bookworm'] = process.argv.slice(2);
const engine = await createEngine();
try {
  const c = await engine.run({
    image,
    command: ['perl', '-e', '$x = "a" x (200 * 1024 * 1024); print "survived\\n"'],
    resources: { memoryBytes: 64 * 1024 * 1024 },
  });
  const status = await c.wait();
  let logs = '';
  for await (const line of c.logs()) logs += line;
  process.stdout.write(`${JSON.stringify({ ...status, logs: logs.trim() })}\n`);
  await c.remove();
} finally {
  await engine.close();
}
