/**
 * Volumes as `system check` sees them: each recorded volume's data directory
 * (ROOT/volumes/<name>/_data) is there, and what crashes left beside the volumes (sweep.ts's
 * leftovers, which the collector's sweep removes). A volume with driver options (tmpfs, a
 * device, NFS) keeps its data elsewhere: its `_data` is only where it is mounted, and can be
 * made again empty; a plain volume's `_data` is its data, which nothing can make again.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import { dataDir } from './layout.js';
import { needsMount } from './options.js';
import { allVolumeRecords, getVolumeRecord } from './records.js';

export { volumeLeftovers, type VolumeLeftover } from './sweep.js';

/** A recorded volume whose data directory is not there. */
export interface MissingVolumeData {
  name: string;
  /** Its `_data` is only a mount point (the volume has driver options): made again empty by {@link restoreMountpoint}. */
  mountpoint: boolean;
}

/** Recorded volumes whose `_data` directory is missing, by name. */
export function missingVolumeData(store: Store): MissingVolumeData[] {
  return allVolumeRecords(store.db)
    .filter((v) => !existsSync(dataDir(store.root, v.name)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((v) => ({ name: v.name, mountpoint: needsMount(v.options) }));
}

/** Make volume `name`'s missing mount point again (only for a volume whose data lives elsewhere); false when there was nothing to do. */
export function restoreMountpoint(store: Store, name: string): boolean {
  const v = getVolumeRecord(store.db, name);
  if (v === undefined) throw new NotFoundError(`volume ${name} not found`);
  if (!needsMount(v.options) || existsSync(dataDir(store.root, name))) return false;
  mkdirSync(dataDir(store.root, name), { recursive: true, mode: 0o755 });
  return true;
}
