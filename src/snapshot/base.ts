/**
 * What every snapshot driver shares: snapshot records (and labels) in the store's SQLite
 * database, snapshot files under ROOT/snapshots/<driver>/<id>/fs, and the crash discipline.
 * A driver (overlay.ts, native.ts) extends {@link BaseSnapshotter} with what differs: what a
 * new snapshot's directory holds ({@link BaseSnapshotter.populate}) and which mounts describe
 * a snapshot ({@link BaseSnapshotter.mountsOf}); drivers.ts names them.
 *
 * Committing or removing a snapshot whose files are still mounted is refused.
 *
 * Crash discipline: a new snapshot's directory is made under a temporary name
 * (.tmp-<pid>-<rand>) and filled, then renamed to its id in the same write transaction that
 * inserts its row, so no reader ever sees a row without its files. A removal deletes the row
 * first and then the files (renamed to .trash-<pid>-<rand>). Opening the snapshotter removes
 * what killed processes left: temporary and trash directories of dead processes, and id
 * directories without a row (under the store's write lock). Every tree is removed with
 * rmtree.ts, so no depth or path length makes a snapshot impossible to remove.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync } from 'node:fs';
import { syncfs } from '../native/index.js';
import { randomBytes } from '../random.js';
import { join } from 'node:path';
import { AlreadyExistsError, CairnError, ConflictError, errnoCode, InvalidArgumentError, NotFoundError, PreconditionError } from '../errors.js';
import { type Db, writeTx, writeTxIfFree } from '../metadata/db.js';
import { removeTree } from '../rmtree.js';
import { diskUsage } from './copy.js';
import { checkLabels } from './labels.js';
import { mountsUsing } from './mount.js';
import {
  allIds,
  allLabels,
  allRows,
  chain,
  childCount,
  commitRow,
  deleteRow,
  getRow,
  infoOf,
  insertRow,
  labelsOf,
  replaceLabels,
  setUsage,
  type SnapshotRow,
  updateLabels,
} from './meta.js';
import type { Capabilities, CommitOptions, DriverName, Info, Kind, Labels, Mount, RemoveOptions, SnapshotOptions, Snapshotter, Usage } from './types.js';

const TMP_PREFIX = '.tmp-';
const TRASH_PREFIX = '.trash-';

/** Where a driver keeps its snapshots: the store's database and ROOT/snapshots/<driver>. */
export interface DriverContext {
  db: Db;
  dir: string;
}

/** A storage driver, as the registry (drivers.ts) knows it. */
export interface SnapshotterDriver {
  readonly name: DriverName;
  /** Why this driver cannot be used for snapshots under `base` (ROOT/snapshots) here; undefined when it can. */
  unusable(base: string): Promise<string | undefined>;
  /** The driver's snapshotter over `ctx` (not yet cleaned: the caller runs `cleanup`). */
  open(ctx: DriverContext): BaseSnapshotter;
}

export abstract class BaseSnapshotter implements Snapshotter {
  abstract readonly driver: DriverName;
  abstract readonly capabilities: Readonly<Capabilities>;
  /** ROOT/snapshots/<driver> */
  readonly dir: string;
  protected readonly db: Db;

  constructor(ctx: DriverContext) {
    this.db = ctx.db;
    this.dir = ctx.dir;
  }

  /**
   * Fill the directory of a new snapshot before it is published: `tmp` holds an empty `fs/`;
   * `parent` is the committed parent, if any.
   */
  protected abstract populate(kind: Exclude<Kind, 'committed'>, tmp: string, parent: SnapshotRow | undefined): Promise<void>;

  /** The mounts of active snapshot or view `row`, whose committed parents are `parents` (topmost first). */
  protected abstract mountsOf(row: SnapshotRow, parents: SnapshotRow[]): Mount[];

  async stat(key: string): Promise<Info> {
    const row = this.row(key);
    return infoOf(row, labelsOf(this.db, row.id));
  }

