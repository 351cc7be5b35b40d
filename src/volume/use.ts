/**
 * Volumes in use by containers: `acquireVolume` before a container mounts a volume, and
 * `releaseVolume` once it no longer does. A volume with driver options is mounted at its
 * mount point by its first user and unmounted when its last user releases it, as Docker's
 * local driver does; the users are counted in the volume's lock file (lock.ts), so that
 * short-lived cairn processes share one count. The mount table is the truth the count is
 * checked against: a volume with options that is not mounted has no users, whatever its count
 * says (a user killed before it released, a mount undone by hand), and a mount nobody counted
 * (a user killed between mounting and counting) is taken as the volume's.
 */
import type { Store } from '../store/store.js';
import { NotFoundError } from '../errors.js';
import { dataDir } from './layout.js';
import { withVolumeLock } from './lock.js';
import { isMountPoint, mountVolume, unmountVolume } from './mount.js';
import { needsMount } from './options.js';
import { getVolumeRecord } from './records.js';

/**
 * One more user of volume `name`: mounted first if it has options and is not mounted yet.
 * Returns the host path to bind into the container (its Mountpoint). Every acquire needs
 * one release.
 */
export async function acquireVolume(store: Store, name: string): Promise<string> {
  return withVolumeLock(store.root, name, async (users) => {
    const r = getVolumeRecord(store.db, name);
    if (!r) throw new NotFoundError(`No such volume: ${name}`);
    const data = dataDir(store.root, name);
    let count = users.count;
    if (r.options !== null && needsMount(r.options) && !isMountPoint(data)) {
      count = 0;
      await mountVolume(r.options, data);
    }
    users.set(count + 1);
    return data;
  });
}

/**
 * One user less; the last one unmounts a volume with options. Returns how many users are
 * left. A volume that is gone (removed with --force) has none left to release.
 */
export async function releaseVolume(store: Store, name: string): Promise<number> {
  if (!getVolumeRecord(store.db, name)) return 0;
  return withVolumeLock(store.root, name, async (users) => {
    const r = getVolumeRecord(store.db, name);
    if (!r) return 0;
    const left = Math.max(0, users.count - 1);
    users.set(left);
    if (left === 0 && needsMount(r.options)) unmountVolume(dataDir(store.root, name));
    return left;
  });
}
