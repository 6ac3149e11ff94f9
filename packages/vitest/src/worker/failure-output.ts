/**
 * When a test fails, its services' log tails join the failure: as extra
 * entries in the test's errors, which Vitest prints under the failure and
 * writes into JUnit reports. Logs are read through a handle to the running
 * container (the main process owns it; workers only read).
 */
import { getDefaultEngine } from '@cspec/runtime';
import { SERVICES_ENV } from '../provided.js';

interface FailedTask {
  readonly result?: { readonly state?: string; readonly errors?: unknown[] };
}

export const LOG_TAIL_LINES = 40;

export function failed(task: FailedTask): boolean {
  return task.result?.state === 'fail';
}

/** Adds a titled block to the failure output of `task`. */
export function attach(task: FailedTask, title: string, body: string): void {
  const errors = task.result?.errors;
  if (!errors) return;
  const text = body.trimEnd();
  errors.push({
    name: 'cspec',
    message: `${title}\n${text ? text.replace(/^/gm, '  ') : '  (no output)'}`,
    stack: '',
  });
}

/** The last lines of a container's output, optionally only those `keep` selects. */
export async function logTail(
  containerId: string,
  keep: (line: string) => boolean = () => true,
  lines = LOG_TAIL_LINES,
): Promise<string> {
  if (process.env[SERVICES_ENV]) {
    // A suite that `cspec test --distro` runs in a container: the services run on the host.
    return `(the service runs on the host, outside this container: see its output with "cspec logs ${containerId.slice(0, 12)}" while the run lasts)`;
  }
  try {
    const engine = await getDefaultEngine();
    const container = await engine.container(containerId);
    const text = await container.logText({ tail: lines * 5 });
    return text.split('\n').filter(keep).slice(-lines).join('\n');
  } catch (error) {
    return `(cspec could not read the logs: ${(error as Error).message})`;
  }
}
