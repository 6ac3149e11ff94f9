/**
 * `cspec run` flags -> a ContainerSpec. Pure: the environment for `-e NAME`
 * (take the value from the host) is passed in.
 */
import { isAbsolute } from 'node:path';
import type { ContainerSpec, MountSpec, NetworkAttachment, ResourceSpec } from '@cspec/runtime';
import type { FlagDefinition, ParsedArgs } from './args.js';
import { parsePortMapping } from './parse-port.js';
import { parseSize } from './parse-size.js';
import { UsageError } from './usage-error.js';

export const RUN_FLAGS: readonly FlagDefinition[] = [
  { name: 'rm', type: 'boolean', description: 'Remove the container when it exits' },
  { name: 'detach', short: 'd', type: 'boolean', description: 'Run in the background and print the id' },
  {
    name: 'interactive',
    short: 'i',
    type: 'boolean',
    description: 'Keep stdin attached (the default when attached)',
  },
  {
    name: 'publish',
    short: 'p',
    type: 'strings',
    placeholder: '[HOST:]CONTAINER',
    description: 'Publish a container port on 127.0.0.1 (host port chosen by the kernel if omitted)',
  },
  {
    name: 'env',
    short: 'e',
    type: 'strings',
    placeholder: 'K=V',
    description: 'Set an environment variable',
  },
  { name: 'memory', short: 'm', type: 'string', placeholder: 'SIZE', description: 'Memory limit: 64m, 1g' },
  { name: 'cpus', type: 'string', placeholder: 'N', description: 'CPU quota in cores, e.g. 0.5' },
  { name: 'pids', type: 'string', placeholder: 'N', description: 'Maximum number of processes' },
  {
    name: 'network',
    type: 'string',
    placeholder: 'NAME',
    description: 'Attach to a network (cspec network create)',
  },
  {
    name: 'network-alias',
    type: 'strings',
    placeholder: 'ALIAS',
    description: 'Extra host name on the network (needs --network)',
  },
  { name: 'name', type: 'string', placeholder: 'NAME', description: 'Container name' },
  { name: 'workdir', short: 'w', type: 'string', placeholder: 'DIR', description: 'Working directory' },
  {
    name: 'user',
    short: 'u',
    type: 'string',
    placeholder: 'USER',
    description: 'name, uid, name:group or uid:gid',
  },
  { name: 'hostname', type: 'string', placeholder: 'NAME', description: 'Host name inside the container' },
  {
    name: 'volume',
    short: 'v',
    type: 'strings',
    placeholder: 'HOST:CONTAINER[:ro]',
    description: 'Bind-mount an absolute host path',
  },
  {
    name: 'tmpfs',
    type: 'strings',
    placeholder: 'PATH[:size=64m]',
    description: 'Mount a tmpfs at PATH',
  },
  { name: 'entrypoint', type: 'string', placeholder: 'CMD', description: "Replace the image's entrypoint" },
  { name: 'label', short: 'l', type: 'strings', placeholder: 'K=V', description: 'Set a label' },
  {
    name: 'security-opt',
    type: 'strings',
    placeholder: 'OPT',
    description: 'seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges (as docker run)',
  },
];

const COMMAND = 'run';

function usage(message: string): UsageError {
  return new UsageError(message, COMMAND);
}

function keyValues(
  values: readonly string[],
  flag: string,
  fromHost?: Readonly<Record<string, string | undefined>>,
): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of values) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (key === '') throw usage(`invalid ${flag} "${item}" — use KEY=VALUE`);
    if (eq !== -1) out[key] = item.slice(eq + 1);
    else if (fromHost) {
      // docker semantics: `-e NAME` copies NAME from the host, and is skipped if unset.
      const value = fromHost[key];
      if (value !== undefined) out[key] = value;
    } else throw usage(`invalid ${flag} "${item}" — use KEY=VALUE`);
  }
  return out;
}

function positiveNumber(text: string, flag: string, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw usage(
      `invalid ${flag} "${text}" — use a ${integer ? 'whole number >= 1' : 'positive number, e.g. 0.5'}`,
    );
  }
  return n;
}

function absolute(path: string, what: string, whole: string): string {
  if (!isAbsolute(path)) throw usage(`${what} "${path}" in ${whole} must be an absolute path`);
  return path;
}

