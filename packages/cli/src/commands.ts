/**
 * Every command, loaded lazily: `cspec run` only imports what `run` needs.
 * Groups (`network`, `image`) have subcommands named `network create`...
 */
import type { CommandDefinition } from './command.js';

export interface CommandEntry {
  readonly name: string;
  readonly aliases?: readonly string[];
  load(): Promise<CommandDefinition>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'test', load: async () => (await import('./commands/test.js')).testCommand },
  { name: 'run', load: async () => (await import('./commands/run.js')).runCommand },
  { name: 'ps', load: async () => (await import('./commands/ps.js')).psCommand },
  { name: 'logs', load: async () => (await import('./commands/logs.js')).logsCommand },
  { name: 'exec', load: async () => (await import('./commands/exec.js')).execCommand },
  { name: 'diff', load: async () => (await import('./commands/changes.js')).diffCommand },
  { name: 'commit', load: async () => (await import('./commands/changes.js')).commitCommand },
  { name: 'export', load: async () => (await import('./commands/export.js')).exportCommand },
  { name: 'stop', load: async () => (await import('./commands/stop.js')).stopCommand },
  { name: 'rm', load: async () => (await import('./commands/rm.js')).rmCommand },
  { name: 'prune', load: async () => (await import('./commands/prune.js')).pruneCommand },
  {
    name: 'network create',
    load: async () => (await import('./commands/network.js')).networkCreateCommand,
  },
  {
    name: 'network ls',
    aliases: ['network list'],
    load: async () => (await import('./commands/network.js')).networkLsCommand,
  },
  {
    name: 'network rm',
    aliases: ['network remove'],
    load: async () => (await import('./commands/network.js')).networkRmCommand,
  },
  {
    name: 'image ls',
    aliases: ['image list', 'images'],
    load: async () => (await import('./commands/image.js')).imageLsCommand,
  },
  {
    name: 'image rm',
    aliases: ['image remove', 'rmi'],
    load: async () => (await import('./commands/image.js')).imageRmCommand,
  },
  {
    name: 'image load',
    aliases: ['load'],
    load: async () => (await import('./commands/image.js')).imageLoadCommand,
  },
  {
    name: 'image prune',
    load: async () => (await import('./commands/image.js')).imagePruneCommand,
  },
  {
    name: 'image check',
    load: async () => (await import('./commands/image-check.js')).imageCheckCommand,
  },
  {
    name: 'system df',
    load: async () => (await import('./commands/image.js')).systemDfCommand,
  },
  {
    name: 'image save',
    aliases: ['save'],
    load: async () => (await import('./commands/image.js')).imageSaveCommand,
  },
  {
    name: 'image import',
    aliases: ['import'],
    load: async () => (await import('./commands/image.js')).imageImportCommand,
  },
  {
    name: 'image pull',
    aliases: ['pull'],
    load: async () => (await import('./commands/image-registry.js')).imagePullCommand,
  },
  {
    name: 'image push',
    aliases: ['push'],
    load: async () => (await import('./commands/image-registry.js')).imagePushCommand,
  },
  {
    name: 'image build',
    aliases: ['build'],
    load: async () => (await import('./commands/image-build.js')).imageBuildCommand,
  },
  {
    name: 'image history',
    load: async () => (await import('./commands/image-inspect.js')).imageHistoryCommand,
  },
  {
    name: 'image tree',
    load: async () => (await import('./commands/image-inspect.js')).imageTreeCommand,
  },
  { name: 'doctor', load: async () => (await import('./commands/doctor.js')).doctorCommand },
];

export const GROUPS: readonly string[] = ['network', 'image', 'system'];

/** What bare `cspec` (or `cspec --distro ...`, flags without a command) runs. */
export const DEFAULT_COMMAND = 'test';

export interface CommandMatch {
  readonly entry: CommandEntry;
  /** Arguments after the command name. */
  readonly rest: readonly string[];
}

/** Finds the command named by the first one or two words of argv. */
export function matchCommand(argv: readonly string[]): CommandMatch | undefined {
  const names = (e: CommandEntry) => [e.name, ...(e.aliases ?? [])];
  const two = argv.slice(0, 2).join(' ');
  const byTwo = COMMANDS.find((e) => names(e).includes(two));
  if (byTwo && argv.length >= 2) return { entry: byTwo, rest: argv.slice(2) };
  const one = argv[0] ?? '';
  const byOne = COMMANDS.find((e) => names(e).includes(one));
  return byOne ? { entry: byOne, rest: argv.slice(1) } : undefined;
}

export function commandsOfGroup(group: string): CommandEntry[] {
  return COMMANDS.filter((e) => e.name.startsWith(`${group} `));
}
