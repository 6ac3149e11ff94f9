/**
 * A process that holds a testcontainers-style network (optionally with a
 * container on it), prints `ready NAME`, then waits to be killed.
 * Usage: node --import tsx --conditions cspec-source network-owner.ts NAME [with-container]
 */
import { GenericContainer, Network } from '@cspec/runtime';

const [name, withContainer] = process.argv.slice(2);
const network = await new Network(name ? { name } : {}).start();
if (withContainer === 'with-container') {
  await new GenericContainer('cspec/debian:bookworm')
    .withCommand(['sleep', '600'])
    .withNetwork(network)
    .start();
}
process.stdout.write(`ready ${network.getName()}\n`);
setInterval(() => {}, 1 << 30);
