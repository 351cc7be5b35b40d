/**
 * An OCI runtime spec (`config.json`) for one container, made as Docker makes it: a pure
 * function of the image's config, the run options (`docker run`'s flags, as data) and the
 * machine's facts. Nothing here touches the disk: the user is resolved beforehand (user.ts),
 * the seccomp profile read beforehand (seccomp.ts), the host facts read beforehand (host.ts),
 * and every path inside the root filesystem is made safe afterwards (bundle.ts).
 *
 * What it follows from Docker (moby's oci defaults and daemon/oci_linux.go):
 * - args: `--entrypoint` replaces the image's Entrypoint and drops its Cmd; arguments replace
 *   Cmd; nothing to run is "no command specified";
 * - env: PATH's default, HOSTNAME, TERM=xterm with a tty, then the image's Env, then `-e`
 *   (a key without `=` removes it), then HOME from the user's passwd entry when unset;
 * - capabilities: Docker's default 14, `--cap-add`/`--cap-drop` with `ALL`, all with
 *   `--privileged` (which also gets the host's devices, /sys read-write, no masked paths, no
 *   seccomp); seccomp: the default profile filtered for those capabilities;
 * - namespaces mount, uts, pid, ipc, and network unless `--network host` (`none`: a network
 *   namespace of its own with only loopback, which the runtime brings up);
 * - mounts /proc, /dev, /dev/pts, /sys, /sys/fs/cgroup, /dev/mqueue, /dev/shm, then binds and
 *   tmpfs (shallowest first), then /etc/resolv.conf, /etc/hostname, /etc/hosts;
 * - masked and read-only paths, the device cgroup allow-list, resources, rlimits (clamped to
 *   the caller's hard limits, with a warning), labels as annotations.
 */
import { InvalidArgumentError, UsageError } from '../errors.js';
import type { ContainerConfig } from '../oci/types.js';
import { CAPABILITIES, ULIMIT_NAMES, type HostFacts, type OciDevice, type RlimitType, type UlimitName } from './host.js';
import { type OciSeccomp, type SeccompSource, DEFAULT_SECCOMP_PROFILE } from './seccomp.js';
import type { ExecUser } from './user.js';

// --- the runtime-spec types (the part cairn writes) -----------------------------------------

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciRlimit {
  type: RlimitType;
  /** A number, or {@link RLIM_INFINITY} (a bigint: 2^64-1 is past a double's precision). */
  hard: number | bigint;
  soft: number | bigint;
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
}

export interface OciDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access: string;
}

export interface OciResources {
  devices: OciDeviceCgroup[];
  memory?: { limit: number; swap?: number };
  cpu?: { quota: number; period: number };
  pids?: { limit: number };
}

