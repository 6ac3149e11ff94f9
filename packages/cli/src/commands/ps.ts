import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { PS_HEADERS, psRow } from '../format.js';
import { UsageError } from '../usage-error.js';

export const psCommand = defineCommand({
  name: 'ps',
  summary: 'List containers',
  usage: 'ps [-a] [--json]',
  examples: ['cspec ps', 'cspec ps -a --json'],
  flags: [
    { name: 'all', short: 'a', type: 'boolean', description: 'Show all containers (default: running only)' },
    { name: 'json', type: 'boolean', description: 'Print the containers as JSON' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'Print only the ids' },
  ],
  async run({ args, out, engine }) {
    if (args.positionals.length) throw new UsageError(`unexpected argument: ${args.positionals[0]}`, 'ps');
    const containers = await (await engine()).list({ all: args.boolean('all') });
    if (args.boolean('json')) out.json(containers);
    else if (args.boolean('quiet')) for (const c of containers) out.line(c.id);
    else {
      const now = Date.now();
      out.table(
        PS_HEADERS,
        containers.map((c) => psRow(c, now)),
      );
    }
    return EXIT.ok;
  },
});
