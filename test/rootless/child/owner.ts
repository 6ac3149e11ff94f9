/**
 * Run as the rootless test user: starts an engine and COUNT containers
 * (IMAGE, `sleep 600`, with LIMITS as a JSON resources spec if given),
 * prints "ready <ids>" and waits to be killed.
 * Usage: owner.ts IMAGE COUNT [LIMITS]
 */
import { createEngine } from '@cspec/runtime';

const [image = 'cspec/debian:bookworm', count = '2', limits] = process.argv.slice(2);
const engine = await createEngine();
try {
  const started = await Promise.all(
    Array.from({ length: Number(count) }, () =>
      engine.run({ image, command: ['sleep', '600'], ...(limits ? { resources: JSON.parse(limits) } : {}) }),
    ),
  );
  process.stdout.write(`ready ${started.map((c) => c.id).join(' ')}\n`);
} catch (error) {
  const e = error as { code?: string; message?: string; hint?: string };
  process.stdout.write(`${JSON.stringify({ error: e.code, message: e.message, hint: e.hint })}\n`);
  await engine.close();
  process.exit(3);
}
setInterval(() => {}, 1 << 30);