export interface OciLinux {
  namespaces: Array<{ type: NamespaceType }>;
  resources: OciResources;
  cgroupsPath: string;
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
  devices?: OciDevice[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: OciLinux;
}

// --- run options ------------------------------------------------------------------------------

export interface Ulimit {
  name: UlimitName;
  soft: number;
  hard: number;
}

/** A bind mount (`-v SRC:DST[:OPTS]`, `--mount type=bind`), already parsed and checked. */
export interface BindMount {
  /** Host path of the source. */
  source: string;
  /** Path inside the container. */
  destination: string;
  readOnly?: boolean;
  /** rprivate (Docker's default), private, rshared, shared, rslave, slave. */
  propagation?: 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
  /** Not recursive (`bind-recursive=disabled`): plain "bind" instead of "rbind". */
  nonRecursive?: boolean;
}

/** A tmpfs mount (`--tmpfs DST[:OPTS]`). */
export interface TmpfsMount {
  destination: string;
  /** mount options as Docker takes them: "size=64m", "mode=1777", "ro", "noexec"... */
  options?: string[];
}

/** The files the caller prepared for /etc/hosts, /etc/hostname and /etc/resolv.conf (host paths). */
export interface EtcFiles {
  hosts?: string;
  hostname?: string;
  resolvConf?: string;
}

export interface RunOptions {
  /** Arguments after the image name (replace the image's Cmd). */
  args?: string[];
  /** `--entrypoint`: replaces the image's Entrypoint and drops its Cmd; [] or [""] clears it. */
  entrypoint?: string[];
  /** `-e`/`--env-file`, in order: KEY=VALUE, or KEY alone to remove KEY. */
  env?: string[];
  /** `-w`: absolute path in the container. */
  workdir?: string;
  /** The user (user.ts resolveUser) of `-u`, else of the image's User. */
  user: ExecUser;
  hostname: string;
  tty?: boolean;
  readOnly?: boolean;
  network?: 'host' | 'none';
  /** `--shm-size` in bytes: /dev/shm's size (Docker's default 64 MiB without it). */
  shmSize?: number;
  /** `--memory` in bytes. */
  memory?: number;
  /** `--memory-swap` in bytes (memory + swap; -1 unlimited). Default twice `memory` where swap can be limited. */
  memorySwap?: number;
  /** `--cpus`. */
  cpus?: number;
  /** `--pids-limit` (0 or -1: unlimited). */
  pidsLimit?: number;
  ulimits?: Ulimit[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  /** `--security-opt` values: seccomp=unconfined, no-new-privileges[=true|false]. */
  securityOpt?: string[];
  binds?: BindMount[];
  tmpfs?: TmpfsMount[];
  etcFiles?: EtcFiles;
  labels?: Record<string, string>;
  /** `--stop-signal` (else the image's StopSignal), kept as an annotation. */
  stopSignal?: string;
}

export interface SpecInputs {
  /** The container's ID (names its cgroup). */
  id: string;
  /** The image config's `config` (Env, Cmd, Entrypoint, WorkingDir, StopSignal, ...). */
  image: ContainerConfig | undefined;
  /** Host path of the mounted root filesystem. */
  rootfs: string;
  options: RunOptions;
  host: HostFacts;
  /** The running kernel's release (os.release()), for the seccomp profile's minKernel. */
  kernel: string;
  /** The default seccomp profile (seccomp.ts: `fromProfile`, or seccomp-memo.ts), unless the container runs unconfined. */
  seccomp?: SeccompSource;
  /** The host's devices (host.ts readHostDevices), which a privileged container gets. */
  hostDevices?: readonly OciDevice[];
}

export interface SpecResult {
  spec: OciSpec;
  /** What was changed from what was asked (Docker prints such lines as WARNING). */
  warnings: string[];
}

// --- Docker's defaults ------------------------------------------------------------------------

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default capability set. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const MASKED_PATHS: readonly string[] = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The device cgroup: everything denied, then the devices every container has (runc's allow-list, as Docker gets it). */
function defaultDeviceRules(): OciDeviceCgroup[] {
  const c = (major: number | undefined, minor: number | undefined): OciDeviceCgroup => ({
    allow: true,
    type: 'c',
    ...(major !== undefined ? { major } : {}),
    ...(minor !== undefined ? { minor } : {}),
    access: 'rwm',
  });
  return [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', access: 'm' },
    { allow: true, type: 'b', access: 'm' },
    c(1, 3), // null
    c(1, 8), // random
    c(1, 7), // full
    c(5, 0), // tty
    c(1, 5), // zero
    c(1, 9), // urandom
    c(5, 1), // console
    c(136, undefined), // pts
    c(5, 2), // ptmx
    c(10, 200), // tun
  ];
}

// --- pieces -----------------------------------------------------------------------------------

/** Docker's ReplaceOrAppendEnvValues: an override replaces the same key, a bare key removes it, others are appended. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out: Array<string | undefined> = [...base];
  const index = new Map<string, number>();
  out.forEach((e, i) => index.set(e!.split('=')[0]!, i));
  for (const v of overrides) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key === '') throw new InvalidArgumentError(`invalid environment variable ${JSON.stringify(v)}: no name`);
    const at = index.get(key);
    if (eq < 0) {
      if (at !== undefined) out[at] = undefined;
      index.delete(key);
      continue;
    }
    if (at !== undefined) out[at] = v;
    else {
      index.set(key, out.length);
      out.push(v);
    }
  }
  return out.filter((e): e is string => e !== undefined);
}

function normaliseCap(name: string): string {
  const up = name.toUpperCase();
  if (up === 'ALL') return 'ALL';
  const cap = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!CAPABILITIES.includes(cap)) throw new InvalidArgumentError(`unknown capability: ${JSON.stringify(cap)}`);
  return cap;
}

/**
 * Docker's TweakCapabilities: the container's capability set from the defaults, `--cap-add`,
 * `--cap-drop`, `--privileged`. "All" is what the caller can give: its own bounding set
 * (`available`), not every capability the kernel knows (a container cannot get more than its
 * runtime holds: capset fails).
 */
export function capabilitySet(opts: { capAdd?: readonly string[]; capDrop?: readonly string[]; privileged?: boolean }, available: readonly string[]): string[] {
  const all = CAPABILITIES.filter((c) => available.includes(c));
  if (opts.privileged) return [...all];
  const adds = (opts.capAdd ?? []).map(normaliseCap);
  const drops = (opts.capDrop ?? []).map(normaliseCap);
  let caps: string[];
  if (adds.includes('ALL')) caps = all.filter((c) => !drops.includes(c));
  else if (drops.includes('ALL')) caps = adds;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c)), ...adds];
  const missing = caps.find((c) => !all.includes(c));
  if (missing !== undefined) throw new InvalidArgumentError(`cannot give the container ${missing}: this process does not hold it (not in its bounding set)`);
  return [...new Set(caps)];
}

