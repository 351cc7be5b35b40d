/**
 * `stats`: a running container's resource use read from its cgroups, as Docker computes it —
 * CPU % from two readings of the cgroup's CPU time against the machine's (the share of all
 * CPUs, times their number, as Docker's CLI shows it), memory usage without the inactive page
 * cache over the limit (the machine's memory when none is set), PIDs, block I/O bytes. The
 * cgroup is `/cairn/<id>` (the spec's cgroupsPath) under each cgroup v1 controller, or under
 * the unified cgroup v2 hierarchy. Network I/O is 0B / 0B: containers use the host's network
 * or none.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { readTextIfPresent as read } from '../text-file.js';

export interface StatsSample {
  /** Container CPU time, ns. */
  cpuNs: number;
  /** Machine CPU time, ns (all CPUs, from /proc/stat). */
  systemNs: number;
  memUsage: number;
  memLimit: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
}

const CGROUP = '/sys/fs/cgroup';

function num(text: string | undefined): number {
  const n = Number((text ?? '').trim().split(/\s+/)[0]);
  return Number.isFinite(n) ? n : 0;
}

/** The machine's CPU time so far, ns (/proc/stat's first line; USER_HZ ticks of 10 ms). */
function systemNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((a, b) => a + Number(b), 0);
  return ticks * 1e7;
}

function statValue(stat: string | undefined, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(stat ?? '');
  return m ? Number(m[1]) : 0;
}

/** One reading of container `id`'s cgroups (undefined: it has none, it is not running). */
export function sampleStats(id: string): StatsSample | undefined {
  const rel = join('cairn', id);
  const v1 = read(join(CGROUP, 'cpuacct', rel, 'cpuacct.usage'));
  if (v1 !== undefined) {
    const memStat = read(join(CGROUP, 'memory', rel, 'memory.stat'));
    let limit = num(read(join(CGROUP, 'memory', rel, 'memory.limit_in_bytes')));
    if (limit === 0 || limit >= 2 ** 62) limit = totalmem();
    let blockRead = 0;
    let blockWrite = 0;
    for (const line of (read(join(CGROUP, 'blkio', rel, 'blkio.throttle.io_service_bytes')) ?? '').split('\n')) {
      const [, op, value] = line.split(' ');
      if (op === 'Read') blockRead += Number(value);
      else if (op === 'Write') blockWrite += Number(value);
    }
    return {
      cpuNs: num(v1),
      systemNs: systemNs(),
      memUsage: Math.max(0, num(read(join(CGROUP, 'memory', rel, 'memory.usage_in_bytes'))) - statValue(memStat, 'total_inactive_file')),
      memLimit: limit,
      pids: num(read(join(CGROUP, 'pids', rel, 'pids.current'))),
      blockRead,
      blockWrite,
    };
  }
  const cpuStat = read(join(CGROUP, rel, 'cpu.stat'));
  if (cpuStat === undefined) return undefined;
  const max = (read(join(CGROUP, rel, 'memory.max')) ?? 'max').trim();
  let blockRead = 0;
  let blockWrite = 0;
  for (const line of (read(join(CGROUP, rel, 'io.stat')) ?? '').split('\n')) {
    blockRead += Number(/rbytes=(\d+)/.exec(line)?.[1] ?? 0);
    blockWrite += Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return {
    cpuNs: statValue(cpuStat, 'usage_usec') * 1000,
    systemNs: systemNs(),
    memUsage: Math.max(0, num(read(join(CGROUP, rel, 'memory.current'))) - statValue(read(join(CGROUP, rel, 'memory.stat')), 'inactive_file')),
    memLimit: max === 'max' ? totalmem() : Number(max),
    pids: num(read(join(CGROUP, rel, 'pids.current'))),
    blockRead,
    blockWrite,
  };
}

/** Docker's CPU %: the container's share of the machine's CPU time between two readings, times the CPUs. */
export function cpuPercent(before: StatsSample, after: StatsSample, onlineCpus = cpus().length): number {
  const cpu = after.cpuNs - before.cpuNs;
  const system = after.systemNs - before.systemNs;
  return system > 0 && cpu > 0 ? (cpu / system) * onlineCpus * 100 : 0;
}
