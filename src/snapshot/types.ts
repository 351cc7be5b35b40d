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

/**
 * Labels on a snapshot, as containerd has them: free-form name → value strings kept with its
 * record (names non-empty; name and value together at most 4,096 bytes; no NUL bytes).
 * A label whose value is the empty string is not stored: giving one removes that label.
 */
export type Labels = Record<string, string>;

export interface SnapshotOptions {
  /** Labels of the new snapshot. */
  labels?: Labels;
}

export interface CommitOptions {
  /**
   * Labels of the committed snapshot. As in containerd, the committed snapshot has these
   * labels and not the active snapshot's.
   */
  labels?: Labels;
  /**
   * The committed parent of the new snapshot, for an active snapshot prepared WITHOUT a
   * parent (a rebase; only for a driver with `capabilities.rebase`, else PreconditionError).
   * Naming the parent the snapshot was prepared on is allowed and changes nothing; naming
   * another one is a PreconditionError.
   */
  parent?: string;
}

/** What a driver can do beyond the contract every driver keeps. */
export interface Capabilities {
  /**
   * A snapshot's directory holds only its own layer, stacked on its parents when mounted
   * (overlay), so an active snapshot prepared without a parent can be given one when it is
   * committed (`commit(name, key, { parent })`): its layer can be applied before its parent
   * exists. Afterwards its mounts and views stack exactly as if it had been prepared on that
   * parent.
   *
   * For such a driver, the writable directory of an active snapshot prepared without a parent
   * (`writableLayer(mounts).dir`) is a future overlay upper directory, even though its mount
   * is a plain bind mount (and `writableLayer` says deletions: 'remove'): a layer applied
   * there before its parent is known must record deletions as overlay whiteouts (char device
   * 0:0, opaque directories by xattr; the layer applier's whiteoutMode 'overlay'), or they
   * would be lost when the parent is given.
   */
  rebase: boolean;
}

export interface Info {
  key: string;
  /** The committed snapshot this one stacks on; absent for a base snapshot. */
  parent?: string;
  kind: Kind;
  /** When it was made (for a committed snapshot: when it was committed). */
  created: Date;
  /** Its labels (empty when it has none). */
  labels: Labels;
}

export interface RemoveOptions {
  /** Measure what the removal frees (see Snapshotter.remove). */
  measure?: boolean;
}

export interface Usage {
  /** Bytes of disk the snapshot's own files use (allocated blocks; hard links counted once). */
  size: number;
  /** Number of distinct inodes in the snapshot's own files (its root directory included). */
  inodes: number;
  /**
   * Apparent bytes (st_size) of the snapshot's own files that are not directories, hard links
   * counted once: Docker's measure of a layer (pkg/directory.Size — regular files, and symlinks
   * by their target's length; whiteouts and directories count nothing).
   */
  content: number;
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
  /** What this driver can do beyond the common contract. */
  readonly capabilities: Readonly<Capabilities>;
  /** Throws NotFoundError for an unknown key. */
  stat(key: string): Promise<Info>;
  /**
   * Whether `key` is a committed snapshot, answered at once: for checks inside a metadata
   * transaction (which cannot wait), such as recording an image on its layers.
   */
  isCommitted(key: string): boolean;
  /**
   * Set or remove labels of snapshot `key` (of any kind): each label given is set to its
   * value, one given with the empty string as value is removed, the others are kept.
   * Returns the snapshot's Info afterwards. NotFoundError for an unknown key.
   */
  update(key: string, labels: Labels): Promise<Info>;
  /**
   * A new writable snapshot `key` on top of committed `parent` (or empty without one).
   * AlreadyExistsError if `key` exists; NotFoundError / PreconditionError for a missing or
   * non-committed parent.
   */
  prepare(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  /** A new read-only snapshot `key` of committed `parent` (or empty without one). */
  view(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  /** The mounts of an active snapshot or a view (PreconditionError for a committed one). */
  mounts(key: string): Promise<Mount[]>;
  /**
   * Turn active snapshot `key` into committed snapshot `name` (`key` ceases to exist).
   * AlreadyExistsError if `name` exists; PreconditionError if `key` is still mounted, or for
   * a parent given that the driver or the snapshot cannot take (see {@link CommitOptions}).
   */
  commit(name: string, key: string, opts?: CommitOptions): Promise<void>;
  /**
   * Remove a snapshot and its files, however deep its tree. ConflictError for a snapshot
   * with children or still mounted. The snapshot's record goes synchronously, before the
   * first await (its files after): called inside a write transaction, the decision and the
   * removal are one atomic step — the garbage collector (store/gc.ts) relies on it.
   * With `measure`: the disk its directory held (allocated bytes, hard links once, the
   * driver's own directories included), measured once it is out of the way and before it is
   * removed — what the removal gave back, as prune reports it; undefined otherwise.
   */
  remove(key: string, opts?: RemoveOptions): Promise<number | undefined>;
  /**
   * Give the disk space of active snapshot `key` back at once — its files go, its record stays
   * until `remove` (or the collector) takes it: for work that failed, whose record may not be
   * writable right now (a full disk: SQLite cannot grow its log). The snapshot must not be used
   * again, only removed. Nothing to do when its files are gone already. PreconditionError for a
   * committed snapshot or a view; ConflictError while it is mounted; NotFoundError for an
   * unknown key.
   */
  reclaim(key: string): Promise<void>;
  /**
   * Disk use of the snapshot's own files (for overlay: its layer only, not its parents). A
   * committed snapshot's is measured the first time it is asked for and kept: committing
   * does not walk the files again.
   */
  usage(key: string): Promise<Usage>;
  /**
   * The driver's description of committed snapshot `key`, as Docker's `inspect` shows a
   * layer's GraphDriver.Data: overlay gives LowerDir (its parents' directories, topmost first,
   * joined by ":"; absent for a base layer), MergedDir, UpperDir (its own directory) and
   * WorkDir (where a mount of it would put those); null for a driver with nothing to say (as
   * Docker's vfs). NotFoundError for an unknown key.
   */
  graphDriverData(key: string): Promise<Record<string, string> | null>;
  /** Every snapshot, in the order they were made. */
  walk(): AsyncIterable<Info>;
  /**
   * Whether snapshot `key`'s files are on disk (its directory): false for an unknown key, and
   * for a snapshot whose directory something else removed (`system check` reports it).
   */
  hasFiles(key: string): boolean;
}
