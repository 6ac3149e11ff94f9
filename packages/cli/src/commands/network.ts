import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const networkCreateCommand = defineCommand({
  name: 'network create',
  summary: 'Create a network containers can join with --network',
  usage: 'network create [--label K=V]... NAME',
  examples: ['cspec network create backend', 'cspec run -d --network backend --network-alias db IMAGE'],
  flags: [{ name: 'label', short: 'l', type: 'strings', placeholder: 'K=V', description: 'Set a label' }],
  async run({ args, out, engine }) {
    const [name, ...extra] = args.positionals;
    if (!name || extra.length)
      throw new UsageError('"cspec network create" needs exactly one NAME', 'network create');
    const labels: Record<string, string> = {};
    for (const item of args.strings('label')) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid --label "${item}" — use KEY=VALUE`, 'network create');
      labels[item.slice(0, eq)] = item.slice(eq + 1);
    }
    // Like `docker network create`: the network outlives this command.
    const info = await (await engine()).createNetwork(name, { labels, detached: true });
    out.line(info.name);
    return EXIT.ok;
  },
});

export const networkRmCommand = defineCommand({
  name: 'network rm',
  summary: 'Remove networks',
  usage: 'network rm NAME...',
  examples: ['cspec network rm backend'],
  flags: [],
  async run({ args, out, engine }) {
    if (args.positionals.length === 0) throw new UsageError('"cspec network rm" needs a NAME', 'network rm');
    const e = await engine();
    for (const name of args.positionals) {
      await e.removeNetwork(name);
      out.line(name);
    }
    return EXIT.ok;
  },
});

export const networkLsCommand = defineCommand({
  name: 'network ls',
  summary: 'List networks',
  usage: 'network ls [--json]',
  examples: ['cspec network ls'],
  flags: [{ name: 'json', type: 'boolean', description: 'Print the networks as JSON' }],
  async run({ args, out, engine }) {
    const networks = await (await engine()).listNetworks();
    if (args.boolean('json')) out.json(networks);
    else
      out.table(
        ['NAME', 'SUBNET', 'GATEWAY'],
        networks.map((n) => [n.name, n.subnet, n.gateway]),
      );
    return EXIT.ok;
  },
});
