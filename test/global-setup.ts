import { createEngine } from '@cspec/runtime';

/**
 * Builds the base image once before the integration tests (a cold cache
 * runs debootstrap, ~30 s) so no single test pays for it within its timeout.
 */
export default async function setup(): Promise<void> {
  const engine = await createEngine();
  try {
    await engine.images.resolve('cspec/debian:bookworm', {
      onProgress: (e) => process.stderr.write(`[cspec image] ${e.phase}: ${e.message}\n`),
    });
  } finally {
    await engine.close();
  }
}