  async update(key: string, labels: Labels): Promise<Info> {
    const checked = checkLabels(labels);
    return writeTx(this.db, () => {
      const row = this.row(key);
      updateLabels(this.db, row.id, checked);
      return infoOf(row, labelsOf(this.db, row.id));
    });
  }

  prepare(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]> {
    return this.create('active', key, parent, opts);
  }

  view(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]> {
    return this.create('view', key, parent, opts);
  }

  async mounts(key: string): Promise<Mount[]> {
    const row = this.row(key);
    if (row.kind === 'committed') {
      throw new PreconditionError(`snapshot ${key} is committed: only active snapshots and views have mounts (make a view of it)`);
    }
    return this.mountsFor(row);
  }

  async commit(name: string, key: string, opts: CommitOptions = {}): Promise<void> {
    checkKey(name);
    const labels = checkLabels(opts.labels);
    const row = this.row(key);
    if (row.kind !== 'active') throw new PreconditionError(`snapshot ${key} is ${row.kind === 'view' ? 'a view' : 'committed'}: only an active snapshot can be committed`);
    if (getRow(this.db, name) !== undefined) throw new AlreadyExistsError(`snapshot ${name} already exists`);
    const parent = this.commitParent(key, row, opts.parent);
    const mountedAt = mountsUsing(this.fsDir(row.id));
    if (mountedAt.length > 0) throw new PreconditionError(`snapshot ${key} is still mounted at ${mountedAt[0]}: unmount it before committing`);
    // The layer's files on the disk before the record that makes it a layer: its writers (the
    // applier, a build step, a container) do not sync file by file, and a power cut after the
    // record's commit reached the disk would otherwise leave a layer whose files are empty or
    // missing. One syncfs of the store's file system: its cost is what was written (this layer).
    const fd = openSync(this.fsDir(row.id), 'r');
    try {
      syncfs(fd);
    } finally {
      closeSync(fd);
    }
    writeTx(this.db, () => {
      const now = getRow(this.db, key);
      if (now === undefined || now.id !== row.id || now.kind !== 'active' || now.parent !== row.parent) {
        throw new ConflictError(`snapshot ${key} changed while it was being committed`);
      }
      if (getRow(this.db, name) !== undefined) throw new AlreadyExistsError(`snapshot ${name} already exists`);
      if (parent !== null) this.committedParent(key, parent);
      commitRow(this.db, key, name, parent);
      replaceLabels(this.db, row.id, labels);
    });
    await this.committed(row.id);
  }

  /** After a commit: what a driver keeps only for active snapshots can go (a crash before leaves it, harmlessly). */
  protected async committed(_id: number): Promise<void> {}

  async remove(key: string, opts: RemoveOptions = {}): Promise<number | undefined> {
    const row = writeTx(this.db, () => {
      const r = this.row(key);
      const children = childCount(this.db, key);
      if (children > 0) {
        throw new ConflictError(`snapshot ${key} has ${children} child snapshot${children === 1 ? '' : 's'}: remove them first`);
      }
      const mountedAt = mountsUsing(this.fsDir(r.id));
      if (mountedAt.length > 0) throw new ConflictError(`snapshot ${key} is mounted at ${mountedAt[0]}: unmount it first`);
      deleteRow(this.db, key);
      return r;
    });
    return this.discard(this.snapDir(row.id), opts.measure === true);
  }

  async reclaim(key: string): Promise<void> {
    const row = this.row(key);
    if (row.kind !== 'active') throw new PreconditionError(`snapshot ${key} is ${row.kind === 'committed' ? 'committed' : 'a view'}: only an active snapshot's files can be reclaimed`);
    const mountedAt = mountsUsing(this.fsDir(row.id));
    if (mountedAt.length > 0) throw new ConflictError(`snapshot ${key} is mounted at ${mountedAt[0]}: unmount it first`);
    // renamed first, so that a crash leaves only trash (a dead process's is removed at start-up)
    await this.discard(this.snapDir(row.id), false);
  }

