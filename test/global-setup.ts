import { createEngine } from '@cspec/runtime';

/**
 * Builds the images the integration tests start, once and all at once, before
 * any test runs. On a cold cache that is three debootstraps and the service
 * images on top of them (minutes, mostly downloads and unpacking, which
 * overlap well); no single test pays for it within its timeout, and the
 * builds run side by side instead of one after another as tests reach them.
 */
const IMAGES = [
  'cspec/debian:bookworm',
  'cspec/debian:bullseye',
  'cspec/debian:trixie',
  'cspec/postgres:15',
  'cspec/postgres:17',
  'cspec/mariadb:10.11',
  'cspec/mariadb:11',
  'cspec/redis:7',
  'cspec/node:22',
];

export default async function setup(): Promise<void> {
  const engine = await createEngine();
  try {
    await Promise.all(
      IMAGES.map((image) =>
        engine.images.resolve(image, {
          onProgress: (e) => process.stderr.write(`[cspec image] ${image}: ${e.phase}: ${e.message}\n`),
        }),
      ),
    );
  } finally {
    await engine.close();
  }
}
