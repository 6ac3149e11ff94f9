/**
 * An OCI bundle for bare `runc run` of `true` over an image's layers: the
 * floor the library's start is compared with. Written outside the timed
 * section; `seccomp` adds a filter to the config.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOciConfig } from '../../packages/runtime/dist/sandbox/oci-config.js';

type SeccompInput = Parameters<typeof buildOciConfig>[0]['seccomp'];

export async function writeRuncBundle(
  dir: string,
  layerDirs: readonly string[],
  cgroupsPath: string,
  seccomp?: SeccompInput,
): Promise<string> {
  await Promise.all(['rootfs', 'upper', 'work'].map((d) => mkdir(join(dir, d), { recursive: true })));
  await Promise.all(['hosts', 'hostname', 'resolv.conf'].map((f) => writeFile(join(dir, f), '')));
  const config = buildOciConfig({
    process: { args: ['true'], env: ['PATH=/usr/bin:/bin'], cwd: '/', uid: 0, gid: 0, additionalGids: [] },
    hostname: 'bench',
    rootPath: join(dir, 'rootfs'),
    lowerDirs: layerDirs,
    upperDir: join(dir, 'upper'),
    workDir: join(dir, 'work'),
    mounts: [],
    etcFiles: {
      hosts: join(dir, 'hosts'),
      hostname: join(dir, 'hostname'),
      resolvConf: join(dir, 'resolv.conf'),
    },
    netnsPath: undefined,
    cgroupsPath,
    resources: undefined,
    swapLimitSupported: false,
    labels: {},
    openFilesLimit: 1024,
    ...(seccomp ? { seccomp } : {}),
  });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}
