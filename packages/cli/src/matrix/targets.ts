/**
 * Where `cspec test` runs the suite: `debian:<suite>` names the cached
 * image `cspec/debian:<suite>`; a reference with a `/` is used as it is (an
 * image of the user's, built on one of those).
 */
import { DEBIAN_SUITES } from '@cspec/runtime';
import { UsageError } from '../usage-error.js';

export interface Target {
  /** As the user wrote it, e.g. `debian:bookworm`. */
  readonly name: string;
  /** The image the container starts from, e.g. `cspec/debian:bookworm`. */
  readonly image: string;
  /** For file names: `debian-bookworm`. */
  readonly slug: string;
}

const DEBIAN_ALIASES: Readonly<Record<string, string>> = {
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
};

export function slugOf(name: string): string {
  return name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
}

export function resolveTarget(name: string): Target {
  const trimmed = name.trim();
  const debian = /^debian:(.+)$/.exec(trimmed);
  if (debian) {
    const tag = debian[1] as string;
    const suite = (DEBIAN_SUITES as readonly string[]).includes(tag) ? tag : DEBIAN_ALIASES[tag];
    if (suite) return { name: trimmed, image: `cspec/debian:${suite}`, slug: slugOf(trimmed) };
  } else if (trimmed.includes('/') && !/\s/.test(trimmed)) {
    return { name: trimmed, image: trimmed, slug: slugOf(trimmed) };
  }
  throw new UsageError(
    `unknown distribution "${name}" — cspec test runs on ${DEBIAN_SUITES.map((s) => `debian:${s}`).join(', ')}, or on an image given by reference (e.g. cspec/debian:bookworm)`,
    'test',
  );
}

/** Parses `--distro a,b --distro c` (or the config's list) into distinct targets. */
export function resolveTargets(names: readonly string[]): Target[] {
  const targets = names
    .flatMap((n) => n.split(','))
    .filter((n) => n.trim() !== '')
    .map(resolveTarget);
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.image)) throw new UsageError(`distribution ${t.name} is listed twice`, 'test');
    seen.add(t.image);
  }
  return targets;
}
