/**
 * An empty volume filled with what the image has at the volume's mount point, the first time
 * a container mounts it, as Docker does (`nocopy` is the caller's to honour): every entry with
 * its owner, mode, extended attributes, times, symlinks as symlinks and hard links as hard
 * links (snapshot/copy.ts), and the directory's own owner and mode onto the volume's root. A
 * volume that holds anything is left alone.
 *
 * The source is read without ever following a symlink out of it: the directory itself is
 * opened with O_NOFOLLOW (a symlink there is nothing to copy: the caller resolves the mount
 * point inside the root filesystem first — runtime/rootpath.ts — and passes the host path)
 * and read through its descriptor, and no symlink below it is followed.
 *
 * When nothing else uses the volume and its data is not a mount of its own, the copy is made
 * beside the data directory and renamed over it, so a copy cut short by a crash leaves the
 * volume empty (and filled at the next use) rather than half full; otherwise it is made in
 * place, as Docker makes it.
 */
import { closeSync, constants as fsc, mkdirSync, openSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { NotFoundError, errnoCode } from '../errors.js';
import { removeTree } from '../rmtree.js';
import { copyTree } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { dataDir, volumeDir, workName, workOwner } from './layout.js';
import { withVolumeLock } from './lock.js';
import { isMountPoint } from './mount.js';
import { getVolumeRecord } from './records.js';

/** Whether the volume's data directory holds nothing (for a volume with options: once acquired, what its mount holds). */
export function isVolumeEmpty(store: Store, name: string): boolean {
  if (!getVolumeRecord(store.db, name)) throw new NotFoundError(`No such volume: ${name}`);
  return readdirSync(dataDir(store.root, name)).length === 0;
}

/** Open `dir` as a directory, never through a symlink at its end; undefined when it is not a directory. */
function openSource(dir: string): number | undefined {
  try {
    return openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
  } catch (e) {
    const code = errnoCode(e);
    // Nothing there, a file, or a symlink: nothing to copy, as Docker copies nothing then.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw e;
  }
}

/**
 * Copy the tree at `fromDir` (a host path) into volume `name` if the volume is empty; call it
 * after acquireVolume, before the container starts. Returns whether anything was copied.
 */
export async function populateVolume(store: Store, name: string, fromDir: string): Promise<boolean> {
  return withVolumeLock(store.root, name, async (users) => {
    if (!getVolumeRecord(store.db, name)) throw new NotFoundError(`No such volume: ${name}`);
    const vdir = volumeDir(store.root, name);
    // Copies cut short (their process holds no lock now: this one does).
    for (const entry of readdirSync(vdir)) {
      if (workOwner(entry, 'populate') !== undefined) await removeTree(join(vdir, entry));
    }
    const data = dataDir(store.root, name);
    if (readdirSync(data).length > 0) return false;
    const fd = openSource(fromDir);
    if (fd === undefined) return false;
    try {
      // The directory through its descriptor: "." after the magic link is the directory itself, not the link.
      const src = `/proc/self/fd/${fd}/.`;
      if (users.count <= 1 && !isMountPoint(data)) {
        const tmp = join(vdir, workName('populate'));
        mkdirSync(tmp, { mode: 0o700 });
        try {
          await copyTree(src, tmp);
          renameSync(tmp, data);
        } finally {
          await removeTree(tmp);
        }
      } else {
        await copyTree(src, data);
      }
    } finally {
      closeSync(fd);
    }
    return true;
  });
}
