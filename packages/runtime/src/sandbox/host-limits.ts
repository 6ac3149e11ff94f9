import { readFileSync } from 'node:fs';

/** Docker's default open-files limit for containers. */
const PREFERRED_OPEN_FILES = 1_048_576;

/** Parses the hard "Max open files" limit from /proc/<pid>/limits. */
export function parseOpenFilesHardLimit(limits: string): number | undefined {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!match) return undefined;
  return match[2] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[2]);
}

let cached: number | undefined;

/** The open-files limit to give containers: Docker's default, capped by what this process may grant. */
export function containerOpenFilesLimit(): number {
  if (cached === undefined) {
    let hard: number | undefined;
    try {
      hard = parseOpenFilesHardLimit(readFileSync('/proc/self/limits', 'utf8'));
    } catch {
      hard = undefined;
    }
    cached = Math.min(PREFERRED_OPEN_FILES, hard ?? 1024);
  }
  return cached;
}
