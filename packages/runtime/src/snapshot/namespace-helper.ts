/**
 * Starts one of the snapshot helpers (unpack-main.ts, upper-main.ts) as root
 * of a rootless engine's user namespace: `nsenter` into it, then Node with
 * the helper's file and its request (JSON) as the one argument.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { UserNamespace } from '../rootless/user-namespace.js';
import { helperCommand } from '../session/helper-process.js';

export function spawnInNamespace(
  ns: UserNamespace,
  nodePath: string,
  name: 'unpack-main' | 'upper-main',
  request: unknown,
): ChildProcessWithoutNullStreams {
  const helper = helperCommand(nodePath, import.meta.url, name);
  // nsenter --mount starts in the namespace's `/`: tsx (sources, in tests) is found from this directory.
  const chdir = helper.args[0] === '--import' ? ['env', '-C', process.cwd()] : [];
  const [file, ...args] = ns.enterArgs([...chdir, helper.file, ...helper.args, JSON.stringify(request)]);
  return spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
}
