import { describe, expect, it } from 'vitest';
import { GenericContainer } from '../../packages/runtime/src/compat/generic-container.js';
import { Network } from '../../packages/runtime/src/compat/network.js';
import { Wait } from '../../packages/runtime/src/compat/wait.js';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();

const sleeper = () =>
  new GenericContainer(IMAGE, { engine: engine() })
    .withCommand(['sh', '-c', 'echo up; exec sleep 300'])
    .withWaitStrategy(Wait.forLogMessage('up'));

describe('Network (testcontainers-style)', () => {
  it('lets container A reach container B by alias', async () => {
    const ids: string[] = [];
    let networkName = '';
    {
      await using network = await new Network({ engine: engine() }).start();
      networkName = network.getName();
      await using b = await sleeper().withNetwork(network).withNetworkAliases('b-alias').start();
      await using a = await sleeper().withNetwork(network).start();
      ids.push(a.getId(), b.getId());

      const bIp = b.getIpAddress(networkName);
      expect(bIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(a.getIpAddress(networkName)).not.toBe(bIp);
      // ahostsv4: `hosts` asks for IPv6 first and then waits on DNS for a name /etc/hosts has only for IPv4.
      const lookup = await a.exec(['getent', 'ahostsv4', 'b-alias']);
      expect(lookup.exitCode).toBe(0);
      expect(lookup.stdout.split(/\s+/)[0]).toBe(bIp);
      // B started first; it still learns A's name once A joins.
      const back = await b.exec(['getent', 'ahostsv4', a.getName()]);
      expect(back.stdout.split(/\s+/)[0]).toBe(a.getIpAddress(networkName));
    }
    // Disposal runs in reverse: a, b, then the network.
    const left = (await engine().list({ all: true })).map((c) => c.id).filter((id) => ids.includes(id));
    expect(left).toEqual([]);
    expect((await engine().listNetworks()).map((n) => n.name)).not.toContain(networkName);
  });
});