/** strconv.ParseInt(s, 10, 64), with Go's messages (JSON-quoted `s` is Go's quoting for these texts). */
function parseInt64(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = BigInt(s);
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  return Number(n);
}

/**
 * `--ulimit NAME=SOFT[:HARD]` as Docker 20.10 parses it (go-units v0.4.0 ParseUlimit), with its
 * messages: `invalid ulimit argument: foo`, `invalid ulimit type: foo`, `strconv.ParseInt:
 * parsing "x": invalid syntax`, `too many limit value arguments - 1:2:3, can only have up to
 * two, \`soft[:hard]\``, `ulimit soft limit must be less than or equal to hard limit: 2 > 1`
 * (`soft: -1 (unlimited), hard: 5` for an unlimited soft limit under a hard one). -1 is
 * unlimited.
 */
export function parseUlimit(text: string): Ulimit {
  const eq = text.indexOf('=');
  if (eq < 0) throw new InvalidArgumentError(`invalid ulimit argument: ${text}`);
  const name = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (!Object.hasOwn(ULIMIT_NAMES, name)) throw new InvalidArgumentError(`invalid ulimit type: ${name}`);
  const parts = value.split(':');
  if (parts.length > 2) throw new InvalidArgumentError(`too many limit value arguments - ${value}, can only have up to two, \`soft[:hard]\``);
  const hard = parts.length === 2 ? parseInt64(parts[1]!) : undefined;
  const soft = parseInt64(parts[0]!);
  const h = hard ?? soft;
  if (h !== -1) {
    if (soft === -1) throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: ${h}`);
    if (soft > h) throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${h}`);
  }
  return { name: name as UlimitName, soft, hard: h };
}

/** RLIM_INFINITY: what the kernel takes as "unlimited" (written as a 64-bit integer; see bundle.ts's specJson). */
export const RLIM_INFINITY = 2n ** 64n - 1n;