  isCommitted(key: string): boolean {
    return getRow(this.db, key)?.kind === 'committed';
  }

  /**
   * A committed snapshot's usage is measured the first time it is asked for, then kept (its
   * files never change): committing does not walk the tree a second time.
   */
  async usage(key: string): Promise<Usage> {
    const row = this.row(key);
    if (row.kind === 'committed' && row.size !== null && row.inodes !== null && row.content !== null) return { size: row.size, inodes: row.inodes, content: row.content };
    const usage = await diskUsage(this.fsDir(row.id));
    // kept if no other process is writing now: a reader (system df) never waits for a writer to keep it
    if (row.kind === 'committed') writeTxIfFree(this.db, () => setUsage(this.db, row.id, usage));
    return usage;
  }

  async graphDriverData(key: string): Promise<Record<string, string> | null> {
    const row = this.row(key);
    return this.describe(row, row.parent === null ? [] : chain(this.db, row.parent));
  }

  /** The driver's GraphDriver data of `row` on `parents` (topmost first); none by default. */
  protected describe(_row: SnapshotRow, _parents: SnapshotRow[]): Record<string, string> | null {
    return null;
  }

  async *walk(): AsyncIterable<Info> {
    const labels = allLabels(this.db);
    for (const r of allRows(this.db)) yield infoOf(r, labels.get(r.id) ?? {});
  }

  hasFiles(key: string): boolean {
    const r = getRow(this.db, key);
    return r !== undefined && existsSync(this.fsDir(r.id));
  }

  /** Remove what killed processes left in this driver's directory (see the module comment). */
  async cleanup(alive: (pid: number) => boolean): Promise<void> {
    const names = readdirSync(this.dir);
    for (const name of names) {
      if (!name.startsWith(TMP_PREFIX) && !name.startsWith(TRASH_PREFIX)) continue;
      const pid = Number(name.slice(name.indexOf('-') + 1).split('-', 1)[0]);
      // Our own (work in progress) and live processes' are left alone.
      if (pid === process.pid || (Number.isInteger(pid) && pid > 0 && alive(pid))) continue;
      // Claimed first by a rename of our own: several processes starting at once after a crash
      // each find it, and two removing one tree both fail (entries vanish under each other's walk).
      // The rename has one winner; the others find it gone.
      const mine = this.trashName();
      if (moveAway(join(this.dir, name), mine)) await removeTree(mine);
    }
    // Id directories without a row: looked for without the lock, confirmed and moved under it
    // (a writer may be between renaming its directory and committing its row).
    const known = allIds(this.db);
    const suspects = names.filter((name) => /^[0-9]+$/.test(name) && !known.has(Number(name)));
    if (suspects.length === 0) return;
    const trash = writeTx(this.db, () => {
      const ids = allIds(this.db);
      const out: string[] = [];
      for (const name of suspects) {
        if (ids.has(Number(name))) continue;
        const t = this.trashName();
        if (moveAway(join(this.dir, name), t)) out.push(t);
      }
      return out;
    });
    for (const t of trash) await removeTree(t);
  }

  // -------------------------------------------------------------------------

  /** ROOT/snapshots/<driver>/<id> */
  protected snapDir(id: number): string {
    return join(this.dir, String(id));
  }

  /** ROOT/snapshots/<driver>/<id>/fs: the snapshot's files. */
  protected fsDir(id: number): string {
    return join(this.dir, String(id), 'fs');
  }

  private row(key: string): SnapshotRow {
    const r = getRow(this.db, key);
    if (r === undefined) throw new NotFoundError(`snapshot ${key} not found`);
    return r;
  }

  private mountsFor(row: SnapshotRow): Mount[] {
    return this.mountsOf(row, row.parent === null ? [] : chain(this.db, row.parent));
  }

