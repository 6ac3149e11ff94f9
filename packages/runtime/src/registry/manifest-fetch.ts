/**
 * Fetching a manifest (image manifest or index) by tag or digest. The bytes
 * are kept as sent — the manifest's digest is the digest of those bytes — and
 * checked against the digest asked for, or the one the registry states.
 */
import { createHash } from 'node:crypto';
import { CspecError } from '../errors.js';
import { MANIFEST_ACCEPT, type ManifestKind, manifestKind } from './media-types.js';
import { errorDetail, type RegistryClient } from './registry-client.js';

/** Registries refuse bigger manifests; so does cspec. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string | undefined;
  readonly kind: ManifestKind;
  readonly document: Record<string, unknown>;
}

export function sha256Digest(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function fetchManifest(
  client: RegistryClient,
  reference: string,
  name: string,
): Promise<FetchedManifest> {
  const res = await client.request('GET', `manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
  if (res.status === 404) {
    const detail = await errorDetail(res);
    throw new CspecError(
      'CSPEC_IMAGE_NOT_FOUND',
      `${name} is not in the registry ${client.endpoint.domain} (${detail})`,
      {
        hint: 'check the name and tag',
      },
    );
  }
  if (!res.ok) {
    const detail = await errorDetail(res);
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${client.endpoint.domain} answered ${res.status} for the manifest of ${name}: ${detail}`,
    );
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_MANIFEST_BYTES) {
    await res.body?.cancel();
    throw new CspecError('CSPEC_REGISTRY_FAILED', `the manifest of ${name} is larger than 4 MiB`);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new CspecError('CSPEC_REGISTRY_FAILED', `the manifest of ${name} is larger than 4 MiB`);
  }
  const digest = sha256Digest(bytes);
  const stated = res.headers.get('docker-content-digest');
  const expected = reference.startsWith('sha256:')
    ? reference
    : stated?.startsWith('sha256:')
      ? stated
      : undefined;
  if (expected !== undefined && expected !== digest) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `the manifest of ${name} does not match its digest: expected ${expected}, the content hashes to ${digest}; nothing was stored`,
      { hint: 'the registry, a proxy or the network corrupted it' },
    );
  }
  let document: Record<string, unknown>;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    document = parsed as Record<string, unknown>;
  } catch (error) {
    throw new CspecError('CSPEC_REGISTRY_FAILED', `the manifest of ${name} is not valid JSON`, {
      cause: error,
    });
  }
  const mediaType = res.headers.get('content-type') ?? undefined;
  return { bytes, digest, mediaType, kind: manifestKind(mediaType, document), document };
}
