/**
 * The optional `cspec.config.json` beside the project's package.json:
 *
 *   { "matrix": ["debian:bullseye", "debian:bookworm"] }
 *
 * `--distro` on the command line wins over it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../usage-error.js';

export const CONFIG_FILE = 'cspec.config.json';

export interface CspecConfigFile {
  /** Distributions `cspec test` runs the suite on when no `--distro` is given. */
  readonly matrix?: readonly string[];
}

/** Reads the config file of `projectDir`, if there is one. */
export function readConfigFile(projectDir: string): CspecConfigFile {
  const path = join(projectDir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  return parseConfigFile(text, path);
}

export function parseConfigFile(text: string, path: string): CspecConfigFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`, 'test');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${path} must hold an object, e.g. { "matrix": ["debian:bookworm"] }`, 'test');
  }
  const unknown = Object.keys(value).filter((k) => k !== 'matrix');
  if (unknown.length) {
    throw new UsageError(
      `${path}: unknown key ${JSON.stringify(unknown[0])} — the only key is "matrix"`,
      'test',
    );
  }
  const matrix = (value as { matrix?: unknown }).matrix;
  if (matrix === undefined) return {};
  if (!Array.isArray(matrix) || matrix.some((m) => typeof m !== 'string')) {
    throw new UsageError(
      `${path}: "matrix" must be a list of distributions, e.g. ["debian:bullseye", "debian:bookworm"]`,
      'test',
    );
  }
  return { matrix };
}
