/**
 * Prepared images: a service's image after its slow first-start work
 * (initialising the data directory, running migrations into a template
 * database), committed to the local image store and tagged by a hash of
 * everything that work depends on. The next run starts from it directly and
 * does none of that work; a changed input gives a new tag.
 */
import { createHash } from 'node:crypto';
import type { Container, ContainerSpec, Engine, RunOptions } from '@cspec/runtime';

export interface PrepareRequest {
  readonly engine: Engine;
  /** e.g. `cspec-cache/postgres-1a2b3c4d` — one repository per project and service. */
  readonly repository: string;
  /** Everything the prepared state depends on besides the base image (JSON-serialisable). */
  readonly fingerprint: unknown;
  /** The container that does the work; its image is the base image. */
  readonly spec: ContainerSpec;
  /** The work; the container is stopped (cleanly) and committed afterwards. */
  readonly prepare: (container: Container) => Promise<void>;
  readonly run?: RunOptions;
}

export interface PreparedImage {
  readonly reference: string;
  /** True when an earlier run's image was used and `prepare` did not run. */
  readonly reused: boolean;
}

export async function preparedImage(request: PrepareRequest): Promise<PreparedImage> {
  const { engine } = request;
  const base = await engine.images.resolve(request.spec.image, request.run ?? {});
  const hash = createHash('sha256')
    .update(JSON.stringify({ base: base.id, fingerprint: request.fingerprint }))
    .digest('hex')
    .slice(0, 16);
  // Made once even when several Vitest runs start at the same time (engine.prepareImage locks).
  const prepared = await engine.prepareImage({
    reference: `${request.repository}:${hash}`,
    spec: request.spec,
    prepare: request.prepare,
    labels: { 'dev.cspec.prepared-from': base.reference },
    comment: 'cspec: prepared service image',
    ...(request.run ? { run: request.run } : {}),
  });
  if (!prepared.reused) await removeOlderTags(engine, request.repository, prepared.reference);
  return { reference: prepared.reference, reused: prepared.reused };
}

/** Earlier preparations of the same service (older migrations) are no longer needed. */
async function removeOlderTags(engine: Engine, repository: string, keep: string): Promise<void> {
  const names = new Set([repository, `docker.io/${repository}`]);
  for (const image of await engine.images.list()) {
    const colon = image.reference.lastIndexOf(':');
    if (!names.has(image.reference.slice(0, colon))) continue;
    if (image.reference.slice(colon) === keep.slice(keep.lastIndexOf(':'))) continue;
    await engine.images.remove(image.reference).catch(() => {});
  }
}

/** A short, stable id for "this service of this project". */
export function serviceKey(root: string, name: string): string {
  return createHash('sha256').update(`${root}\0${name}`).digest('hex').slice(0, 8);
}
