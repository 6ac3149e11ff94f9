import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { type ContainerNetworkState, ipPlan } from './container-network.js';
import { bridgeCommands, createNetHost, rootNetHost } from './net-host.js';

const p2p: ContainerNetworkState = {
  version: 1,
  containerId: 'ab'.repeat(32),
  hostsFile: '/h',
  netns: 'csabababababab',
  hostLinks: ['csababababab'],
  p2pBlock: '10.88.0.4',
  networks: [],
};

describe('ipPlan', () => {
  it('names the namespace as the host adapter does, and leaves creating it to the adapter', () => {
    const rootless = createNetHost(resolveConfig({ rootless: true, runDir: '/tmp/u/cspec' }, {}));
    const plan = ipPlan(p2p, [], rootless.netnsRef);
    expect(plan.host).toEqual([
      'link add csababababab type veth peer name eth0 netns /tmp/u/cspec/netns/csabababababab',
      'addr add 10.88.0.5/30 dev csababababab',
      'link set csababababab up',
    ]);
    expect(plan.inside).toEqual([
      'link set lo up',
      'addr add 10.88.0.6/30 dev eth0',
      'link set eth0 up',
      'route add default via 10.88.0.5',
    ]);
    expect(ipPlan(p2p, [], rootNetHost.netnsRef).host[0]).toMatch(/ netns csabababababab$/);
  });
});

describe('host adapters', () => {
  it('root keeps namespaces in /run/netns; rootless in the run directory, with no host routes to avoid', async () => {
    expect(rootNetHost.netnsPath('cs1')).toBe('/run/netns/cs1');
    const rootless = createNetHost(resolveConfig({ rootless: true, runDir: '/tmp/u/cspec' }, {}));
    expect(rootless.mode).toBe('rootless');
    expect(rootless.netnsPath('cs1')).toBe('/tmp/u/cspec/netns/cs1');
    // Nothing made in this process: no link of its rootless namespace exists.
    expect(rootless.linkExists('lo')).toBe(false);
    expect(await rootless.routedSubnets()).toEqual([]);
    expect(await rootless.bridgesWithForwardRules()).toEqual([]);
  });

  it('a bridge gets its gateway with the subnet prefix', () => {
    const record = {
      name: 'n',
      bridge: 'csbr01020304',
      subnet: '10.89.7.0/24',
      gateway: '10.89.7.1',
      labels: {},
      createdAt: '',
    };
    expect(bridgeCommands(record, '02:00:00:00:00:01')).toEqual([
      'link add csbr01020304 address 02:00:00:00:00:01 type bridge',
      'addr add 10.89.7.1/24 dev csbr01020304',
      'link set csbr01020304 up',
    ]);
  });
});
