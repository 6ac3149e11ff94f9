import { describe, expect, test } from 'vitest';
import {
  addressAt,
  childSubnets,
  formatIpv4,
  formatSubnet,
  hostAddresses,
  parseIpv4,
  parseSubnet,
  subnetContains,
} from './ipv4.js';

describe('ipv4', () => {
  test('parses and formats addresses, including the high bit', () => {
    expect(parseIpv4('10.88.1.2')).toBe(0x0a580102);
    expect(formatIpv4(parseIpv4('255.255.255.254'))).toBe('255.255.255.254');
    expect(formatIpv4(0)).toBe('0.0.0.0');
  });

  test('rejects malformed addresses and subnets', () => {
    for (const bad of ['10.88.1', '10.88.1.256', '10.88.1.x', '1.2.3.4.5', '']) {
      expect(() => parseIpv4(bad)).toThrow(/not an IPv4 address/);
    }
    expect(() => parseSubnet('10.88.0.1/30')).toThrow(/host bits/);
    expect(() => parseSubnet('10.88.0.0/33')).toThrow(/CIDR/);
    expect(() => parseSubnet('10.88.0.0')).toThrow(/CIDR/);
  });

  test('splits 10.88.0.0/16 into 16384 /30 blocks, host .1 and container .2 in each', () => {
    const blocks = [...childSubnets(parseSubnet('10.88.0.0/16'), 30)];
    expect(blocks).toHaveLength(16384);
    expect(formatSubnet(blocks[1]!)).toBe('10.88.0.4/30');
    const last = blocks.at(-1)!;
    expect(formatSubnet(last)).toBe('10.88.255.252/30');
    expect(formatIpv4(addressAt(last, 1))).toBe('10.88.255.253');
    expect(formatIpv4(addressAt(last, 2))).toBe('10.88.255.254');
    expect(() => addressAt(last, 4)).toThrow(/outside/);
  });

  test('host addresses skip network, broadcast and reserved addresses', () => {
    const subnet = parseSubnet('10.89.3.0/24');
    const hosts = [...hostAddresses(subnet, 1)].map(formatIpv4);
    expect(hosts[0]).toBe('10.89.3.2');
    expect(hosts.at(-1)).toBe('10.89.3.254');
    expect(hosts).toHaveLength(253);
    expect(subnetContains(subnet, parseIpv4('10.89.3.255'))).toBe(true);
    expect(subnetContains(subnet, parseIpv4('10.89.4.0'))).toBe(false);
  });
});
