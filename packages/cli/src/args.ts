/**
 * A small command-line parser: declared flags only, no dependency.
 * Supports `--flag value`, `--flag=value`, short aliases (`-p 80`, `-p80`,
 * `-di`), repeatable flags, `--` and, for `run`/`exec`, stopping at the first
 * positional so the container's command keeps its own flags.
 */
import { UsageError } from './usage-error.js';

/** `strings` is a repeatable string flag (`-e A=1 -e B=2`). */
export type FlagType = 'boolean' | 'string' | 'strings';

export interface FlagDefinition {
  /** Long name without dashes, e.g. `memory`. */
  readonly name: string;
  /** One-letter alias without the dash, e.g. `p`. */
  readonly short?: string;
  readonly type: FlagType;
  /** Shown in help after the flag, e.g. `SIZE`. */
  readonly placeholder?: string;
  readonly description: string;
}

export interface ParseOptions {
  /** Everything after the first positional is positional too (`cspec run IMAGE ls -la`). @default false */
  readonly stopAtFirstPositional?: boolean;
  /** Command name, for error messages that point at its help. */
  readonly command?: string;
}

type FlagValue = boolean | string | string[];

export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** True when a boolean flag was given. */
  boolean(name: string): boolean;
  /** The last value of a string flag. */
  string(name: string): string | undefined;
  /** Every value of a repeatable flag, in order. */
  strings(name: string): readonly string[];
}

export function parseArgs(
  argv: readonly string[],
  flags: readonly FlagDefinition[],
  options: ParseOptions = {},
): ParsedArgs {
  const byName = new Map(flags.map((f) => [f.name, f]));
  const byShort = new Map(flags.filter((f) => f.short).map((f) => [f.short as string, f]));
  const values = new Map<string, FlagValue>();
  const positionals: string[] = [];
  const usage = (message: string) => new UsageError(message, options.command);

  const set = (flag: FlagDefinition, value: string | undefined, shown: string): void => {
    if (flag.type === 'boolean') {
      if (value === undefined || value === 'true') values.set(flag.name, true);
      else if (value === 'false') values.delete(flag.name);
      else throw usage(`flag ${shown} takes no value (got "${value}")`);
      return;
    }
    if (value === undefined) throw usage(`flag ${shown} needs a value`);
    if (flag.type === 'string') {
      values.set(flag.name, value);
      return;
    }
    const list = values.get(flag.name);
    if (Array.isArray(list)) list.push(value);
    else values.set(flag.name, [value]);
  };

  let i = 0;
  const next = (): string | undefined => {
    i++;
    return argv[i];
  };

  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const flag = byName.get(name);
      if (!flag) throw usage(`unknown flag: --${name}`);
      if (eq !== -1) set(flag, arg.slice(eq + 1), `--${name}`);
      else set(flag, flag.type === 'boolean' ? undefined : next(), `--${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // `-di` (booleans together), `-p80` / `-p 80` (a value attached or next).
      for (let c = 1; c < arg.length; c++) {
        const letter = arg[c] as string;
        const flag = byShort.get(letter);
        if (!flag) throw usage(`unknown flag: -${letter}`);
        if (flag.type === 'boolean') {
          set(flag, undefined, `-${letter}`);
          continue;
        }
        const rest = arg.slice(c + 1);
        set(flag, rest !== '' ? rest.replace(/^=/, '') : next(), `-${letter}`);
        break;
      }
      continue;
    }
    positionals.push(arg);
    if (options.stopAtFirstPositional) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
  }

  const declared = (name: string, type: FlagType): void => {
    const flag = byName.get(name);
    if (!flag || flag.type !== type) throw new Error(`flag --${name} is not declared as ${type}`);
  };
  return {
    positionals,
    boolean(name) {
      declared(name, 'boolean');
      return values.get(name) === true;
    },
    string(name) {
      declared(name, 'string');
      const value = values.get(name);
      return typeof value === 'string' ? value : undefined;
    },
    strings(name) {
      declared(name, 'strings');
      const value = values.get(name);
      return Array.isArray(value) ? value : [];
    },
  };
}
