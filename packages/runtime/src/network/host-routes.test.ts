import { describe, expect, test } from 'vitest';
import { parseRouteTable, subnetsOverlap } from './host-routes.js';
import { formatSubnet, parseSubnet } from './ipv4.js';

// /proc/net/route as a little-endian host writes it (fields in host byte order).
const table = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
cs0123\t0400580A\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
`;

describe('host routes', () => {
  test('parses the route table, leaving out the default route', () => {
    expect(parseRouteTable(table, true).map(formatSubnet)).toEqual([
      '192.0.2.0/24',
      '10.88.0.4/30',
      '172.17.0.0/16',
    ]);
  });

  test('big-endian hosts write the fields the other way round', () => {
    const be =
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nx\t0A580004\t0\t1\t0\t0\t0\tFFFFFFFC\n';
    expect(parseRouteTable(be, false).map(formatSubnet)).toEqual(['10.88.0.4/30']);
  });

  test.each([
    ['10.88.0.0/30', '10.88.0.4/30', false],
    ['10.88.0.4/30', '10.88.0.4/30', true],
    ['10.88.0.0/16', '10.88.3.4/30', true],
    ['10.88.3.4/30', '10.88.0.0/16', true],
    ['10.89.0.0/24', '10.88.0.0/16', false],
  ])('%s and %s overlap: %s', (a, b, overlap) => {
    expect(subnetsOverlap(parseSubnet(a), parseSubnet(b))).toBe(overlap);
  });
});
