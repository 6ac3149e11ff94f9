/** Database names unique across workers, processes and runs: `t_<pid>_<thread>_<n>_<random>`. */
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';

let counter = 0;

export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${threadId}_${counter}_${randomBytes(3).toString('hex')}`;
}
