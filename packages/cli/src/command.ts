/** What every `cspec` command module exports, and what it receives. */
import type { Engine } from '@cspec/runtime';
import type { FlagDefinition, ParsedArgs } from './args.js';
import type { Output } from './output.js';

export interface CommandContext {
  readonly args: ParsedArgs;
  readonly out: Output;
  /** The host environment, for `-e NAME` (copy from the host). Read once in bin.ts. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on the first Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
  /** Aborted on the second Ctrl-C: stop waiting politely (a third one exits at once). */
  readonly forceSignal: AbortSignal;
  /** The engine, created on first call and closed after the command returns. */
  engine(): Promise<Engine>;
}

export interface CommandDefinition {
  /** `run`, or `network create` for a subcommand. */
  readonly name: string;
  readonly summary: string;
  /** Synopsis after `cspec`, e.g. `run [OPTIONS] IMAGE [COMMAND...]`. */
  readonly usage: string;
  readonly examples: readonly string[];
  readonly flags: readonly FlagDefinition[];
  /** Everything after the first positional belongs to it (`run`, `exec`). @default false */
  readonly stopAtFirstPositional?: boolean;
  /** Resolves with the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}

export function defineCommand(definition: CommandDefinition): CommandDefinition {
  return definition;
}
