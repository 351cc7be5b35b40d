/**
 * The snapshotter: snapshot records in the store's SQLite database, snapshot files under
 * ROOT/snapshots/<driver>/<id>/{fs,work}, and the two drivers' differences (what a new
 * snapshot's directory holds, and which mounts describe it).
 *
 *   overlay  a snapshot's fs/ holds only its own layer; mounts stack the committed parents
 *            as lower directories (topmost first) under fs/ as the upper, work/ as overlay's
 *            work directory. A base or single-parent view is a plain bind mount.
 *   native   a writable snapshot's fs/ is a full copy of its parent (reflinks where the
 *            file system has them); every mount is a bind mount. A view binds its parent
 *            read-only, since a committed snapshot never changes.
 *
 * Committing or removing a snapshot whose files are still mounted is refused.
 *
 * Crash discipline: a new snapshot's directory is made under a temporary name
 * (.tmp-<pid>-<rand>) and filled, then renamed to its id in the same write transaction that
 * inserts its row, so no reader ever sees a row without its files. A removal deletes the row
 * first and then the files (renamed to .trash-<pid>-<rand>). Opening the snapshotter removes
 * what killed processes left: temporary and trash directories of dead processes, and id
 * directories without a row (under the store's write lock).
 */
import * as fsp from 'node:fs/promises';
import { existsSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AlreadyExistsError, CairnError, ConflictError, errnoCode, InvalidArgumentError, NotFoundError, PreconditionError } from '../errors.js';
import { type Db, writeTx } from '../metadata/db.js';
import { copyTree, diskUsage } from './copy.js';
import { pinnedOverlayOptions } from './detect.js';
import { mountsUsing } from './mount.js';
import { allIds, allRows, chain, childCount, commitRow, deleteRow, getRow, infoOf, insertRow, type SnapshotRow } from './meta.js';
import type { DriverName, Info, Kind, Mount, Snapshotter, Usage } from './types.js';

const TMP_PREFIX = '.tmp-';
const TRASH_PREFIX = '.trash-';

export class DirSnapshotter implements Snapshotter {
  readonly driver: DriverName;
  /** ROOT/snapshots/<driver> */
  readonly dir: string;
  private readonly db: Db;

  constructor(db: Db, dir: string, driver: DriverName) {
    this.db = db;
    this.dir = dir;
    this.driver = driver;
  }

  async stat(key: string): Promise<Info> {
    return infoOf(this.row(key));
  }

  prepare(key: string, parent?: string): Promise<Mount[]> {
    return this.create('active', key, parent);
  }

  view(key: string, parent?: string): Promise<Mount[]> {
    return this.create('view', key, parent);
  }

  async mounts(key: string): Promise<Mount[]> {
    const row = this.row(key);
    if (row.kind === 'committed') {
      throw new PreconditionError(`snapshot ${key} is committed: only active snapshots and views have mounts (make a view of it)`);
    }
    return this.mountsOf(row);
  }

  async commit(name: string, key: string): Promise<void> {
    checkKey(name);
    const row = this.row(key);
    if (row.kind !== 'active') throw new PreconditionError(`snapshot ${key} is ${row.kind === 'view' ? 'a view' : 'committed'}: only an active snapshot can be committed`);
    if (getRow(this.db, name) !== undefined) throw new AlreadyExistsError(`snapshot ${name} already exists`);
    const mountedAt = mountsUsing(this.fsDir(row.id));
    if (mountedAt.length > 0) throw new PreconditionError(`snapshot ${key} is still mounted at ${mountedAt[0]}: unmount it before committing`);
    const usage = await diskUsage(this.fsDir(row.id));
    writeTx(this.db, () => {
      const now = getRow(this.db, key);
      if (now === undefined || now.id !== row.id || now.kind !== 'active') {
        throw new ConflictError(`snapshot ${key} changed while it was being committed`);
      }
      if (getRow(this.db, name) !== undefined) throw new AlreadyExistsError(`snapshot ${name} already exists`);
      commitRow(this.db, key, name, usage);
    });
  }

  async remove(key: string): Promise<void> {
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
    await this.discard(join(this.dir, String(row.id)));
  }

