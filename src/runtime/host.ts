/**
 * Facts about the machine a container spec depends on, read once and handed to the pure spec
 * builder (spec.ts) as data: the caller's resource limits (a spec may not raise a hard limit
 * above them: without CAP_SYS_RESOURCE the runtime's setrlimit fails), the capabilities this
 * process holds (a container cannot be given more), the CPU count, the cgroup version and whether swap can be limited, and
 * the architecture (for the seccomp profile).
 */
import { existsSync, lstatSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { CairnError, errnoCode } from '../errors.js';

/** A limit of /proc/self/limits; `undefined` is unlimited. */
export interface Rlimit {
  soft: number | undefined;
  hard: number | undefined;
}

/** Docker's ulimit names (`--ulimit NAME=SOFT[:HARD]`) and the RLIMIT_* each one is. */
export const ULIMIT_NAMES = {
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
  as: 'RLIMIT_AS',
} as const;
export type UlimitName = keyof typeof ULIMIT_NAMES;
export type RlimitType = (typeof ULIMIT_NAMES)[UlimitName];

/** The line of /proc/self/limits naming each limit. */
const LIMITS_LINES: Record<string, UlimitName> = {
  'Max cpu time': 'cpu',
  'Max file size': 'fsize',
  'Max data size': 'data',
  'Max stack size': 'stack',
  'Max core file size': 'core',
  'Max resident set': 'rss',
  'Max processes': 'nproc',
  'Max open files': 'nofile',
  'Max locked memory': 'memlock',
  'Max address space': 'as',
  'Max file locks': 'locks',
  'Max pending signals': 'sigpending',
  'Max msgqueue size': 'msgqueue',
  'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio',
  'Max realtime timeout': 'rttime',
};

export interface HostFacts {
  /** The caller's limits, by Docker's ulimit name. */
  rlimits: Partial<Record<UlimitName, Rlimit>>;
  /** The capabilities of this process's bounding set (CapBnd): the most a container can be given. */
  capabilities: string[];
  /** CPUs the caller may use. */
  cpus: number;
  /** Whether /sys/fs/cgroup is the unified cgroup v2 hierarchy. */
  cgroup2: boolean;
  /** Whether memory+swap can be limited (cgroup v2, or v1 with memory.memsw). */
  swapLimit: boolean;
  /** The architecture as Go (and seccomp profiles) name it: amd64, arm64, ... */
  arch: string;
}

/** Capabilities by number (linux/capability.h). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK',
  'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The names of the capabilities in the CapBnd line of /proc/PID/status. */
export function boundingCapabilities(status: string): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (m === null) throw new CairnError('internal', 'no CapBnd line in /proc/self/status');
  const mask = BigInt(`0x${m[1]}`);
  return CAPABILITIES.filter((_c, i) => ((mask >> BigInt(i)) & 1n) === 1n);
}

/** Parse /proc/self/limits. */
export function parseLimits(text: string): Partial<Record<UlimitName, Rlimit>> {
  const out: Partial<Record<UlimitName, Rlimit>> = {};
  const value = (s: string | undefined): number | undefined => (s === undefined || s === 'unlimited' ? undefined : Number(s));
  for (const line of text.split('\n').slice(1)) {
    const label = Object.keys(LIMITS_LINES).find((l) => line.startsWith(l + ' '));
    if (label === undefined) continue;
    const [soft, hard] = line.slice(label.length).trim().split(/\s+/);
    out[LIMITS_LINES[label]!] = { soft: value(soft), hard: value(hard) };
  }
  return out;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64', mips: 'mips', mipsel: 'mipsle' };

/** Node's process.arch as Go names it. */
export function goArch(nodeArch: string = process.arch): string {
  return GO_ARCH[nodeArch] ?? nodeArch;
}

/** CGROUP2_SUPER_MAGIC */
const CGROUP2_MAGIC = 0x63677270;

/** Read the facts of this machine and process. */
export function readHostFacts(): HostFacts {
  let cgroup2 = false;
  try {
    cgroup2 = statfsSync('/sys/fs/cgroup').type === CGROUP2_MAGIC;
  } catch (e) {
    throw new CairnError('internal', `cannot read /sys/fs/cgroup: ${(e as Error).message}`, { cause: e });
  }
  return {
    rlimits: parseLimits(readFileSync('/proc/self/limits', 'utf8')),
    capabilities: boundingCapabilities(readFileSync('/proc/self/status', 'utf8')),
    cpus: availableParallelism(),
    cgroup2,
    swapLimit: cgroup2 ? true : existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
    arch: goArch(),
  };
}

/** A device node for the runtime-spec's `linux.devices`. */
export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** Directories of /dev that are file systems or links of their own, not devices to copy (as Docker skips them). */
const SKIP_DEV = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
/** Nodes the runtime makes itself for every container. */
const RUNTIME_DEV = new Set(['/dev/ptmx', '/dev/console']);

/**
 * The host's device nodes under `dir` (/dev), for a privileged container (Docker gives it
 * every one). Symlinks, sockets and FIFOs are not devices; /dev/pts, /dev/shm, /dev/mqueue
 * and /dev/fd are skipped, and so are /dev/ptmx and /dev/console, which the runtime makes.
 */
export function readHostDevices(dir = '/dev'): OciDevice[] {
  const out: OciDevice[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (e) {
      // A directory gone meanwhile, or one this process may not read, holds no device for it.
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'EACCES') return;
      throw e;
    }
    for (const name of names.sort()) {
      const path = join(d, name);
      if (d === dir && SKIP_DEV.has(name)) continue;
      const st = lstatSync(path, { bigint: true });
      if (st.isDirectory()) walk(path);
      else if ((st.isCharacterDevice() || st.isBlockDevice()) && !RUNTIME_DEV.has(path)) {
        const rdev = st.rdev;
        const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        out.push({ path, type: st.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) });
      }
    }
  };
  walk(dir);
  return out;
}
