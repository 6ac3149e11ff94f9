import { readFileSync } from 'node:fs';

/**
 * A process identified by pid AND start time, so a recycled pid is never
 * mistaken for the original owner.
 */
export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  readonly startTime: string;
}

export function readStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

export function currentProcessIdentity(): ProcessIdentity {
  const startTime = readStartTime(process.pid);
  if (startTime === undefined) throw new Error('cannot read /proc/self/stat');
  return { pid: process.pid, startTime };
}

export function isProcessAlive(identity: ProcessIdentity): boolean {
  return readStartTime(identity.pid) === identity.startTime;
}
