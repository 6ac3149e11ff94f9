/**
 * Prepared images: an image after some slow first-start work (initialising a
 * data directory, running migrations into a template database), done in a
 * container, stopped cleanly and committed. The caller names the result by a
 * hash of every input of that work, so a changed input gives a new tag and
 * an unchanged one finds the earlier result.
 *
 * Made once under concurrency: a lock per reference (between processes and
 * within one), and a second look for the tag once the lock is held; the tag
 * is written only after the whole image is stored, so no one sees half of it.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerSpec } from '../container/spec.js';
import { createDebug } from '../debug.js';
import { CspecError, isCspecError } from '../errors.js';
import type { ImageService, ResolvedImage } from '../image/types.js';
import { withFileLock } from '../util/file-lock.js';
import type { Container, RunOptions } from './engine.js';

const debug = createDebug('cspec:prepare');

export interface PrepareImageRequest {
  /** The prepared image's tag; put a hash of every input of `prepare` (and the base image id) into it. */
  readonly reference: string;
  /** The container that does the work; its image is the base image. */
  readonly spec: ContainerSpec;
  /**
   * The work, on the started (and ready) container. It is stopped afterwards
   * with its stop signal and must exit with code 0 (a clean shutdown) to be
   * committed. May return labels to record on the prepared image.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: work that records nothing may return nothing
  readonly prepare: (container: Container) => Promise<Readonly<Record<string, string>> | undefined | void>;
  /** Labels of the prepared image (besides those `prepare` returns). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Recorded in the image's history. */
  readonly comment?: string;
  readonly run?: RunOptions;
}

export interface PreparedImage {
  readonly reference: string;
  /** True when an earlier run's image was used and `prepare` did not run. */
  readonly reused: boolean;
  readonly image: ResolvedImage;
}

export interface PrepareDeps {
  readonly images: ImageService;
  readonly locksDir: string;
  readonly run: (spec: ContainerSpec, options?: RunOptions) => Promise<Container>;
}

/** The image if it is in the local store; never asks a registry. */
export async function cachedImage(
  images: ImageService,
  reference: string,
): Promise<ResolvedImage | undefined> {
  try {
    return await images.resolve(reference, { pull: 'never' });
  } catch (error) {
    if (isCspecError(error, 'CSPEC_IMAGE_NOT_FOUND')) return undefined;
    throw error;
  }
}

export async function prepareImage(deps: PrepareDeps, request: PrepareImageRequest): Promise<PreparedImage> {
  const { reference } = request;
  const found = await cachedImage(deps.images, reference);
  if (found) return { reference, reused: true, image: found };
  await mkdir(deps.locksDir, { recursive: true });
  const lockName = createHash('sha256').update(`prepare\0${reference}`).digest('hex').slice(0, 32);
  const signal = request.run?.signal;
  return withFileLock(
    join(deps.locksDir, `${lockName}.lock`),
    async () => {
      // Another process (or another start in this one) may have made it while we waited.
      const made = await cachedImage(deps.images, reference);
      if (made) return { reference, reused: true, image: made };
      const started = performance.now();
      const container = await deps.run(request.spec, request.run);
      try {
        const labels = (await request.prepare(container)) ?? {};
        const exit = await container.stop();
        if (exit.exitCode !== 0) {
          throw new CspecError(
            'CSPEC_PREPARE_FAILED',
            `cannot prepare ${reference}: the container did not shut down cleanly after its work (exit code ${exit.exitCode}), so its files may be inconsistent and are not kept`,
            {
              hint: `check that the image exits with code 0 on its stop signal; its log: ${(await container.logText({ tail: 5 })).trim()}`,
            },
          );
        }
        await container.commit(reference, {
          labels: { ...(request.labels ?? {}), ...labels },
          comment: request.comment ?? 'cspec: prepared image',
        });
      } finally {
        await container.remove();
      }
      debug('prepared %s in %d ms', reference, Math.round(performance.now() - started));
      const image = await cachedImage(deps.images, reference);
      if (!image)
        throw new CspecError('CSPEC_INTERNAL', `prepared image ${reference} vanished after its commit`);
      return { reference, reused: false, image };
    },
    { pollMs: 20, ...(signal ? { signal } : {}) },
  );
}
