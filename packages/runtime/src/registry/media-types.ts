/** Manifest media types a registry may answer with (OCI and Docker v2 schema 2). */
export const MANIFEST_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const INDEX_TYPES: ReadonlySet<string> = new Set([MANIFEST_TYPES.ociIndex, MANIFEST_TYPES.dockerList]);
const IMAGE_TYPES: ReadonlySet<string> = new Set([MANIFEST_TYPES.ociManifest, MANIFEST_TYPES.dockerManifest]);

/** The `Accept` header for manifest requests. */
export const MANIFEST_ACCEPT = Object.values(MANIFEST_TYPES).join(', ');

export type ManifestKind = 'index' | 'image' | 'schema1' | 'unknown';

/**
 * What a manifest document is, by its Content-Type or `mediaType` field, or
 * (OCI allows leaving both out) by its shape.
 */
export function manifestKind(
  contentType: string | undefined,
  document: Record<string, unknown>,
): ManifestKind {
  const declared = (typeof document.mediaType === 'string' ? document.mediaType : undefined) ?? contentType;
  const type = declared?.split(';')[0]?.trim();
  if (type && INDEX_TYPES.has(type)) return 'index';
  if (type && IMAGE_TYPES.has(type)) return 'image';
  if (document.schemaVersion === 1 || type?.startsWith('application/vnd.docker.distribution.manifest.v1'))
    return 'schema1';
  if (Array.isArray(document.manifests)) return 'index';
  if (typeof document.config === 'object' && Array.isArray(document.layers)) return 'image';
  return 'unknown';
}
