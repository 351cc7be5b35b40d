/**
 * Docker's `Config` and `HostConfig` of a container, as `docker inspect` prints them, made from
 * its CreateOptions and its image's config the way dockerd makes them at create: the image's
 * settings merged under the flags (daemon/commit.go merge), the defaults dockerd fills in
 * (hostname, /dev/shm size, swap twice the memory, masked paths), `No command specified`
 * when neither gives a command; and the process's Path and Args. *pure*
 *
 * Keys come in Docker's order; a field Docker leaves out when empty (`omitempty`) is left out,
 * and a nil slice or map is `null` where Docker prints `null` — what a fresh `docker create`
 * printed on Docker 20.10.24 (see inspect.test.ts).
 */
import type { ContainerConfig } from '../oci/types.js';
import { MASKED_PATHS, READONLY_PATHS } from '../runtime/spec.js';
import { daemonError } from './errors.js';
import type { DockerMount } from './mounts.js';
import type { CreateOptions, HealthConfig, RestartPolicy } from './options.js';

/** Docker's container.Config. */
export interface DockerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

/** Docker's container.HostConfig (Linux), every key Docker 20.10 prints. */
export interface DockerHostConfig {
  Binds: string[] | null;
  ContainerIDFile: string;
  LogConfig: { Type: string; Config: Record<string, string> };
  NetworkMode: string;
  PortBindings: Record<string, unknown>;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  VolumeDriver: string;
  VolumesFrom: string[] | null;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  CgroupnsMode: string;
  Dns: string[];
  DnsOptions: string[];
  DnsSearch: string[];
  ExtraHosts: string[] | null;
  GroupAdd: string[] | null;
  IpcMode: string;
  Cgroup: string;
  Links: string[] | null;
  OomScoreAdj: number;
  PidMode: string;
  Privileged: boolean;
  PublishAllPorts: boolean;
  ReadonlyRootfs: boolean;
  SecurityOpt: string[] | null;
  StorageOpt?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  UTSMode: string;
  UsernsMode: string;
  ShmSize: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  ConsoleSize: [number, number];
  Isolation: string;
  CpuShares: number;
  Memory: number;
  NanoCpus: number;
  CgroupParent: string;
  BlkioWeight: number;
  BlkioWeightDevice: unknown[];
  BlkioDeviceReadBps: unknown[] | null;
  BlkioDeviceWriteBps: unknown[] | null;
  BlkioDeviceReadIOps: unknown[] | null;
  BlkioDeviceWriteIOps: unknown[] | null;
  CpuPeriod: number;
  CpuQuota: number;
  CpuRealtimePeriod: number;
  CpuRealtimeRuntime: number;
  CpusetCpus: string;
  CpusetMems: string;
  Devices: unknown[];
  DeviceCgroupRules: string[] | null;
  DeviceRequests: unknown[] | null;
  KernelMemory: number;
  KernelMemoryTCP: number;
  MemoryReservation: number;
  MemorySwap: number;
  MemorySwappiness: number | null;
  OomKillDisable: boolean;
  PidsLimit: number | null;
  Ulimits: Array<{ Name: string; Hard: number; Soft: number }> | null;
  CpuCount: number;
  CpuPercent: number;
  IOMaximumIOps: number;
  IOMaximumBandwidth: number;
  Mounts?: DockerMount[];
  MaskedPaths: string[] | null;
  ReadonlyPaths: string[] | null;
  Init?: boolean;
}

/** dockerd's default /dev/shm size. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** An object with these keys in this order; undefined entries are left out (Go's omitempty). */
function ordered<T>(entries: ReadonlyArray<readonly [string, unknown] | undefined>): T {
  const out: Record<string, unknown> = {};
  for (const e of entries) if (e !== undefined) out[e[0]] = e[1];
  return out as T;
}

/** A Go map as encoding/json writes it: keys sorted. */
function sortedMap<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const m = new Map(entries);
  const out: Record<string, T> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

function envKey(e: string): string {
  return e.split('=')[0]!;
}

/** What the config builder needs besides the options and the image. */
export interface ConfigContext {
  /** The container's id (its first 12 hex digits are the default hostname off the host network). */
  id: string;
  /** The host's hostname: a container on the host network gets it by default, as in Docker. */
  hostHostname: string;
}

/**
 * The container's Config: the flags, with the image's config merged under them as dockerd
 * merges it. Throws Docker's `No command specified` when neither has a command.
 */
