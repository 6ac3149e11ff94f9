/**
 * Sizes as docker takes them: a number of bytes, or a number with a unit
 * `b`, `k`, `m`, `g`, `t` (powers of 1024, case-insensitive, optional `b`/`ib`).
 */
import { UsageError } from './usage-error.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i;

/** Parses `64m`, `1g`, `512k`, `1.5g`, `1048576`; throws a UsageError naming the flag otherwise. */
export function parseSize(text: string, flag: string, command?: string): number {
  const match = SIZE.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `invalid size "${text}" for ${flag} — use a number of bytes or a number with a unit: 512k, 64m, 1g`,
      command,
    );
  }
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(bytes) && bytes > 0) {
    throw new UsageError(
      `invalid size "${text}" for ${flag} — it is larger than the largest size cspec passes on (${formatSize(Number.MAX_SAFE_INTEGER)})`,
      command,
    );
  }
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(`invalid size "${text}" for ${flag} — it must be greater than zero`, command);
  }
  return bytes;
}

/** `67108864` -> `64 MiB`, `1536` -> `1.5 KiB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${units[unit]}`;
}