  private trashName(): string {
    return join(this.dir, `${TRASH_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  private committedParent(key: string, parent: string): SnapshotRow {
    const p = getRow(this.db, parent);
    if (p === undefined) throw new NotFoundError(`parent snapshot ${parent} of ${key} not found`);
    if (p.kind !== 'committed') throw new PreconditionError(`parent snapshot ${parent} of ${key} is ${p.kind === 'view' ? 'a view' : 'active'}: only a committed snapshot can be a parent`);
    return p;
  }

  /** The parent active snapshot `row` is committed on, given the parent a commit asked for. */
  private commitParent(key: string, row: SnapshotRow, asked: string | undefined): string | null {
    if (asked === undefined || asked === row.parent) return row.parent;
    checkKey(asked);
    if (!this.capabilities.rebase) {
      throw new PreconditionError(`storage driver ${this.driver} cannot give snapshot ${key} a parent when committing it: prepare it on ${asked} instead`);
    }
    if (row.parent !== null) {
      throw new PreconditionError(`snapshot ${key} was prepared on ${row.parent}: only a snapshot prepared without a parent can be given one (${asked}) when committed`);
    }
    this.committedParent(key, asked);
    return asked;
  }

  private async create(kind: Exclude<Kind, 'committed'>, key: string, parent: string | undefined, opts: SnapshotOptions = {}): Promise<Mount[]> {
    checkKey(key);
    if (parent !== undefined) checkKey(parent);
    const labels = checkLabels(opts.labels);
    if (getRow(this.db, key) !== undefined) throw new AlreadyExistsError(`snapshot ${key} already exists`);
    const parentRow = parent === undefined ? undefined : this.committedParent(key, parent);
    const tmp = join(this.dir, `${TMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    let row: SnapshotRow;
    const trash: string[] = [];
    try {
      mkdirSync(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
      await this.populate(kind, tmp, parentRow);
      row = writeTx(this.db, () => {
        if (getRow(this.db, key) !== undefined) throw new AlreadyExistsError(`snapshot ${key} already exists`);
        if (parent !== undefined) {
          const p = this.committedParent(key, parent);
          if (p.id !== parentRow!.id) throw new ConflictError(`parent snapshot ${parent} of ${key} was replaced meanwhile`);
        }
        const id = insertRow(this.db, key, kind, parent, this.driver);
        updateLabels(this.db, id, labels);
        const dest = this.snapDir(id);
        // A directory with this id and no row is a killed process's leftover: we hold the write lock.
        if (existsSync(dest)) {
          const t = this.trashName();
          if (moveAway(dest, t)) trash.push(t);
        }
        renameSync(tmp, dest);
        return getRow(this.db, key)!;
      });
    } catch (e) {
      await removeTree(tmp);
      throw e;
    } finally {
      for (const t of trash) await removeTree(t);
    }
    return this.mountsFor(row);
  }

  /**
   * Delete a snapshot directory whose row is gone (renamed first so a crash leaves only trash);
   * with `measure`, its disk use first (undefined when another process moved it first).
   */
  private async discard(dir: string, measure: boolean): Promise<number | undefined> {
    const t = this.trashName();
    if (!moveAway(dir, t)) return measure ? 0 : undefined;
    const freed = measure ? (await diskUsage(t)).size : undefined;
    await removeTree(t);
    return freed;
  }
}

/** A bind mount of `source`, read-only or read-write. */
export function bind(source: string, readonly: boolean): Mount {
  return { type: 'bind', source, options: [readonly ? 'ro' : 'rw', 'rbind'] };
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('a snapshot key must be a non-empty string');
  if (key.includes('\0')) throw new InvalidArgumentError(`snapshot key ${JSON.stringify(key)} contains a NUL byte`);
}

/** Rename `from` to `to`; false if `from` is already gone (another process moved it). */
function moveAway(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw new CairnError('internal', `cannot move ${from} out of the way: ${(e as Error).message}`, { cause: e });
  }
}
