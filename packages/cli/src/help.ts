/** Help text, built from the command definitions. */
import type { FlagDefinition } from './args.js';
import type { CommandDefinition } from './command.js';

export const GLOBAL_FLAGS: readonly FlagDefinition[] = [
  { name: 'help', short: 'h', type: 'boolean', description: 'Show help' },
  { name: 'debug', type: 'boolean', description: 'Print stack traces of unexpected errors' },
];

function flagLines(flags: readonly FlagDefinition[]): string[] {
  const left = flags.map((f) => {
    const names = f.short ? `-${f.short}, --${f.name}` : `    --${f.name}`;
    const value = f.type === 'boolean' ? '' : ` ${f.placeholder ?? 'VALUE'}`;
    return `  ${names}${value}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return flags.map((f, i) => {
    const repeat = f.type === 'strings' ? ' (repeatable)' : '';
    return `${(left[i] ?? '').padEnd(width)}   ${f.description}${repeat}`;
  });
}

export function formatCommandHelp(def: CommandDefinition): string {
  const lines = [
    `Usage: cspec ${def.usage}`,
    '',
    def.summary,
    '',
    'Options:',
    ...flagLines([...def.flags, ...GLOBAL_FLAGS]),
  ];
  if (def.examples.length) lines.push('', 'Examples:', ...def.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

export function formatCommandList(title: string, defs: readonly CommandDefinition[]): string[] {
  const width = Math.max(...defs.map((d) => d.name.length));
  return [title, ...defs.map((d) => `  ${d.name.padEnd(width)}   ${d.summary}`)];
}

export function formatMainHelp(version: string, defs: readonly CommandDefinition[]): string {
  return `${[
    `cspec ${version} — containers for integration tests, without a daemon`,
    '',
    'Usage: cspec [--debug] [COMMAND] [OPTIONS]',
    '',
    "Without a COMMAND, cspec runs 'cspec test' (e.g. npx cspec --distro debian:bookworm).",
    '',
    ...formatCommandList('Commands:', defs),
    '',
    'Global options:',
    '  -h, --help      Show help (also: cspec COMMAND --help)',
    '      --version   Print the version',
    '      --debug     Print stack traces of unexpected errors (diagnostics: DEBUG=cspec:*)',
  ].join('\n')}\n`;
}