export function dockerConfig(opts: CreateOptions, image: ContainerConfig | undefined, ctx: ConfigContext): DockerConfig {
  const img = image ?? {};
  // Env: the flags', then the image's whose names the flags do not set.
  let env: string[] | null;
  if (opts.env.length === 0) env = img.Env !== undefined && img.Env !== null ? [...img.Env] : null;
  else {
    const keys = new Set(opts.env.map(envKey));
    env = [...opts.env, ...(img.Env ?? []).filter((e) => !keys.has(envKey(e)))];
  }
  // Entrypoint and Cmd: an explicit entrypoint (even "") drops the image's Cmd.
  let entrypoint: string[] | null = opts.entrypoint !== undefined ? [...opts.entrypoint] : null;
  let cmd: string[] | null = opts.cmd !== undefined ? [...opts.cmd] : null;
  if (entrypoint === null) {
    if (cmd === null) cmd = img.Cmd !== undefined && img.Cmd !== null ? [...img.Cmd] : null;
    entrypoint = img.Entrypoint !== undefined && img.Entrypoint !== null ? [...img.Entrypoint] : null;
  }
  if (entrypoint !== null && entrypoint.length === 1 && entrypoint[0] === '') entrypoint = null;
  if ((entrypoint === null || entrypoint.length === 0) && (cmd === null || cmd.length === 0)) throw daemonError('No command specified');
  // Health check: the flags' fields over the image's.
  let healthcheck: HealthConfig | undefined = opts.healthcheck !== undefined ? { ...opts.healthcheck } : undefined;
  const ih = img.Healthcheck as HealthConfig | undefined;
  if (ih !== undefined && ih !== null) {
    if (healthcheck === undefined) healthcheck = { ...ih };
    else {
      if (healthcheck.Test === undefined || healthcheck.Test.length === 0) healthcheck.Test = ih.Test;
      if (!healthcheck.Interval) healthcheck.Interval = ih.Interval;
      if (!healthcheck.Timeout) healthcheck.Timeout = ih.Timeout;
      if (!healthcheck.StartPeriod) healthcheck.StartPeriod = ih.StartPeriod;
      if (!healthcheck.Retries) healthcheck.Retries = ih.Retries;
    }
  }
  if (healthcheck !== undefined) {
    const h: HealthConfig = {};
    if (healthcheck.Test !== undefined && healthcheck.Test.length > 0) h.Test = healthcheck.Test;
    if (healthcheck.Interval) h.Interval = healthcheck.Interval;
    if (healthcheck.Timeout) h.Timeout = healthcheck.Timeout;
    if (healthcheck.StartPeriod) h.StartPeriod = healthcheck.StartPeriod;
    if (healthcheck.Retries) h.Retries = healthcheck.Retries;
    healthcheck = h;
  }
  const anonymous = opts.volumes.filter((v) => v.spec.type === 'volume' && v.spec.name === undefined).map((v): [string, Record<string, never>] => [v.text, {}]);
  const imageVolumes = Object.keys(img.Volumes ?? {}).map((k): [string, Record<string, never>] => [k, {}]);
  const volumes = anonymous.length + imageVolumes.length > 0 ? sortedMap([...anonymous, ...imageVolumes]) : null;
  const labels = sortedMap([...Object.entries(img.Labels ?? {}), ...Object.entries(opts.labels)]);
  const exposed = Object.keys(img.ExposedPorts ?? {});

  const stopSignal = opts.stopSignal ?? img.StopSignal ?? '';
  return ordered<DockerConfig>([
    ['Hostname', opts.hostname ?? (opts.network === 'host' ? ctx.hostHostname : ctx.id.slice(0, 12))],
    ['Domainname', ''],
    ['User', opts.user ?? img.User ?? ''],
    ['AttachStdin', opts.attachStdin],
    ['AttachStdout', opts.attachStdout],
    ['AttachStderr', opts.attachStderr],
    exposed.length > 0 ? ['ExposedPorts', sortedMap(exposed.map((p): [string, Record<string, never>] => [p, {}]))] : undefined,
    ['Tty', opts.tty],
    ['OpenStdin', opts.openStdin],
    ['StdinOnce', opts.stdinOnce],
    ['Env', env],
    ['Cmd', cmd],
    healthcheck !== undefined ? ['Healthcheck', healthcheck] : undefined,
    ['Image', opts.image],
    ['Volumes', volumes],
    ['WorkingDir', opts.workdir ?? img.WorkingDir ?? ''],
    ['Entrypoint', entrypoint],
    ['OnBuild', null],
    ['Labels', labels],
    stopSignal !== '' ? ['StopSignal', stopSignal] : undefined,
    opts.stopTimeout !== undefined ? ['StopTimeout', opts.stopTimeout] : undefined,
  ]);
}

/** The process a container runs, as dockerd records it: Path and Args. */
export function pathAndArgs(config: Pick<DockerConfig, 'Entrypoint' | 'Cmd'>): { path: string; args: string[] } {
  const ep = config.Entrypoint ?? [];
  const cmd = config.Cmd ?? [];
  const all = ep.length > 0 ? [...ep, ...cmd] : [...cmd];
  return { path: all[0] ?? '', args: all.slice(1) };
}

