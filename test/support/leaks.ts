import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolveConfig } from '@cspec/runtime';

/**
 * Everything cspec could leave on the host. Integration tests take a
 * snapshot before and assert the same (or nothing of cspec's) after.
 */
export interface HostResources {
  readonly overlayMounts: number;
  readonly netns: string[];
  readonly links: string[];
  readonly cgroups: string[];
  readonly runtimeContainers: string[];
  readonly containerDirs: string[];
  readonly writableLayers: string[];
  /** `pid ppid pgid state args` of every runc or crun process. */
  readonly runcProcesses: string[];
  /** iptables FORWARD rules cspec adds for its bridges. */
  readonly forwardRules: string[];
}

function lines(cmd: string, args: string[]): string[] {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function dirNames(path: string): string[] {
  return existsSync(path) ? readdirSync(path) : [];
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote a session's owner.json still runs (same pid and start time). */
function processAlive(pid: number, startTime: string): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Field 22, counted after the parenthesised command name.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === startTime;
}

/**
 * Network namespaces and host links an engine made ahead for containers
 * (netns-pool.ts), while its session lives: accounted for by an owner record,
 * not left behind. Once the engine is closed (or its process died) they count.
 */
export function pooledByLiveSessions(runDir = resolveConfig().runDir): {
  netns: Set<string>;
  links: Set<string>;
} {
  const netns = new Set<string>();
  const links = new Set<string>();
  const dir = `${runDir}/container-networks`;
  for (const file of dirNames(dir).filter((f) => /^[0-9a-f]+\.json$/.test(f))) {
    const record = readJson<{ pooledBy?: string; netns?: string; hostLinks?: string[] }>(`${dir}/${file}`);
    if (!record?.pooledBy) continue;
    const owner = readJson<{ pid: number; startTime: string }>(
      `${runDir}/sessions/${record.pooledBy}/owner.json`,
    );
    if (!owner || !processAlive(owner.pid, owner.startTime)) continue;
    if (record.netns) netns.add(record.netns);
    for (const l of record.hostLinks ?? []) links.add(l);
  }
  return { netns, links };
}

export function hostResources(): HostResources {
  const config = resolveConfig();
  const cgroups: string[] = [];
  for (const hierarchy of dirNames('/sys/fs/cgroup')) {
    for (const name of dirNames(`/sys/fs/cgroup/${hierarchy}`)) {
      if (name.includes('cspec')) cgroups.push(`${hierarchy}/${name}`);
    }
  }
  const pooled = pooledByLiveSessions(config.runDir);
  return {
    overlayMounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(' - overlay ')).length,
    netns: dirNames('/run/netns').filter((n) => !pooled.netns.has(n)),
    links: lines('ip', ['-o', 'link', 'show'])
      .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
      .filter((n) => /^cs/.test(n) && !pooled.links.has(n)),
    cgroups,
    runtimeContainers: [...dirNames('/run/runc'), ...dirNames('/run/crun')],
    containerDirs: dirNames(`${config.runDir}/containers`),
    writableLayers: dirNames(config.tmpfsDir),
    runcProcesses: lines('ps', ['-C', 'runc,crun', '-o', 'pid=,ppid=,pgid=,stat=,args='])
      .map((l) => l.trim())
      // Exited, and handed to init when their owner was killed: init reaps them (some inits lazily).
      .filter((l) => !/^\d+\s+1\s+\d+\s+Z/.test(l)),
    forwardRules: lines('iptables', ['-w', '5', '-S', 'FORWARD']).filter((r) =>
      r.includes('--comment cspec '),
    ),
  };
}

/** Asserts that cspec holds nothing on this host (containers of other suites included). */
export function expectNoLeaks(): void {
  const found = hostResources();
  const leaks = Object.entries(found).filter(([, v]) => (Array.isArray(v) ? v.length > 0 : v > 0));
  if (leaks.length) {
    throw new Error(`cspec left resources behind: ${JSON.stringify(Object.fromEntries(leaks))}`);
  }
}

/** Polls until nothing is left or the time is up; returns what was left. */
export async function waitForNoLeaks(timeoutMs: number): Promise<HostResources | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = hostResources();
    const left = Object.values(found).some((v) => (Array.isArray(v) ? v.length > 0 : v > 0));
    if (!left) return undefined;
    if (Date.now() > end) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}
