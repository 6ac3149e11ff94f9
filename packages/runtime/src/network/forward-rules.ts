/**
 * Lets traffic between the members of a bridge network through the host's
 * packet filter.
 *
 * When the `br_netfilter` module is loaded (Docker loads it), frames bridged
 * between two ports of one bridge also traverse iptables' FORWARD chain, and
 * Docker sets that chain's policy to DROP. Without an exception, containers on
 * a cspec network then cannot reach each other at all. cspec inserts one rule
 * per bridge — `-i BRIDGE -o BRIDGE -j ACCEPT`, tagged with the comment
 * `cspec` — and deletes it with the bridge. Traffic between the host and
 * containers does not cross FORWARD, so nothing else is needed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';
import { captureOutput } from '../util/capture-output.js';

const debug = createDebug('cspec:network');

export const RULE_COMMENT = 'cspec';
const BRIDGE_NF_CALL_IPTABLES = '/proc/sys/net/bridge/bridge-nf-call-iptables';

interface Result {
  readonly exitCode: number;
  readonly stderr: string;
  readonly stdout: string;
}

/** True when bridged IPv4 traffic goes through iptables (br_netfilter loaded and enabled). */
export function bridgeTrafficIsFiltered(): boolean {
  try {
    return readFileSync(BRIDGE_NF_CALL_IPTABLES, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

function iptables(args: readonly string[]): Promise<Result | undefined> {
  return new Promise((resolve, reject) => {
    // -w: wait for the xtables lock instead of failing when Docker or another tool holds it.
    const child = spawn('iptables', ['-w', '5', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = captureOutput(child);
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') resolve(undefined);
      else reject(error);
    });
    child.once('close', (code) =>
      resolve({ exitCode: code ?? 1, stdout: output.stdout(), stderr: output.stderr() }),
    );
  });
}

function ruleArgs(bridge: string): string[] {
  return ['FORWARD', '-i', bridge, '-o', bridge, '-m', 'comment', '--comment', RULE_COMMENT, '-j', 'ACCEPT'];
}

/**
 * Inserts the ACCEPT rule for `bridge`. Without an `iptables` binary, or when
 * it fails, this is an error only if bridged traffic is filtered right now.
 */
export async function allowBridgeForwarding(bridge: string): Promise<void> {
  const filtered = bridgeTrafficIsFiltered();
  const result = await iptables(['-I', ...ruleArgs(bridge)]);
  if (result?.exitCode === 0) {
    debug('iptables: accepting forwarded traffic within %s', bridge);
    return;
  }
  const why = result ? result.stderr.trim() || `exit ${result.exitCode}` : 'iptables is not installed';
  if (!filtered) {
    debug('iptables rule for %s not added (%s); bridged traffic is not filtered', bridge, why);
    return;
  }
  throw new CspecError(
    'CSPEC_NETWORK_FAILED',
    `containers on bridge ${bridge} could not be allowed to reach each other: bridged traffic goes through iptables (br_netfilter is loaded) and adding an ACCEPT rule failed: ${why}`,
    {
      hint: result
        ? 'check `iptables -S FORWARD`; cspec needs root to add the rule'
        : 'install iptables (apt-get install -y iptables), or stop filtering bridged traffic: sysctl -w net.bridge.bridge-nf-call-iptables=0',
    },
  );
}

/** Deletes every cspec ACCEPT rule for `bridge`. Idempotent; never throws. */
export async function removeBridgeForwarding(bridge: string): Promise<void> {
  for (let i = 0; i < 16; i++) {
    const result = await iptables(['-D', ...ruleArgs(bridge)]).catch(() => undefined);
    if (result?.exitCode !== 0) return;
    debug('iptables: rule for %s deleted', bridge);
  }
}

/** Bridges that have a cspec rule in the FORWARD chain (for sweeps and leak checks). */
export async function bridgesWithForwardRules(): Promise<string[]> {
  const result = await iptables(['-S', 'FORWARD']).catch(() => undefined);
  if (result?.exitCode !== 0) return [];
  const bridges = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    if (!line.includes(`--comment ${RULE_COMMENT} `)) continue;
    const match = / -i (\S+) -o (\S+) /.exec(line);
    if (match && match[1] === match[2]) bridges.add(match[1]!);
  }
  return [...bridges];
}
