/**
 * Image references, parsed and normalized by Docker's rules:
 * `[DOMAIN/]PATH[:TAG][@DIGEST]`. A bare name like `postgres` means
 * `docker.io/library/postgres:latest`; names under `cspec/` are a local
 * namespace with no registry (images cspec builds itself).
 */
import { CspecError } from '../errors.js';

export interface ImageReference {
  /** Registry host (`docker.io`, `localhost:5000`), or undefined for the local `cspec/` namespace. */
  readonly domain: string | undefined;
  /** Path inside the registry, e.g. `library/postgres` or `cspec/debian`. */
  readonly repository: string;
  /** `latest` when neither a tag nor a digest is given. */
  readonly tag: string | undefined;
  /** `sha256:<hex>` when pinned. */
  readonly digest: string | undefined;
  /** Full canonical form: `docker.io/library/postgres:16`, `cspec/debian:bookworm`, `NAME@sha256:...`. */
  readonly normalized: string;
}

export const LOCAL_NAMESPACE = 'cspec';
const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const MAX_NAME_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_NAME =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const IPV6_DOMAIN = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

function invalid(ref: string, why: string): CspecError {
  return new CspecError(
    'CSPEC_INVALID_REFERENCE',
    `invalid image reference "${ref}": ${why} — expected NAME[:TAG][@DIGEST], e.g. cspec/debian:bookworm`,
  );
}

function isDomain(component: string): boolean {
  const colon = component.lastIndexOf(':');
  const host = colon > component.lastIndexOf(']') ? component.slice(0, colon) : component;
  const port = colon > component.lastIndexOf(']') ? component.slice(colon + 1) : undefined;
  if (port !== undefined && !PORT.test(port)) return false;
  return DOMAIN_NAME.test(host) || IPV6_DOMAIN.test(host);
}

export function parseReference(ref: string): ImageReference {
  if (typeof ref !== 'string' || ref.length === 0) throw invalid(String(ref), 'the reference is empty');
  if (/\s/.test(ref)) throw invalid(ref, 'it contains white space');

  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digest.startsWith('sha256:')) throw invalid(ref, 'only sha256 digests are supported');
    if (!DIGEST.test(digest)) throw invalid(ref, 'a digest is sha256: followed by 64 lower-case hex digits');
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(
        ref,
        `tag "${tag}" is not valid (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`,
      );
    }
  }

  if (rest.length === 0) throw invalid(ref, 'the name is empty');
  if (rest.length > MAX_NAME_LENGTH)
    throw invalid(ref, `the name is longer than ${MAX_NAME_LENGTH} characters`);

  const components = rest.split('/');
  let domain: string | undefined;
  const first = components[0] ?? '';
  // Docker also takes an upper-case first part for a host; here it is the more likely typo and is rejected below.
  if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!isDomain(first)) throw invalid(ref, `"${first}" is not a valid registry host`);
    domain = first;
    components.shift();
  }
  for (const component of components) {
    if (component.length === 0)
      throw invalid(ref, 'the name has an empty part ("//" or a leading or trailing "/")');
    if (component !== component.toLowerCase()) throw invalid(ref, 'the repository name must be lower-case');
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        ref,
        `"${component}" is not a valid name component (lower-case letters and digits, separated by ".", "_", "__" or "-")`,
      );
    }
  }

  let repository = components.join('/');
  if (domain === undefined && components[0] !== LOCAL_NAMESPACE) domain = DEFAULT_DOMAIN;
  // Docker Hub's other name, and its official images: `docker.io/postgres` is `docker.io/library/postgres`.
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && components.length === 1) repository = `library/${repository}`;
  if (tag === undefined && digest === undefined) tag = 'latest';

  const name = domain === undefined ? repository : `${domain}/${repository}`;
  const normalized = `${name}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
  return { domain, repository, tag, digest, normalized };
}
