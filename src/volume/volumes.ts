/**
 * Volumes as Docker's local driver keeps them: `create`, `ls`, `inspect`, `rm` and `prune` on
 * a store. A volume is a record (records.ts) plus a directory outside every layer
 * (layout.ts); it becomes visible whole — its directory is made under a work name and renamed
 * into place in the same write transaction that records it — and goes whole: record deleted
 * and directory renamed away in one transaction, then the tree removed.
 *
 * Whether a volume is in use is not this module's to know (containers are another module's
 * records): callers pass `inUse`, which names the containers using a volume.
 */
import { existsSync, mkdirSync, renameSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { CairnError, ConflictError, NotFoundError } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { intendRemoval, removed as removedRecord } from '../metadata/records.js';
import { removeTree } from '../rmtree.js';
import type { Store } from '../store/store.js';
import { parseVolumeFilters } from './filters.js';
import { dataDir, volumeDir, volumesDir, workName } from './layout.js';
import { withVolumeLock } from './lock.js';
import { mountsUnder, unmountVolume } from './mount.js';
import { naturalCompare, randomVolumeName, validateVolumeName } from './names.js';
import { validateOptions, type VolumeOptions } from './options.js';
import { allVolumeRecords, deleteVolumeRecord, getVolumeRecord, insertVolumeRecord, type VolumeRecord } from './records.js';
import { diskUsage } from '../snapshot/index.js';
import { sweepVolumeLeftovers } from './sweep.js';

/** The one driver cairn has. */
export const LOCAL_DRIVER = 'local';

export interface Volume {
  name: string;
  driver: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Labels; null when the creator gave none (a volume a container made), as Docker shows it. */
  labels: Record<string, string> | null;
  /** The local driver's options (type, device, o); null when the creator gave none. */
  options: VolumeOptions | null;
  /** Made by a container for an anonymous mount (`-v /path`, an image's VOLUME): `rm -v` removes it. */
  anonymous: boolean;
  /** Where the volume's data is on the host: ROOT/volumes/NAME/_data (Docker's Mountpoint). */
  mountpoint: string;
}

/**
 * The containers (IDs or names) that use volume `name`, running or not; empty when none.
 * Docker counts a stopped container as a user: its volumes cannot be removed or pruned.
 */
export type VolumeUsers = (name: string) => string[];

export const NO_USERS: VolumeUsers = () => [];

export interface CreateVolumeOptions {
  /** Default: 64 random hex digits. */
  name?: string;
  /** Only `local` (the default). */
  driver?: string;
  /** `type`, `device`, `o` as Docker's local driver takes them; the volume is then mounted when used. */
  options?: VolumeOptions;
  labels?: Record<string, string>;
  anonymous?: boolean;
}

/** A copy with its keys in order, as Go writes a map (kept so in the record). */
function sortedMap(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function toVolume(root: string, r: VolumeRecord): Volume {
  return { name: r.name, driver: r.driver, createdAt: Date.parse(r.createdAt), labels: r.labels, options: r.options, anonymous: r.anonymous, mountpoint: dataDir(root, r.name) };
}

/**
 * `volume create`: a new volume, or the one already under that name (Docker returns it as it
 * is, whatever labels or options were asked for). Docker's errors, prefixed `create NAME: `.
 */
export async function createVolume(store: Store, opts: CreateVolumeOptions = {}): Promise<Volume> {
  const name = opts.name || randomVolumeName();
  const driver = opts.driver || LOCAL_DRIVER;
  if (driver !== LOCAL_DRIVER) throw new NotFoundError(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  const existing = getVolumeRecord(store.db, name);
  if (existing) return toVolume(store.root, existing);
  const dir = volumeDir(store.root, name);
  validateVolumeName(name, dir);
  if (opts.options) validateOptions(name, opts.options);

  const base = volumesDir(store.root);
  mkdirSync(base, { recursive: true, mode: 0o701 });
  // Made whole under a work name first: a crash leaves only a work directory (sweep.ts).
  const tmp = join(base, workName('tmp'));
  mkdirSync(tmp, { mode: 0o701 });
  mkdirSync(join(tmp, '_data'));
  chmodSync(tmp, 0o701);
  chmodSync(join(tmp, '_data'), 0o755);
  const record: VolumeRecord = {
    name,
    driver,
    createdAt: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString(),
    labels: opts.labels ? sortedMap(opts.labels) : null,
    options: opts.options ? sortedMap(opts.options) : null,
    anonymous: opts.anonymous ?? false,
  };
  let trash: string | undefined;
  let placed = false;
  try {
    const made = writeTx(store.db, () => {
      // Another process made it meanwhile: that one is the volume.
      const other = getVolumeRecord(store.db, name);
      if (other) return other;
      insertVolumeRecord(store.db, record);
      // A directory without a record is a crash's leftover (creators hold this lock from rename to commit).
      if (existsSync(dir)) {
        trash = join(base, workName('trash'));
        renameSync(dir, trash);
      }
      renameSync(tmp, dir);
      placed = true;
      return record;
    });
    return toVolume(store.root, made);
  } catch (e) {
    // The transaction rolled back (the record is not there): the directory goes back to its work name.
    if (placed) renameSync(dir, tmp);
    throw e;
  } finally {
    await removeTree(tmp);
    if (trash !== undefined) await removeTree(trash);
  }
}

/** `volume ls`: the volumes `filters` (Docker's KEY=VALUE words) select, in Docker's order (natural, by name). */
export function listVolumes(store: Store, opts: { filters?: readonly string[]; inUse?: VolumeUsers } = {}): Volume[] {
  const filter = parseVolumeFilters(opts.filters ?? [], 'list');
  const inUse = opts.inUse ?? NO_USERS;
  return allVolumeRecords(store.db)
    .filter((r) => filter.matches(r, () => inUse(r.name).length > 0))
    .sort((a, b) => naturalCompare(a.name, b.name))
    .map((r) => toVolume(store.root, r));
}

/** One volume; Docker's "No such volume: NAME" when there is none. */
export function inspectVolume(store: Store, name: string): Volume {
  const r = getVolumeRecord(store.db, name);
  if (!r) throw new NotFoundError(`No such volume: ${name}`);
  return toVolume(store.root, r);
}

export interface RemoveVolumeOptions {
  /**
   * A volume that is not there is no error (Docker's `rm -f`), and a count of users that were
   * never released (a user killed before it could) does not keep the volume. Containers that
   * use it always do.
   */
  force?: boolean;
  inUse?: VolumeUsers;
}

/**
 * `volume rm`: the record and the data. Refused while a container uses the volume (Docker's
 * "remove NAME: volume is in use - [IDs]"). What is still mounted on its directory (a volume
 * with options nobody released) is unmounted first, and nothing is removed while anything is.
 * Returns false when `force` and there was no such volume.
 */
export async function removeVolume(store: Store, name: string, opts: RemoveVolumeOptions = {}): Promise<boolean> {
  const inUse = opts.inUse ?? NO_USERS;
  const missing = (): boolean => {
    if (opts.force) return false;
    throw new NotFoundError(`No such volume: ${name}`);
  };
  if (!getVolumeRecord(store.db, name)) return missing();
  const dir = volumeDir(store.root, name);
  if (!existsSync(dir)) {
    // A record whose directory went (by hand): nothing to lock, the record goes.
    writeTx(store.db, () => deleteVolumeRecord(store.db, name));
    return true;
  }
  const trashName = workName('trash');
  const trash = join(volumesDir(store.root), trashName);
  // the trash's removal is recorded with the record's: a kill before it is gone leaves it to
  // the next process to open the store (Store.open), not to a collection or a check --repair
  const intent = `volumes/${trashName}`;
  const removed = await withVolumeLock(store.root, name, async (users) => {
    if (!getVolumeRecord(store.db, name)) return missing();
    const by = inUse(name);
    if (by.length > 0) throw new ConflictError(`remove ${name}: volume is in use - [${by.join(', ')}]`);
    if (users.count > 0 && !opts.force) {
      throw new ConflictError(`remove ${name}: volume is in use - [${users.count} user${users.count === 1 ? '' : 's'} outside any container; --force removes it anyway]`);
    }
    for (const m of mountsUnder(dir).reverse()) unmountVolume(m);
    const left = mountsUnder(dir);
    if (left.length > 0) throw new CairnError('internal', `remove ${name}: ${left[0]} is still mounted`);
    let moved = false;
    try {
      writeTx(store.db, () => {
        deleteVolumeRecord(store.db, name);
        intendRemoval(store.db, process.pid, intent);
        renameSync(dir, trash);
        moved = true;
      });
    } catch (e) {
      // The record stays (rolled back): so does the directory.
      if (moved) renameSync(trash, dir);
      throw e;
    }
    return true;
  });
  if (removed) {
    await removeTree(trash);
    writeTx(store.db, () => removedRecord(store.db, process.pid, intent));
  }
  return removed;
}

export interface PruneResult {
  /** The volumes removed, in the order removed. */
  deleted: string[];
  /** Bytes of disk their directories held (allocated blocks, hard links once), measured before each went. */
  reclaimed: number;
}

export interface PruneVolumesOptions {
  /** Docker's KEY=VALUE words: `label=`, `label!=`, and (Docker 23+) `all=true|false`. */
  filters?: readonly string[];
  /** Named volumes too (`volume prune -a`); else only anonymous ones, as Docker 23+ prunes. */
  all?: boolean;
  inUse?: VolumeUsers;
}

/**
 * `volume prune`, as Docker 23+'s: the anonymous local volumes no container uses (with `all`,
 * named ones too), except those with driver options (Docker skips them: their data is not the
 * store's), narrowed by `label=` / `label!=` filters. Also removes what crashed creations and
 * removals left under ROOT/volumes. The space reported is what the removals gave back on disk.
 */
export async function pruneVolumes(store: Store, opts: PruneVolumesOptions = {}): Promise<PruneResult> {
  const filter = parseVolumeFilters(opts.filters ?? [], 'prune');
  const all = opts.all === true || filter.all === true;
  const inUse = opts.inUse ?? NO_USERS;
  await sweepVolumeLeftovers(store);
  const result: PruneResult = { deleted: [], reclaimed: 0 };
  const candidates = allVolumeRecords(store.db)
    .filter((r) => r.driver === LOCAL_DRIVER && (r.options === null || Object.keys(r.options).length === 0))
    .filter((r) => (all || r.anonymous) && filter.matches(r, () => false) && inUse(r.name).length === 0)
    .sort((a, b) => naturalCompare(a.name, b.name));
  for (const r of candidates) {
    const dir = volumeDir(store.root, r.name);
    const size = existsSync(dir) ? (await diskUsage(dir)).size : 0;
    try {
      await removeVolume(store, r.name, { inUse });
    } catch (e) {
      // Taken into use meanwhile (it stays, as Docker leaves a volume it cannot remove), or
      // removed meanwhile by another process (not this prune's to report).
      if (e instanceof ConflictError || e instanceof NotFoundError) continue;
      throw e;
    }
    result.deleted.push(r.name);
    result.reclaimed += size;
  }
  return result;
}