function parseVolume(text: string): MountSpec {
  const parts = text.split(':');
  const [source, target, mode] = parts;
  if (parts.length < 2 || parts.length > 3 || !source || !target) {
    throw usage(`invalid -v ${text} — use HOST:CONTAINER or HOST:CONTAINER:ro`);
  }
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') {
    throw usage(`invalid -v ${text} — the mode must be ro or rw, got "${mode}"`);
  }
  return {
    type: 'bind',
    source: absolute(source, 'host path', `-v ${text}`),
    target: absolute(target, 'container path', `-v ${text}`),
    readonly: mode === 'ro',
  };
}

function parseTmpfs(text: string): MountSpec {
  const colon = text.indexOf(':');
  const target = absolute(colon === -1 ? text : text.slice(0, colon), 'path', `--tmpfs ${text}`);
  let sizeBytes: number | undefined;
  let mode: number | undefined;
  if (colon !== -1) {
    for (const option of text.slice(colon + 1).split(',')) {
      const [key, value = ''] = option.split('=');
      if (key === 'size') sizeBytes = parseSize(value, '--tmpfs size', COMMAND);
      else if (key === 'mode' && /^[0-7]{3,4}$/.test(value)) mode = Number.parseInt(value, 8);
      else if (key !== 'rw' && key !== '') {
        throw usage(`invalid --tmpfs option "${option}" — supported: size=64m, mode=1777`);
      }
    }
  }
  return {
    type: 'tmpfs',
    target,
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    ...(mode !== undefined ? { mode } : {}),
  };
}

/** Builds the spec; throws UsageError for anything malformed on the command line. */
export function buildRunSpec(
  args: ParsedArgs,
  hostEnv: Readonly<Record<string, string | undefined>> = {},
): ContainerSpec {
  const [image, ...command] = args.positionals;
  if (!image) throw usage('"cspec run" needs an IMAGE');

  const resources: { -readonly [K in keyof ResourceSpec]: ResourceSpec[K] } = {};
  const memory = args.string('memory');
  if (memory !== undefined) resources.memoryBytes = parseSize(memory, '--memory', COMMAND);
  const cpus = args.string('cpus');
  if (cpus !== undefined) resources.cpus = positiveNumber(cpus, '--cpus', false);
  const pids = args.string('pids');
  if (pids !== undefined) resources.pids = positiveNumber(pids, '--pids', true);

  const network = args.string('network');
  const aliases = args.strings('network-alias');
  if (aliases.length > 0 && network === undefined) throw usage('--network-alias needs --network NAME');
  const networks: NetworkAttachment[] | undefined = network
    ? [{ network, ...(aliases.length ? { aliases } : {}) }]
    : undefined;

  const ports = args.strings('publish').map((p) => parsePortMapping(p, COMMAND));
  const mounts = [...args.strings('volume').map(parseVolume), ...args.strings('tmpfs').map(parseTmpfs)];
  const env = keyValues(args.strings('env'), '-e', hostEnv);
  const labels = keyValues(args.strings('label'), '--label');
  const entrypoint = args.string('entrypoint');
  const securityOpt = args.strings('security-opt');
  const workingDir = args.string('workdir');
  if (workingDir !== undefined) absolute(workingDir, 'working dir', `-w ${workingDir}`);

  const spec: ContainerSpec = {
    image,
    ...(command.length ? { command } : {}),
    ...(entrypoint !== undefined ? { entrypoint: entrypoint === '' ? [] : [entrypoint] } : {}),
    ...(args.string('name') !== undefined ? { name: args.string('name') } : {}),
    ...(env ? { env } : {}),
    ...(labels ? { labels } : {}),
    ...(args.string('user') !== undefined ? { user: args.string('user') } : {}),
    ...(workingDir !== undefined ? { workingDir } : {}),
    ...(args.string('hostname') !== undefined ? { hostname: args.string('hostname') } : {}),
    ...(ports.length ? { ports: ports.map((p) => (p.host ? p : p.container)) } : {}),
    ...(mounts.length ? { mounts } : {}),
    ...(Object.keys(resources).length ? { resources } : {}),
    ...(networks ? { networks } : {}),
    ...(securityOpt.length ? { securityOpt } : {}),
  };
  return spec;
}
