/** The OCI image-spec documents the store writes and reads (the fields cspec uses). */
import type { BlobStore, Descriptor } from '../content/blob-store.js';
import type { ImageConfig } from './types.js';

export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
} as const;

export interface OciDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface OciManifest {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly config: OciDescriptor;
  readonly layers: readonly OciDescriptor[];
}

export interface OciImageConfig {
  readonly created?: string;
  readonly architecture: string;
  readonly os: string;
  readonly config?: {
    readonly Env?: readonly string[];
    readonly Cmd?: readonly string[];
    readonly Entrypoint?: readonly string[];
    readonly WorkingDir?: string;
    readonly User?: string;
    readonly ExposedPorts?: Readonly<Record<string, object>>;
    readonly Labels?: Readonly<Record<string, string>>;
    readonly StopSignal?: string;
    /** Docker's HEALTHCHECK: `["CMD", arg...]`, `["CMD-SHELL", command]` or `["NONE"]`. */
    readonly Healthcheck?: {
      readonly Test?: readonly string[];
      /** Nanoseconds, as Docker writes them. */
      readonly Interval?: number;
      readonly Timeout?: number;
      readonly StartPeriod?: number;
      readonly Retries?: number;
    };
    readonly Volumes?: Readonly<Record<string, object>>;
  };
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly string[] };
  readonly history?: readonly {
    readonly created?: string;
    readonly created_by?: string;
    readonly comment?: string;
    /** The step changed only the config: no layer goes with this entry. */
    readonly empty_layer?: boolean;
  }[];
}

/** OCI architecture name of this host (`amd64`, `arm64`, ...). */
export function hostArchitecture(): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
  };
  return names[process.arch] ?? process.arch;
}

/** Maps the OCI config to what the runtime uses: `"5432/tcp"` -> 5432, ports sorted (udp ports are left out for now). */
export function toImageConfig(config: OciImageConfig): ImageConfig {
  const c = config.config ?? {};
  const ports = [
    ...new Set(
      Object.keys(c.ExposedPorts ?? {})
        .filter((p) => !p.endsWith('/udp') && !p.endsWith('/sctp'))
        .map((p) => Number.parseInt(p, 10))
        .filter((p) => Number.isInteger(p) && p > 0 && p < 65536),
    ),
  ].sort((a, b) => a - b);
  return {
    env: c.Env ?? [],
    ...(c.Cmd ? { cmd: c.Cmd } : {}),
    ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    ...(c.User ? { user: c.User } : {}),
    ...(ports.length ? { exposedPorts: ports } : {}),
    ...(c.Labels ? { labels: c.Labels } : {}),
    ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
    ...healthcheckOf(c.Healthcheck?.Test),
  };
}

function healthcheckOf(test: readonly string[] | undefined): { healthcheck?: readonly string[] } {
  const [kind, ...rest] = test ?? [];
  if (kind === 'CMD' && rest.length > 0) return { healthcheck: rest };
  if (kind === 'CMD-SHELL' && rest[0]) return { healthcheck: ['/bin/sh', '-c', rest[0]] };
  return {};
}

/**
 * Writes an image's config and manifest as blobs (the layers are already
 * stored as uncompressed tars) and returns the manifest's descriptor.
 */
export async function writeImage(
  blobs: BlobStore,
  config: OciImageConfig,
  layers: readonly Descriptor[],
): Promise<Descriptor> {
  const configBlob = await blobs.putJson(config);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.layerTar, digest: l.digest, size: l.size })),
  };
  return blobs.putJson(manifest);
}
