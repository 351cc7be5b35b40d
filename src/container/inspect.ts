/**
 * `docker inspect CONTAINER`: Docker 20.10's JSON object of a container (types.ContainerJSON),
 * keys in Docker's order with Docker's zero values (`null`, `[]`, `""`, `0001-01-01T00:00:00Z`)
 * as dockerd prints them, from a container's facts given as data. *pure*
 *
 * Config and HostConfig are made by config.ts (dockerConfig, dockerHostConfig) at create and
 * kept; Mounts entries by mounts.ts (dockerMountPoint). cairn's own values where Docker's
 * cannot apply: the GraphDriver is cairn's snapshotter (`overlay`, with the layer directories
 * of the container's snapshot; `native` has none), NetworkSettings has the one network the
 * container has (`host` or `none`), no IP addresses and no ports.
 */
import type { DockerConfig, DockerHostConfig } from './config.js';
import { pathAndArgs } from './config.js';
import type { DockerMountPoint } from './mounts.js';

/** Go's zero time.Time in RFC 3339: Docker's StartedAt/FinishedAt before they happen. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** A time as Go's RFC3339Nano prints a UTC time.Time: `2026-12-04T02:26:54.825129969Z` (trailing zeros dropped). */
export function rfc3339Nano(ms: number, nanosWithinMs = 0): string {
  const d = new Date(ms);
  const iso = d.toISOString(); // 2026-12-04T02:26:54.825Z
  const base = iso.slice(0, 19);
  const frac = `${String(d.getUTCMilliseconds()).padStart(3, '0')}${String(Math.trunc(nanosWithinMs)).padStart(6, '0')}`.replace(/0+$/, '');
  return `${base}${frac === '' ? '' : `.${frac}`}Z`;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** One health check run, Docker's types.HealthcheckResult (times RFC3339Nano). */
export interface HealthcheckResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** A container's health, Docker's types.Health. */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthcheckResult[];
}

/** What a container's last known state is (a container record's `state`). */
export interface ContainerStateInput {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  /** Why it failed to start, else ``. */
  error: string;
  oomKilled: boolean;
  /** RFC3339Nano, or undefined when it never started. */
  startedAt?: string;
  /** RFC3339Nano, or undefined when it never stopped. */
  finishedAt?: string;
  /** Present once a container with a health check has started. */
  health?: HealthState;
}

/** The facts `inspect` prints about a container. */
export interface ContainerInspectInput {
  /** 64 hex digits. */
  id: string;
  /** Without the leading `/`. */
  name: string;
  /** RFC3339Nano. */
  created: string;
  /** `sha256:...`. */
  imageId: string;
  config: DockerConfig;
  hostConfig: DockerHostConfig;
  /** The process; default: from the config's Entrypoint and Cmd. */
  path?: string;
  args?: string[];
  state: ContainerStateInput;
  /** The container's files made for it (empty strings before its first start, as Docker). */
  resolvConfPath?: string;
  hostnamePath?: string;
  hostsPath?: string;
  logPath?: string;
  restartCount?: number;
  /** The snapshotter (`overlay`, `native`). */
  driver: string;
  /** The snapshot's directories (overlay: LowerDir joined with `:`, topmost first; MergedDir, UpperDir, WorkDir); null when the driver has none. */
  graphDriverData: { LowerDir?: string; MergedDir?: string; UpperDir?: string; WorkDir?: string } | null;
  mounts: DockerMountPoint[];
  /** Ids of its running execs. */
  execIds?: string[];
  /** Its network namespace (`/proc/PID/ns/net`) while it runs with its own. */
  sandboxKey?: string;
  /** With `--size`. */
  sizeRw?: number;
  sizeRootFs?: number;
}

/** Docker's types.ContainerState. */
export interface DockerContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

/** Docker's network.EndpointSettings, as an endpoint without addresses prints. */
export interface DockerEndpointSettings {
  IPAMConfig: null;
  Links: string[] | null;
  Aliases: string[] | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
}

