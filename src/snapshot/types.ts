/**
 * The snapshotter contract (containerd-shaped): layer file systems as keyed snapshots.
 *
 * A snapshot is `active` (writable, made by `prepare`), a `view` (read-only, made by `view`)
 * or `committed` (read-only, made from an active one by `commit`; the only kind that can be a
 * parent). Committed layers are keyed by their chainID by convention of the callers.
 *
 * A snapshotter never mounts anything: `prepare`, `view` and `mounts` return {@link Mount}
 * values, plain data that `mount.ts` (or a test) performs where and when the caller decides.
 */

export type DriverName = 'overlay' | 'native';
export const DRIVER_NAMES: readonly DriverName[] = ['overlay', 'native'];

export type Kind = 'active' | 'view' | 'committed';

export interface Info {
  key: string;
  /** The committed snapshot this one stacks on; absent for a base snapshot. */
  parent?: string;
  kind: Kind;
  /** When it was made (for a committed snapshot: when it was committed). */
  created: Date;
}

export interface Usage {
  /** Bytes of disk the snapshot's own files use (allocated blocks; hard links counted once). */
  size: number;
  /** Number of distinct inodes in the snapshot's own files (its root directory included). */
  inodes: number;
}

/**
 * One mount, as data. `type: 'overlay'` has `lowerdirs` (topmost first) and, when writable,
 * `upperdir` + `workdir`; `options` hold further overlay options ("index=off") and "ro"/"rw".
 * `type: 'bind'` mounts `source`; options "rbind" or "bind", and "ro"/"rw".
 * `target`, when set, is a path relative to the mount point given to `mountAll`.
 */
export interface Mount {
  type: 'overlay' | 'bind';
  source: string;
  target?: string;
  options: string[];
  lowerdirs?: string[];
  upperdir?: string;
  workdir?: string;
}

export interface Snapshotter {
  /** The driver this snapshotter uses (also recorded in the store). */
  readonly driver: DriverName;
  /** Throws NotFoundError for an unknown key. */
  stat(key: string): Promise<Info>;
  /**
   * A new writable snapshot `key` on top of committed `parent` (or empty without one).
   * AlreadyExistsError if `key` exists; NotFoundError / PreconditionError for a missing or
   * non-committed parent.
   */
  prepare(key: string, parent?: string): Promise<Mount[]>;
  /** A new read-only snapshot `key` of committed `parent` (or empty without one). */
  view(key: string, parent?: string): Promise<Mount[]>;
  /** The mounts of an active snapshot or a view (PreconditionError for a committed one). */
  mounts(key: string): Promise<Mount[]>;
  /**
   * Turn active snapshot `key` into committed snapshot `name` (`key` ceases to exist).
   * AlreadyExistsError if `name` exists; PreconditionError if `key` is still mounted.
   */
  commit(name: string, key: string): Promise<void>;
  /** Remove a snapshot and its files. ConflictError for a snapshot with children or still mounted. */
  remove(key: string): Promise<void>;
  /** Disk use of the snapshot's own files (for overlay: its layer only, not its parents). */
  usage(key: string): Promise<Usage>;
  /** Every snapshot, in the order they were made. */
  walk(): AsyncIterable<Info>;
}