  async usage(key: string): Promise<Usage> {
    const row = this.row(key);
    if (row.kind === 'committed' && row.size !== null && row.inodes !== null) return { size: row.size, inodes: row.inodes };
    return diskUsage(this.fsDir(row.id));
  }

  async *walk(): AsyncIterable<Info> {
    for (const r of allRows(this.db)) yield infoOf(r);
  }

  /** Remove what killed processes left in this driver's directory (see the module comment). */
  async cleanup(alive: (pid: number) => boolean): Promise<void> {
    const names = await fsp.readdir(this.dir);
    for (const name of names) {
      if (!name.startsWith(TMP_PREFIX) && !name.startsWith(TRASH_PREFIX)) continue;
      const pid = Number(name.slice(name.indexOf('-') + 1).split('-', 1)[0]);
      // Our own (work in progress) and live processes' are left alone.
      if (pid === process.pid || (Number.isInteger(pid) && pid > 0 && alive(pid))) continue;
      await fsp.rm(join(this.dir, name), { recursive: true, force: true });
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
    for (const t of trash) await fsp.rm(t, { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------

  private row(key: string): SnapshotRow {
    const r = getRow(this.db, key);
    if (r === undefined) throw new NotFoundError(`snapshot ${key} not found`);
    return r;
  }

  private snapDir(id: number): string {
    return join(this.dir, String(id));
  }

  private fsDir(id: number): string {
    return join(this.dir, String(id), 'fs');
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

  private async create(kind: Kind, key: string, parent?: string): Promise<Mount[]> {
    checkKey(key);
    if (parent !== undefined) checkKey(parent);
    if (getRow(this.db, key) !== undefined) throw new AlreadyExistsError(`snapshot ${key} already exists`);
    const parentRow = parent === undefined ? undefined : this.committedParent(key, parent);
    const tmp = join(this.dir, `${TMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    let row: SnapshotRow;
    const trash: string[] = [];
    try {
      await fsp.mkdir(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
      if (this.driver === 'overlay' && kind === 'active') await fsp.mkdir(join(tmp, 'work'), { mode: 0o700 });
      if (this.driver === 'native' && kind === 'active' && parentRow !== undefined) {
        await copyTree(this.fsDir(parentRow.id), join(tmp, 'fs'));
      }
      row = writeTx(this.db, () => {
        if (getRow(this.db, key) !== undefined) throw new AlreadyExistsError(`snapshot ${key} already exists`);
        if (parent !== undefined) {
          const p = this.committedParent(key, parent);
          if (p.id !== parentRow!.id) throw new ConflictError(`parent snapshot ${parent} of ${key} was replaced meanwhile`);
        }
        const id = insertRow(this.db, key, kind, parent, this.driver);
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
      await fsp.rm(tmp, { recursive: true, force: true });
      throw e;
    } finally {
      for (const t of trash) await fsp.rm(t, { recursive: true, force: true });
    }
    return this.mountsOf(row);
  }

  /** Delete a snapshot directory whose row is gone (renamed first so a crash leaves only trash). */
  private async discard(dir: string): Promise<void> {
    const t = this.trashName();
    if (moveAway(dir, t)) await fsp.rm(t, { recursive: true, force: true });
  }

  private mountsOf(row: SnapshotRow): Mount[] {
    const parents = row.parent === null ? [] : chain(this.db, row.parent);
    const own = this.fsDir(row.id);
    if (row.kind === 'view') {
      if (parents.length === 0) return [bind(own, true)];
      if (this.driver === 'native' || parents.length === 1) return [bind(this.fsDir(parents[0]!.id), true)];
      return [
        {
          type: 'overlay',
          source: 'overlay',
          options: ['ro', ...pinnedOverlayOptions()],
          lowerdirs: parents.map((p) => this.fsDir(p.id)),
        },
      ];
    }
    if (this.driver === 'native' || parents.length === 0) return [bind(own, false)];
    return [
      {
        type: 'overlay',
        source: 'overlay',
        options: ['rw', ...pinnedOverlayOptions()],
        lowerdirs: parents.map((p) => this.fsDir(p.id)),
        upperdir: own,
        workdir: join(this.snapDir(row.id), 'work'),
      },
    ];
  }
}

function bind(source: string, readonly: boolean): Mount {
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
