/**
 * What a container is, as data: what it was created with (`ContainerSettings`, from `create`'s
 * and `run`'s flags; the image's config is read again when it starts, as Docker does) and its
 * last known state (`ContainerState`, Docker's State: status, pid, exit code, times, and who
 * watches it — a conmon process for a detached container, the cairn process itself for one run
 * in the foreground). Records of these live in the metadata database (records.ts).
 */
import type { Digest } from '../digest/digest.js';
import type { RuntimeName } from '../runtime/oci-runtime.js';
import type { MountSpec } from './mounts.js';
import type { CreateOptions } from './options.js';

/** Docker's container statuses. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/**
 * What a container was created with: the flags as parsed (options.ts; Docker's Config and
 * HostConfig are made from these and the image's config), and what create resolved from them
 * and the image: the command it runs (Docker's Path and Args), its mounts (named volumes by
 * name, anonymous ones named at create, binds, tmpfs; `--volumes-from` and the image's VOLUMEs
 * included), and its OCI runtime.
 */
export interface ContainerSettings {
  create: CreateOptions;
  command: string[];
  mounts: MountSpec[];
  runtime: RuntimeName;
}

/** The named volumes a container's mounts use, with whether each was made for it (anonymous). */
export function volumesOf(settings: ContainerSettings): Array<{ name: string; anonymous: boolean }> {
  return settings.mounts.flatMap((m) => (m.type === 'volume' && m.name !== undefined ? [{ name: m.name, anonymous: m.anonymous === true }] : []));
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
  /** The named volumes acquired for this run (released once when it ends, in the same boot). */
  volumes?: { bootId: string; names: string[] };
  /** `restart` is stopping and starting it: its end does not remove it (`--rm`), as Docker keeps it. */
  restarting?: true;
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
