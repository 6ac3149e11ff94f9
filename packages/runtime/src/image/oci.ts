/** The OCI image-spec documents the store writes and reads (the fields cspec uses). */
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
  };
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly string[] };
  readonly history?: readonly { readonly created?: string; readonly created_by?: string; readonly comment?: string }[];
}