/** Rlimits of the spec: each asked one, its hard limit lowered to the caller's where higher (with a warning). */
function rlimits(ulimits: readonly Ulimit[], host: HostFacts, warnings: string[]): OciRlimit[] {
  const out = new Map<UlimitName, OciRlimit>();
  for (const u of ulimits) {
    // -1 is unlimited, as Docker takes it.
    let hard: number | 'unlimited' = u.hard < 0 ? 'unlimited' : u.hard;
    let soft: number | 'unlimited' = u.soft < 0 ? 'unlimited' : u.soft;
    const callerHard = host.rlimits[u.name]?.hard;
    if (callerHard !== undefined && (hard === 'unlimited' || hard > callerHard)) {
      warnings.push(`ulimit ${u.name}: hard limit ${hard} lowered to ${callerHard}, the most this process may set`);
      hard = callerHard;
    }
    if (soft === 'unlimited' || (hard !== 'unlimited' && soft > hard)) soft = hard;
    const value = (v: number | 'unlimited'): number | bigint => (v === 'unlimited' ? RLIM_INFINITY : v);
    out.set(u.name, { type: ULIMIT_NAMES[u.name], hard: value(hard), soft: value(soft) });
  }
  return [...out.values()];
}

export interface SecurityOpts {
  seccomp: 'default' | 'unconfined';
  noNewPrivileges: boolean;
  /** `label=...` (and `disable`): accepted and ignored — cairn does no SELinux labelling, as Docker on a host without SELinux. */
  label: string[];
  /** `apparmor=...`: accepted and ignored, as Docker on a host without AppArmor. */
  apparmor?: string;
}

/**
 * `--security-opt` values as dockerd reads them (daemon parseSecurityOpt: `KEY=VALUE`, or the
 * old `KEY:VALUE`; `no-new-privileges` and `disable` alone), with its messages for what it
 * refuses (InvalidArgumentError, exit 125): `invalid --security-opt 1: "foo"` (no separator),
 * `invalid --security-opt 2: "no-new-privileges=maybe"` (a bad value or an unknown key). A
 * seccomp profile other than `unconfined` is cairn's refusal (UsageError): cairn applies the
 * default profile or none.
 */
export function parseSecurityOpts(values: readonly string[]): SecurityOpts {
  const out: SecurityOpts = { seccomp: 'default', noNewPrivileges: false, label: [] };
  for (const v of values) {
    if (v === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (v === 'disable') {
      out.label.push('disable');
      continue;
    }
    const sep = v.includes('=') ? '=' : v.includes(':') ? ':' : undefined;
    if (sep === undefined) throw new InvalidArgumentError(`invalid --security-opt 1: ${JSON.stringify(v)}`, { exitCode: 125 });
    const key = v.slice(0, v.indexOf(sep));
    const value = v.slice(v.indexOf(sep) + 1);
    switch (key) {
      case 'label':
        out.label.push(value);
        break;
      case 'apparmor':
        out.apparmor = value;
        break;
      case 'seccomp':
        if (value !== 'unconfined') throw new UsageError(`--security-opt seccomp=${value} is not supported: cairn runs containers with the default seccomp profile (${DEFAULT_SECCOMP_PROFILE}) or, with seccomp=unconfined, none`);
        out.seccomp = 'unconfined';
        break;
      case 'no-new-privileges':
        if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) out.noNewPrivileges = true;
        else if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) out.noNewPrivileges = false;
        else throw new InvalidArgumentError(`invalid --security-opt 2: ${JSON.stringify(v)}`, { exitCode: 125 });
        break;
      default:
        throw new InvalidArgumentError(`invalid --security-opt 2: ${JSON.stringify(v)}`, { exitCode: 125 });
    }
  }
  return out;
}

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/');
}

/** Docker's mount sort: parents before children (by the number of path components). */
function depth(p: string): number {
  return p.split('/').filter((c) => c !== '' && c !== '.').length;
}

/** Docker's tmpfs defaults: noexec, nosuid, nodev unless the options say otherwise. */
function tmpfsOptions(opts: readonly string[]): string[] {
  const out = [...opts];
  const has = (...names: string[]) => out.some((o) => names.includes(o));
  if (!has('exec', 'noexec')) out.push('noexec');
  if (!has('suid', 'nosuid')) out.push('nosuid');
  if (!has('dev', 'nodev')) out.push('nodev');
  return out;
}

