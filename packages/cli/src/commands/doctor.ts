import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname } from 'node:path';
import type { Delegation, RuntimeConfig } from '@cspec/runtime';
import { defineCommand } from '../command.js';
import { formatReport, type HostFacts, runChecks } from '../doctor/checks.js';
import { findExecutable, SYSTEM_DIRS, searchPath } from '../doctor/probes.js';
import { gatherRootlessFacts } from '../doctor/rootless-facts.js';
import { EXIT } from '../exit-codes.js';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path`, or the closest existing parent it would be created in, is writable. */
function writableDir(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      accessSync(dir, constants.W_OK);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dir === '/') return false;
    }
  }
}

function shmWritable(): boolean {
  const probe = `/dev/shm/.cspec-doctor-${process.pid}`;
  try {
    writeFileSync(probe, '');
    rmSync(probe);
    return true;
  } catch {
    return false;
  }
}

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]
      ?.trim() as string;
  } catch (error) {
    return `error: ${(error as Error).message.split('\n')[0]}`;
  }
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'Check that this host can run cspec containers, and print how to fix what is missing',
  usage: 'doctor [--json]',
  examples: ['cspec doctor', 'cspec doctor --json'],
  flags: [{ name: 'json', type: 'boolean', description: 'Print the checks as JSON' }],
  async run({ args, out, env }) {
    let config: RuntimeConfig | undefined;
    let findDelegatedCgroup: ((options: { user: string }) => Delegation) | undefined;
    let runtimeLoadError: string | undefined;
    try {
      const runtime = await import('@cspec/runtime');
      config = runtime.resolveConfig();
      findDelegatedCgroup = runtime.findDelegatedCgroup;
    } catch (error) {
      runtimeLoadError = (error as Error).message.split('\n')[0];
    }
    const path = searchPath(env.PATH);
    const executables = {
      runc: findExecutable('runc', SYSTEM_DIRS, isExecutable),
      crun: findExecutable('crun', SYSTEM_DIRS, isExecutable),
      debootstrap: findExecutable('debootstrap', path, isExecutable),
      ip: findExecutable('ip', path, isExecutable),
      iptables: findExecutable('iptables', path, isExecutable),
      mmdebstrap: findExecutable('mmdebstrap', path, isExecutable),
    };
    const uid = process.getuid?.() ?? -1;
    const rootless = config ? config.rootless : uid !== 0;
    // cspec's run directory is <XDG_RUNTIME_DIR or /tmp/cspec-UID>/cspec, unless CSPEC_RUN_DIR names it.
    const runBase =
      config && !env.CSPEC_RUN_DIR ? dirname(config.runDir) : (config?.runDir ?? `/tmp/cspec-${uid}`);
    const configured = config?.ociRuntime;
    const runtimePath = configured?.includes('/')
      ? configured
      : configured
        ? findExecutable(configured, SYSTEM_DIRS, isExecutable)
        : undefined;
    const maxUserNamespaces = read('/proc/sys/user/max_user_namespaces');
    const facts: HostFacts = {
      uid,
      kernelRelease: release(),
      filesystems: read('/proc/filesystems') ?? '',
      mountinfo: read('/proc/self/mountinfo') ?? '',
      v2Controllers: read('/sys/fs/cgroup/cgroup.controllers'),
      maxUserNamespaces,
      bridgeNfCallIptables: read('/proc/sys/net/bridge/bridge-nf-call-iptables'),
      executables,
      configuredRuntime: configured,
      runtimeVersion: undefined,
      shmWritable: shmWritable(),
      dataDir: config && { path: config.dataDir, writable: writableDir(config.dataDir) },
      runDir: config && { path: config.runDir, writable: writableDir(config.runDir) },
      ...(runtimeLoadError !== undefined ? { runtimeLoadError } : {}),
      ...(rootless
        ? {
            rootless: gatherRootlessFacts({
              uid,
              maxUserNamespaces,
              newuidmap: findExecutable('newuidmap', path, isExecutable),
              newgidmap: findExecutable('newgidmap', path, isExecutable),
              runBase,
              runBaseFromXdg: !env.CSPEC_RUN_DIR && env.XDG_RUNTIME_DIR !== undefined,
              findDelegatedCgroup,
            }),
          }
        : {}),
    };
    // Run the runtime cspec would pick, to prove it works (not only that it exists).
    const first = runChecks(facts);
    const chosen = first.cgroupMode === 'v2' ? (executables.crun ?? executables.runc) : executables.runc;
    const runtime = runtimePath ?? chosen;
    const report = runtime
      ? runChecks({ ...facts, runtimeVersion: firstLine(runtime, ['--version']) })
      : first;

    if (args.boolean('json')) out.json(report);
    else for (const line of formatReport(report)) out.line(line);
    return report.ok ? EXIT.ok : EXIT.failed;
  },
});
