/**
 * What a container is, as data: what it was created with (`ContainerSettings`, from `create`'s
 * and `run`'s flags; the image's config is read again when it starts, as Docker does) and its
 * last known state (`ContainerState`, Docker's State: status, pid, exit code, times, and who
 * watches it — a conmon process for a detached container, the cairn process itself for one run
 * in the foreground). Records of these live in the metadata database (records.ts).
 */
import type { Digest } from '../digest/digest.js';
import type { BindMount, TmpfsMount, Ulimit } from '../runtime/spec.js';
import type { RuntimeName } from '../runtime/oci-runtime.js';

/** Docker's container statuses. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** A named or anonymous volume mounted into the container. */
export interface VolumeMountSetting {
  /** The volume's name (an anonymous volume's is made at create). */
  name: string;
  destination: string;
  readOnly?: boolean;
  /** Do not fill an empty volume with the image's content at its mount point. */
  noCopy?: boolean;
  /** Made for this container (`-v /dst`, an image VOLUME): removed with `rm -v` and `--rm`. */
  anonymous?: boolean;
}

/** Docker's Healthcheck config (durations in nanoseconds, as Docker keeps them). */
export interface HealthcheckSetting {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

export interface ContainerSettings {
  /** The image as the user named it. */
  image: string;
  /** Arguments after the image name (replace the image's Cmd). */
  args: string[];
  /** `--entrypoint`: replaces the image's Entrypoint. */
  entrypoint?: string[];
  /** `-e`/`--env-file` in order. */
  env: string[];
  workdir?: string;
  /** `-u` as given (resolved against the image's passwd at start). */
  user?: string;
  /** `--hostname`; default the ID's first 12 characters. */
  hostname?: string;
  tty: boolean;
  /** `-i`: keep stdin open. */
  interactive: boolean;
  readOnly: boolean;
  network: 'host' | 'none';
  memory?: number;
  memorySwap?: number;
  cpus?: number;
  pidsLimit?: number;
  ulimits: Ulimit[];
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  binds: BindMount[];
  tmpfs: TmpfsMount[];
  volumes: VolumeMountSetting[];
  labels: Record<string, string>;
  stopSignal?: string;
  /** Seconds `stop` waits before SIGKILL (default 10). */
  stopTimeout?: number;
  init: boolean;
  /** `--rm`. */
  autoRemove: boolean;
  runtime: RuntimeName;
  healthcheck?: HealthcheckSetting;
  /** `--platform` as asked, for inspect. */
  platform?: string;
  /** What it runs, resolved at create from the image's Entrypoint and Cmd and the flags (Docker's Path and Args). */
  command?: string[];
}

/** Who keeps a started container's stdio and records its exit. */
export interface Monitor {
  kind: 'conmon' | 'foreground';
  pid: number;
  /** The monitor's start time (clock ticks since boot, /proc/PID/stat field 22): a reused pid is not it. */
  startTime: number;
  /** The boot the container ran in (a reboot ends every container). */
  bootId: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

export interface ContainerState {
  status: ContainerStatus;
  /** The container's init process on the host while it runs, else 0. */
  pid: number;
  exitCode: number;
  /** Why cairn could not start it, or what ended it unexpectedly. */
  error: string;
  oomKilled: boolean;
  /** RFC 3339 times; Docker's zero time when never. */
  startedAt: string;
  finishedAt: string;
  monitor?: Monitor;
  /**
   * A foreground `run -t` holds the container through conmon's attach socket: that process
   * reads the exit code and does `--rm` itself (the exit command leaves it the container while
   * it lives).
   */
  attachedBy?: { pid: number; startTime: number };
  health?: HealthState;
}

export interface ContainerRecord {
  /** 64 hex digits. */
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  imageId: Digest;
  /** The key of its writable snapshot. */
  snapshot: string;
  /** RFC 3339. */
  created: string;
  settings: ContainerSettings;
  state: ContainerState;
}

/** Go's zero time as Docker prints it. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return { status: 'created', pid: 0, exitCode: 0, error: '', oomKilled: false, startedAt: ZERO_TIME, finishedAt: ZERO_TIME };
}

/** Whether a status is one of a live container (its processes may exist). */
export function isLive(status: ContainerStatus): boolean {
  return status === 'running' || status === 'paused' || status === 'restarting';
}
