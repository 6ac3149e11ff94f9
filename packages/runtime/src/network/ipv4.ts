/**
 * IPv4 arithmetic on plain numbers: parsing, formatting, subnets and the
 * candidate addresses an address pool hands out.
 */
import { CspecError } from '../errors.js';

export interface Subnet {
  /** Network address as an unsigned 32-bit number. */
  readonly network: number;
  readonly prefixLength: number;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new CspecError('CSPEC_INTERNAL', `"${text}" is not an IPv4 address`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function parseSubnet(cidr: string): Subnet {
  const [address, length] = cidr.split('/');
  const prefixLength = Number(length);
  if (address === undefined || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new CspecError('CSPEC_INTERNAL', `"${cidr}" is not an IPv4 subnet in CIDR notation`);
  }
  const network = parseIpv4(address);
  if (network % subnetSize(prefixLength) !== 0) {
    throw new CspecError('CSPEC_INTERNAL', `"${cidr}" has host bits set`);
  }
  return { network, prefixLength };
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatIpv4(subnet.network)}/${subnet.prefixLength}`;
}

/** Number of addresses in a subnet with this prefix length. */
export function subnetSize(prefixLength: number): number {
  return 2 ** (32 - prefixLength);
}

export function subnetContains(subnet: Subnet, address: number): boolean {
  return address >= subnet.network && address < subnet.network + subnetSize(subnet.prefixLength);
}

/** The address at `offset` inside the subnet (offset 1 is the usual gateway). */
export function addressAt(subnet: Subnet, offset: number): number {
  if (offset < 0 || offset >= subnetSize(subnet.prefixLength)) {
    throw new CspecError('CSPEC_INTERNAL', `offset ${offset} is outside ${formatSubnet(subnet)}`);
  }
  return subnet.network + offset;
}

/** Every child subnet of `prefixLength` inside `parent`, lowest first. */
export function* childSubnets(parent: Subnet, prefixLength: number): Generator<Subnet> {
  if (prefixLength < parent.prefixLength) {
    throw new CspecError('CSPEC_INTERNAL', `/${prefixLength} is larger than ${formatSubnet(parent)}`);
  }
  const step = subnetSize(prefixLength);
  const end = parent.network + subnetSize(parent.prefixLength);
  for (let network = parent.network; network < end; network += step) yield { network, prefixLength };
}

/** Addresses a subnet can give to hosts: without the network and broadcast addresses and the first `reserved`. */
export function* hostAddresses(subnet: Subnet, reserved = 0): Generator<number> {
  const size = subnetSize(subnet.prefixLength);
  for (let offset = 1 + reserved; offset < size - 1; offset++) yield subnet.network + offset;
}
