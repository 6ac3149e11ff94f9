/**
 * Platforms (`linux/amd64`, `linux/arm64/v8`) and the choice of one image
 * out of an image index / manifest list. Attestation manifests (BuildKit's
 * provenance and SBOMs: `vnd.docker.reference.type: attestation-manifest`,
 * platform `unknown/unknown`) are never chosen.
 */
import { CspecError } from '../errors.js';
import { hostArchitecture } from '../image/oci.js';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}

export interface IndexEntry {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size?: number;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

export function hostPlatform(): Platform {
  const architecture = hostArchitecture();
  // 32-bit ARM images come as v5, v6 and v7: take the one this Node was built for.
  const armVersion = (process.config.variables as { arm_version?: string }).arm_version;
  return architecture === 'arm' && armVersion
    ? { os: 'linux', architecture, variant: `v${armVersion}` }
    : { os: 'linux', architecture };
}

export function formatPlatform(p: {
  os?: string;
  architecture?: string;
  variant?: string | undefined;
}): string {
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

/** `linux/arm64/v8`, `linux/amd64`, or just `arm64` (os linux). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length === 1 && parts[0]) return { os: 'linux', architecture: parts[0] };
  if ((parts.length === 2 || parts.length === 3) && parts.every((p) => /^[a-z0-9_.-]+$/.test(p))) {
    return { os: parts[0]!, architecture: parts[1]!, variant: parts[2] };
  }
  throw new CspecError('CSPEC_INVALID_SPEC', `invalid platform "${text}": expected OS/ARCH[/VARIANT]`, {
    hint: 'e.g. --platform linux/amd64 or --platform linux/arm64/v8',
  });
}

function isAttestation(entry: IndexEntry): boolean {
  return (
    entry.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (entry.platform?.os === 'unknown' && entry.platform?.architecture === 'unknown')
  );
}

/** The entry of an index for `wanted`; an arm64 variant `v8` is the same as none. */
export function selectManifest(entries: readonly IndexEntry[], wanted: Platform, name: string): IndexEntry {
  const variantOf = (arch: string | undefined, variant: string | undefined) =>
    arch === 'arm64' && variant === 'v8' ? undefined : variant;
  const images = entries.filter((e) => !isAttestation(e));
  const matches = images.filter(
    (e) =>
      e.platform !== undefined &&
      e.platform.os === wanted.os &&
      e.platform.architecture === wanted.architecture &&
      (wanted.variant === undefined ||
        variantOf(e.platform.architecture, e.platform.variant) ===
          variantOf(wanted.architecture, wanted.variant)),
  );
  // Without a variant asked for, prefer the entry without one (or the first: arm/v7 before arm/v6 is the publisher's order).
  const chosen =
    matches.find((e) => variantOf(e.platform?.architecture, e.platform?.variant) === undefined) ?? matches[0];
  if (chosen) return chosen;
  const available = images.map((e) => formatPlatform(e.platform ?? {}));
  throw new CspecError(
    'CSPEC_IMAGE_NOT_FOUND',
    `${name} has no image for ${formatPlatform(wanted)}; it has ${available.length ? available.join(', ') : 'no runnable image'}`,
    { hint: available.length ? `pick one with --platform ${available[0]}` : undefined },
  );
}
