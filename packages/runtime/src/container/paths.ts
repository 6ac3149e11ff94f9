import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';

/** Where a container's files live. Derived from its id, so teardown never depends on partial state. */
export interface ContainerPaths {
  readonly dir: string;
  readonly state: string;
  readonly config: string;
  readonly rootfs: string;
  readonly log: string;
  readonly runtimeLog: string;
  /** Written by the OCI runtime (`--pid-file`) once the container's init exists. */
  readonly pid: string;
  readonly exit: string;
  readonly exitJson: string;
  readonly hosts: string;
  readonly hostname: string;
  readonly resolvConf: string;
  readonly writable: string;
  readonly upper: string;
  readonly work: string;
  /** Upper and work directories of overlay mounts (`<mounts>/<index>/upper|work`). */
  readonly mounts: string;
}

export function containersDir(config: RuntimeConfig): string {
  return join(config.runDir, 'containers');
}

export function writableDirFor(config: RuntimeConfig, id: string, layer: 'tmpfs' | 'disk'): string {
  return layer === 'tmpfs' ? join(config.tmpfsDir, id) : join(config.dataDir, 'writable', id);
}

export function containerPaths(config: RuntimeConfig, id: string, writable: string): ContainerPaths {
  const dir = join(containersDir(config), id);
  return {
    dir,
    state: join(dir, 'state.json'),
    config: join(dir, 'config.json'),
    rootfs: join(dir, 'rootfs'),
    log: join(dir, 'container.log'),
    runtimeLog: join(dir, 'runtime.log'),
    pid: join(dir, 'pid'),
    exit: join(dir, 'exit'),
    exitJson: join(dir, 'exit.json'),
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
    resolvConf: join(dir, 'resolv.conf'),
    writable,
    upper: join(writable, 'upper'),
    work: join(writable, 'work'),
    mounts: join(writable, 'mounts'),
  };
}

export function namesDir(config: RuntimeConfig): string {
  return join(config.runDir, 'names');
}
