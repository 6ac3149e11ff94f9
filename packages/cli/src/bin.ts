#!/usr/bin/env node
/**
 * `npx cspec`: parses argv, loads only the command it names, and maps what
 * went wrong to an exit code (see docs/cli.md). Kept small for a fast start.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from './args.js';
import type { CommandContext } from './command.js';
import { COMMANDS, commandsOfGroup, DEFAULT_COMMAND, GROUPS, matchCommand } from './commands.js';
import { asEngineError, EXIT, exitCodeFor } from './exit-codes.js';
import { formatCommandHelp, formatCommandList, formatMainHelp, GLOBAL_FLAGS } from './help.js';
import { createOutput } from './output.js';
import { isUsageError, UsageError } from './usage-error.js';

// `cspec ps | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

const out = createOutput({
  stdout: process.stdout,
  stderr: process.stderr,
  noColor: 'NO_COLOR' in process.env,
});

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: readonly string[], state: { debug: boolean }): Promise<number> {
  let i = 0;
  let help = false;
  for (; i < argv.length && argv[i]?.startsWith('-'); i++) {
    const flag = argv[i];
    if (flag === '--version') {
      out.line(`cspec ${version()}`);
      return EXIT.ok;
    }
    if (flag === '--help' || flag === '-h') help = true;
    else if (flag === '--debug') state.debug = true;
    // `cspec --distro ...`: flags of the default command.
    else break;
  }
  const words = argv.slice(i);
  if (words.length === 0 && help) {
    const defs = await Promise.all(COMMANDS.map((c) => c.load()));
    out.raw(formatMainHelp(version(), defs));
    return EXIT.ok;
  }
  const defaultEntry = COMMANDS.find((c) => c.name === DEFAULT_COMMAND);
  const match =
    (words.length === 0 || words[0]?.startsWith('-')) && defaultEntry
      ? { entry: defaultEntry, rest: words }
      : matchCommand(words);
  if (!match) {
    const group = words[0] as string;
    if (GROUPS.includes(group)) {
      const defs = await Promise.all(commandsOfGroup(group).map((c) => c.load()));
      const text = `Usage: cspec ${group} COMMAND\n\n${formatCommandList('Commands:', defs).join('\n')}\n`;
      const sub = words[1];
      if (sub === undefined || sub === '--help' || sub === '-h') {
        if (sub === undefined) {
          out.rawError(text);
          return EXIT.usage;
        }
        out.raw(text);
        return EXIT.ok;
      }
      throw new UsageError(`unknown command: cspec ${group} ${sub} — see 'cspec ${group} --help'`);
    }
    throw new UsageError(`unknown command: ${group}`);
  }

  const def = await match.entry.load();
  const args = parseArgs(match.rest, [...def.flags, ...GLOBAL_FLAGS], {
    command: def.name,
    ...(def.stopAtFirstPositional ? { stopAtFirstPositional: true } : {}),
  });
  if (args.boolean('debug')) state.debug = true;
  if (help || args.boolean('help')) {
    out.raw(formatCommandHelp(def));
    return EXIT.ok;
  }

  const controller = new AbortController();
  const force = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 2) process.exit(signal === 'SIGINT' ? EXIT.interrupted : 128 + 15);
    (interrupts === 1 ? controller : force).abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  type Engine = Awaited<ReturnType<CommandContext['engine']>>;
  let engine: Promise<Engine> | undefined;
  const ctx: CommandContext = {
    args,
    out,
    env: process.env,
    signal: controller.signal,
    forceSignal: force.signal,
    engine() {
      engine ??= import('@cspec/runtime').then(({ createEngine }) => createEngine());
      return engine;
    },
  };
  try {
    return await def.run(ctx);
  } catch (error) {
    // Ctrl-C during a long step (an image build): the engine aborted and cleaned up.
    if (controller.signal.aborted) {
      out.error('interrupted');
      return EXIT.interrupted;
    }
    throw error;
  } finally {
    if (engine) await (await engine.catch(() => undefined))?.close();
  }
}

function report(error: unknown, debug: boolean): number {
  const code = exitCodeFor(error);
  if (isUsageError(error)) {
    out.error(error.message);
    out.info(
      error.command ? `Run 'cspec ${error.command} --help' for usage.` : "Run 'cspec --help' for usage.",
    );
    return code;
  }
  const engineError = asEngineError(error);
  if (engineError) {
    out.error(engineError.message, engineError.hint);
    if (debug && error instanceof Error && error.stack) out.rawError(`${error.stack}\n`);
    return code;
  }
  if (debug && error instanceof Error && error.stack) {
    out.error(`unexpected failure (a bug in cspec)\n${error.stack}`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    out.error(`unexpected failure (a bug in cspec): ${message} — rerun with --debug for details`);
  }
  return code;
}

const state = { debug: false };
let code: number;
try {
  code = await main(process.argv.slice(2), state);
} catch (error) {
  code = report(error, state.debug);
}
process.exit(code);