/** What the host config needs besides the options. */
export interface HostConfigContext {
  /** The OCI runtime that will run it (when `--runtime` is not given). */
  runtime: string;
  /** `host` on cgroup v1 (the container shares the host's cgroup namespace), `private` on v2. */
  cgroupnsMode: 'host' | 'private';
  /** The log driver: `json-file` (Docker's default) or `k8s-file`. */
  logDriver?: string;
}

/** The container's HostConfig, with the defaults dockerd fills in at create. */
export function dockerHostConfig(opts: CreateOptions, ctx: HostConfigContext): DockerHostConfig {
  const binds = opts.volumes.filter((v) => !(v.spec.type === 'volume' && v.spec.name === undefined)).map((v) => v.text);
  return ordered<DockerHostConfig>([
    ['Binds', binds.length > 0 ? binds : null],
    ['ContainerIDFile', ''],
    ['LogConfig', { Type: ctx.logDriver ?? 'json-file', Config: {} }],
    ['NetworkMode', opts.network],
    ['PortBindings', {}],
    ['RestartPolicy', { ...opts.restartPolicy }],
    ['AutoRemove', opts.autoRemove],
    ['VolumeDriver', ''],
    ['VolumesFrom', opts.volumesFrom.length > 0 ? opts.volumesFrom.map((v) => v.text) : null],
    ['CapAdd', opts.capAdd.length > 0 ? [...opts.capAdd] : null],
    ['CapDrop', opts.capDrop.length > 0 ? [...opts.capDrop] : null],
    ['CgroupnsMode', ctx.cgroupnsMode],
    ['Dns', []],
    ['DnsOptions', []],
    ['DnsSearch', []],
    ['ExtraHosts', null],
    ['GroupAdd', null],
    ['IpcMode', 'private'],
    ['Cgroup', ''],
    ['Links', null],
    ['OomScoreAdj', 0],
    ['PidMode', ''],
    ['Privileged', opts.privileged],
    ['PublishAllPorts', false],
    ['ReadonlyRootfs', opts.readOnly],
    ['SecurityOpt', opts.securityOpt.length > 0 ? [...opts.securityOpt] : null],
    opts.tmpfs.length > 0 ? ['Tmpfs', sortedMap(opts.tmpfs.map((t): [string, string] => [t.destination, (t.options ?? []).join(',')]))] : undefined,
    ['UTSMode', ''],
    ['UsernsMode', ''],
    ['ShmSize', opts.shmSize > 0 ? opts.shmSize : DEFAULT_SHM_SIZE],
    ['Runtime', opts.runtime ?? ctx.runtime],
    ['ConsoleSize', [0, 0]],
    ['Isolation', ''],
    ['CpuShares', 0],
    ['Memory', opts.memory],
    ['NanoCpus', opts.nanoCpus],
    ['CgroupParent', ''],
    ['BlkioWeight', 0],
    ['BlkioWeightDevice', []],
    ['BlkioDeviceReadBps', null],
    ['BlkioDeviceWriteBps', null],
    ['BlkioDeviceReadIOps', null],
    ['BlkioDeviceWriteIOps', null],
    ['CpuPeriod', 0],
    ['CpuQuota', 0],
    ['CpuRealtimePeriod', 0],
    ['CpuRealtimeRuntime', 0],
    ['CpusetCpus', ''],
    ['CpusetMems', ''],
    ['Devices', []],
    ['DeviceCgroupRules', null],
    ['DeviceRequests', null],
    ['KernelMemory', 0],
    ['KernelMemoryTCP', 0],
    ['MemoryReservation', 0],
    // dockerd: swap defaults to twice the memory limit.
    ['MemorySwap', opts.memory > 0 && opts.memorySwap === 0 ? opts.memory * 2 : opts.memorySwap],
    ['MemorySwappiness', null],
    ['OomKillDisable', false],
    ['PidsLimit', opts.pidsLimit ?? null],
    ['Ulimits', opts.ulimits.length > 0 ? opts.ulimits.map((u) => ({ Name: u.name, Hard: u.hard, Soft: u.soft })) : null],
    ['CpuCount', 0],
    ['CpuPercent', 0],
    ['IOMaximumIOps', 0],
    ['IOMaximumBandwidth', 0],
    opts.mounts.length > 0 ? ['Mounts', opts.mounts.map((m) => structuredClone(m.mount))] : undefined,
    // A privileged container has none (dockerd leaves them nil).
    ['MaskedPaths', opts.privileged ? null : [...MASKED_PATHS]],
    ['ReadonlyPaths', opts.privileged ? null : [...READONLY_PATHS]],
    opts.init !== undefined ? ['Init', opts.init] : undefined,
  ]);
}
