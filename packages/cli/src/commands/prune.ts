import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const pruneCommand = defineCommand({
  name: 'prune',
  summary: 'Remove what dead test runs left behind (with --all: every container and network)',
  usage: 'prune [--all]',
  examples: ['cspec prune', 'cspec prune --all'],
  flags: [
    {
      name: 'all',
      type: 'boolean',
      description: 'Also remove running and detached containers, and networks',
    },
  ],
  async run({ args, out, engine }) {
    if (args.positionals.length) throw new UsageError(`unexpected argument: ${args.positionals[0]}`, 'prune');
    const report = await (await engine()).prune({ all: args.boolean('all') });
    out.line(`containers removed: ${report.containersRemoved}`);
    out.line(`networks removed:   ${report.networksRemoved}`);
    out.line(`sessions removed:   ${report.sessionsRemoved}`);
    return EXIT.ok;
  },
});