// --- the spec ---------------------------------------------------------------------------------

/**
 * The process's user as Docker's runtime sets it: the uid, the gid, and as supplementary
 * groups the user's groups from /etc/group and its primary gid (`id` in a Docker container
 * says `groups=0(root)` for root, `groups=4(adm),65534(nogroup)` for a member of adm).
 */
export function processUser(u: { uid: number; gid: number; additionalGids: readonly number[] }): OciProcess['user'] {
  return { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids.includes(u.gid) ? [...u.additionalGids] : [...u.additionalGids, u.gid] };
}

/** The OCI runtime spec of a container. UsageError / InvalidArgumentError for options Docker refuses. */
export function buildSpec(inputs: SpecInputs): SpecResult {
  const { options: o, host } = inputs;
  const image = inputs.image ?? {};
  const warnings: string[] = [];

  // Command.
  const entrypoint = o.entrypoint !== undefined ? o.entrypoint.filter((a, i) => !(i === 0 && a === '' && o.entrypoint!.length === 1)) : (image.Entrypoint ?? []);
  const cmd = o.args !== undefined && o.args.length > 0 ? o.args : o.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new UsageError('no command specified');

  // Working directory.
  const cwd = o.workdir ?? (image.WorkingDir || '/');
  if (!isAbsolutePath(cwd)) throw new UsageError(`the working directory '${cwd}' is invalid, it needs to be an absolute path`);

  // Environment.
  const defaults = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${o.hostname}`, ...(o.tty ? ['TERM=xterm'] : [])];
  let env = mergeEnv(defaults, image.Env ?? []);
  env = mergeEnv(env, o.env ?? []);
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${o.user.home || '/'}`);

  // Security.
  const security = parseSecurityOpts(o.securityOpt ?? []);
  const caps = capabilitySet(o, host.capabilities);
  const proc: OciProcess = {
    terminal: o.tty ?? false,
    user: processUser(o.user),
    args,
    env,
    cwd,
    capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
  };
  const rl = rlimits(o.ulimits ?? [], host, warnings);
  if (rl.length > 0) proc.rlimits = rl;
  if (security.noNewPrivileges) proc.noNewPrivileges = true;

  // Resources.
  const resources: OciResources = { devices: o.privileged ? [{ allow: true, access: 'rwm' }] : defaultDeviceRules() };
  if (o.memory !== undefined && o.memory !== 0) {
    if (o.memory < 6 * 1024 * 1024) throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
    resources.memory = { limit: o.memory };
    if (o.memorySwap !== undefined && o.memorySwap !== 0) {
      if (o.memorySwap > 0 && o.memorySwap < o.memory) throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
      if (!host.swapLimit) warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
      else resources.memory.swap = o.memorySwap;
    } else if (host.swapLimit) {
      resources.memory.swap = o.memory * 2;
    }
  } else if (o.memorySwap !== undefined && o.memorySwap > 0) {
    throw new InvalidArgumentError('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (o.cpus !== undefined && o.cpus !== 0) {
    if (!(o.cpus > 0) || o.cpus > host.cpus) {
      throw new InvalidArgumentError(`Range of CPUs is from 0.01 to ${host.cpus}.00, as there are only ${host.cpus} CPUs available`);
    }
    const period = 100000;
    resources.cpu = { quota: Math.round(o.cpus * period), period };
  }
  if (o.pidsLimit !== undefined && o.pidsLimit > 0) resources.pids = { limit: o.pidsLimit };

  // Namespaces.
  const namespaces: Array<{ type: NamespaceType }> = [{ type: 'mount' }];
  if (o.network !== 'host') namespaces.push({ type: 'network' });
  namespaces.push({ type: 'uts' }, { type: 'pid' }, { type: 'ipc' });
  if (host.cgroup2) namespaces.push({ type: 'cgroup' });

  // Mounts.
  const sysRo = o.privileged ? [] : ['ro'];
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...sysRo] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ...sysRo] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', o.shmSize !== undefined && o.shmSize > 0 ? `size=${o.shmSize}` : 'size=65536k'] },
  ];
  const user: Array<{ depth: number; mount: OciMount }> = [];
  for (const b of o.binds ?? []) {
    if (!isAbsolutePath(b.destination)) throw new InvalidArgumentError(`invalid mount config: mount path must be absolute: ${b.destination}`);
    if (!isAbsolutePath(b.source)) throw new InvalidArgumentError(`invalid mount config: bind source path must be absolute: ${b.source}`);
    const options = [b.nonRecursive ? 'bind' : 'rbind', b.propagation ?? 'rprivate', ...(b.readOnly ? ['ro'] : [])];
    user.push({ depth: depth(b.destination), mount: { destination: b.destination, type: 'bind', source: b.source, options } });
  }
  for (const t of o.tmpfs ?? []) {
    if (!isAbsolutePath(t.destination)) throw new InvalidArgumentError(`invalid mount config: mount path must be absolute: ${t.destination}`);
    user.push({ depth: depth(t.destination), mount: { destination: t.destination, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(t.options ?? []) } });
  }
  const seen = new Set<string>();
  for (const { mount } of user) {
    const key = mount.destination.replace(/\/+$/, '') || '/';
    if (seen.has(key)) throw new InvalidArgumentError(`Duplicate mount point: ${mount.destination}`);
    seen.add(key);
  }
  // Docker replaces a default mount at the same destination (e.g. --tmpfs /dev/shm).
  const replaced = mounts.filter((m) => !seen.has(m.destination));
  mounts.length = 0;
  mounts.push(...replaced, ...user.sort((a, b) => a.depth - b.depth).map((u) => u.mount));
  const etc = o.etcFiles ?? {};
  for (const [dest, source] of [['/etc/resolv.conf', etc.resolvConf], ['/etc/hostname', etc.hostname], ['/etc/hosts', etc.hosts]] as const) {
    if (source === undefined || seen.has(dest)) continue;
    mounts.push({ destination: dest, type: 'bind', source, options: ['rbind', 'rprivate', ...(o.readOnly ? ['ro'] : [])] });
  }

  // Seccomp.
  let seccomp: OciSeccomp | undefined;
  if (!o.privileged && security.seccomp === 'default') {
    if (inputs.seccomp === undefined) {
      throw new InvalidArgumentError(`no seccomp profile given: read ${DEFAULT_SECCOMP_PROFILE} (seccomp.ts), or run with --security-opt seccomp=unconfined`);
    }
    seccomp = inputs.seccomp.section({ capabilities: caps, arch: host.arch, kernel: inputs.kernel });
  }

  const linux: OciLinux = { namespaces, resources, cgroupsPath: `/cairn/${inputs.id}` };
  if (o.network !== 'host') linux.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' };
  if (seccomp !== undefined) linux.seccomp = seccomp;
  if (o.privileged && inputs.hostDevices !== undefined && inputs.hostDevices.length > 0) linux.devices = inputs.hostDevices.map((d) => ({ ...d }));
  if (!o.privileged) {
    linux.maskedPaths = [...MASKED_PATHS];
    linux.readonlyPaths = [...READONLY_PATHS];
  }

  const annotations: Record<string, string> = { ...(image.Labels ?? {}), ...(o.labels ?? {}) };
  const stopSignal = o.stopSignal ?? image.StopSignal;
  if (stopSignal !== undefined && stopSignal !== '') annotations['org.opencontainers.image.stopSignal'] = stopSignal;

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: proc,
    root: { path: inputs.rootfs, readonly: o.readOnly ?? false },
    hostname: o.hostname,
    mounts,
    annotations,
    linux,
  };
  return { spec, warnings };
}