/** Docker's types.NetworkSettings. */
export interface DockerNetworkSettings {
  Bridge: string;
  SandboxID: string;
  HairpinMode: boolean;
  LinkLocalIPv6Address: string;
  LinkLocalIPv6PrefixLen: number;
  Ports: Record<string, unknown>;
  SandboxKey: string;
  SecondaryIPAddresses: null;
  SecondaryIPv6Addresses: null;
  EndpointID: string;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
  Networks: Record<string, DockerEndpointSettings>;
}

/** Docker's types.ContainerJSON. */
export interface DockerContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: DockerContainerState;
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: DockerHostConfig;
  GraphDriver: { Data: Record<string, string> | null; Name: string };
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: DockerMountPoint[];
  Config: DockerConfig;
  NetworkSettings: DockerNetworkSettings;
}

/** Docker's State of a container: Running stays true while paused, as dockerd has it. */
export function dockerState(s: ContainerStateInput): DockerContainerState {
  const out: DockerContainerState = {
    Status: s.status,
    Running: s.status === 'running' || s.status === 'paused' || s.status === 'restarting',
    Paused: s.status === 'paused',
    Restarting: s.status === 'restarting',
    OOMKilled: s.oomKilled,
    Dead: s.status === 'dead',
    Pid: s.pid,
    ExitCode: s.exitCode,
    Error: s.error,
    StartedAt: s.startedAt ?? GO_ZERO_TIME,
    FinishedAt: s.finishedAt ?? GO_ZERO_TIME,
  };
  if (s.health !== undefined) out.Health = { Status: s.health.Status, FailingStreak: s.health.FailingStreak, Log: s.health.Log.map((r) => ({ ...r })) };
  return out;
}

function endpoint(): DockerEndpointSettings {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    NetworkID: '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: '',
    DriverOpts: null,
  };
}

/** NetworkSettings of a container on `network` (host or none): no addresses, no ports. */
export function dockerNetworkSettings(network: string, sandboxKey = ''): DockerNetworkSettings {
  return {
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: {},
    SandboxKey: sandboxKey,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    Networks: { [network]: endpoint() },
  };
}

/** `docker inspect`'s object for one container. */
export function inspectContainer(c: ContainerInspectInput): DockerContainerInspect {
  const proc = c.path !== undefined ? { path: c.path, args: c.args ?? [] } : pathAndArgs(c.config);
  const out: Record<string, unknown> = {
    Id: c.id,
    Created: c.created,
    Path: proc.path,
    Args: [...proc.args],
    State: dockerState(c.state),
    Image: c.imageId,
    ResolvConfPath: c.resolvConfPath ?? '',
    HostnamePath: c.hostnamePath ?? '',
    HostsPath: c.hostsPath ?? '',
    LogPath: c.logPath ?? '',
    Name: `/${c.name}`,
    RestartCount: c.restartCount ?? 0,
    Driver: c.driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: c.execIds !== undefined && c.execIds.length > 0 ? [...c.execIds] : null,
    HostConfig: structuredClone(c.hostConfig),
    GraphDriver: { Data: graphData(c.graphDriverData), Name: c.driver },
  };
  // Only with --size, between GraphDriver and Mounts.
  if (c.sizeRw !== undefined) out['SizeRw'] = c.sizeRw;
  if (c.sizeRootFs !== undefined) out['SizeRootFs'] = c.sizeRootFs;
  out['Mounts'] = c.mounts.map(mountPoint);
  out['Config'] = structuredClone(c.config);
  out['NetworkSettings'] = dockerNetworkSettings(c.hostConfig.NetworkMode, c.sandboxKey);
  return out as unknown as DockerContainerInspect;
}

function graphData(d: ContainerInspectInput['graphDriverData']): Record<string, string> | null {
  if (d === null) return null;
  const out: Record<string, string> = {};
  for (const k of ['LowerDir', 'MergedDir', 'UpperDir', 'WorkDir'] as const) if (d[k] !== undefined) out[k] = d[k]!;
  return out;
}

/** A Mounts entry in Docker's key order (Name and Driver only for volumes). */
function mountPoint(m: DockerMountPoint): DockerMountPoint {
  return {
    Type: m.Type,
    ...(m.Name !== undefined ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Driver !== undefined ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  };
}
