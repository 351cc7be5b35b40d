/**
 * `image mount` / `image umount`, as Podman has them: an image's stacked layers mounted
 * read-only (a view snapshot on its top layer), the path printed. Mounts are counted: each
 * mount adds one, each umount takes one, the last one unmounts and removes the view. A lock
 * file per image (flock) serialises processes; a failure on the way undoes what it did, so
 * no mount or view is leaked. While mounted, an image cannot be removed.
 */
import { addRefs, dropRefs, snapshotRef } from '../metadata/refs.js';
import { removeTree } from '../rmtree.js';
import { closeSync, fstatSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../digest/digest.js';
import { hexOf } from '../digest/digest.js';
import { NotFoundError, PreconditionError, errnoCode } from '../errors.js';
import { type Db, writeTx } from '../metadata/db.js';
import { constants, flock } from '../native/index.js';
import { isMountedAt, mountAll, unmount } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { requireUnpacked } from './config.js';
import { resolveImage } from './resolve.js';

interface MountRow {
  image_id: string;
  count: number;
  snapshot: string;
  target: string;
}

/**
 * Run `fn` holding the image's lock file. The file is removed, still locked, once the image
 * is no longer mounted (no lock files pile up); a process that locked a file that was removed
 * meanwhile (its inode is no longer the path's) takes the new one instead.
 */
async function withImageLock<T>(store: Store, id: Digest, fn: () => Promise<T>): Promise<T> {
  const dir = join(store.root, 'mounts');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${hexOf(id)}.lock`);
  for (;;) {
    const fd = openSync(path, 'a');
    flock(fd, constants.LOCK_EX);
    const current = (() => {
      try {
        return statSync(path).ino === fstatSync(fd).ino;
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return false;
        throw e;
      }
    })();
    if (!current) {
      closeSync(fd);
      continue;
    }
    try {
      return await fn();
    } finally {
      if (!isImageMounted(store.db, id)) rmSync(path, { force: true });
      flock(fd, constants.LOCK_UN);
      closeSync(fd);
    }
  }
}

export function mountedImages(store: Store): Array<{ id: Digest; target: string; count: number }> {
  return (store.db.prepare('SELECT * FROM image_mounts ORDER BY image_id').all() as MountRow[]).map((r) => ({ id: r.image_id as Digest, target: r.target, count: r.count }));
}

/**
 * Images recorded as mounted with nothing mounted where they were (a reboot, an unmount behind
 * cairn's back): `system check` reports them; `image umount --all` (`unmountImage`) forgets them.
 */
export function staleImageMounts(store: Store): Array<{ id: Digest; target: string; count: number }> {
  return mountedImages(store).filter((m) => !isMountedAt(m.target));
}

export function isImageMounted(db: Db, id: Digest): boolean {
  return db.prepare('SELECT 1 FROM image_mounts WHERE image_id = ?').get(id) !== undefined;
}

/** Mount the image's root filesystem read-only; returns where. */
export async function mountImage(store: Store, name: string): Promise<{ id: Digest; target: string }> {
  const { image } = resolveImage(store.db, name);
  await requireUnpacked(store.content, image.id, name);
  return withImageLock(store, image.id, async () => {
    const row = store.db.prepare('SELECT * FROM image_mounts WHERE image_id = ?').get(image.id) as MountRow | undefined;
    if (row) {
      writeTx(store.db, () => store.db.prepare('UPDATE image_mounts SET count = count + 1 WHERE image_id = ?').run(image.id));
      return { id: image.id, target: row.target };
    }
    if (!image.topChainId) throw new PreconditionError(`image ${name} has no layers to mount`);
    const sn = await store.snapshots();
    const key = `mount-${hexOf(image.id)}`;
    const target = join(store.root, 'mounts', hexOf(image.id), 'merged');
    mkdirSync(target, { recursive: true });
    // Leased until the mount record (a garbage-collection root) holds the view.
    await store.withLease(async (protect) => {
      protect(snapshotRef(key));
      const mounts = await sn.view(key, image.topChainId!);
      try {
        mountAll(mounts, target);
        try {
          writeTx(store.db, () => {
            store.db.prepare('INSERT INTO image_mounts (image_id, count, snapshot, target) VALUES (?, 1, ?, ?)').run(image.id, key, target);
            addRefs(store.db, { kind: 'mount', id: image.id }, [snapshotRef(key)]);
          });
        } catch (e) {
          unmount(target);
          throw e;
        }
      } catch (e) {
        await sn.remove(key);
        throw e;
      }
    });
    return { id: image.id, target };
  });
}

/** Take one mount away (all of them with `all`); unmount when none is left. Returns the count left. */
export async function unmountImage(store: Store, name: string, opts: { all?: boolean } = {}): Promise<{ id: Digest; left: number }> {
  const { image } = resolveImage(store.db, name);
  return withImageLock(store, image.id, async () => {
    const row = store.db.prepare('SELECT * FROM image_mounts WHERE image_id = ?').get(image.id) as MountRow | undefined;
    if (!row) throw new NotFoundError(`image ${name} is not mounted`);
    if (row.count > 1 && !opts.all) {
      writeTx(store.db, () => store.db.prepare('UPDATE image_mounts SET count = count - 1 WHERE image_id = ?').run(image.id));
      return { id: image.id, left: row.count - 1 };
    }
    unmount(row.target);
    const sn = await store.snapshots();
    await sn.remove(row.snapshot);
    writeTx(store.db, () => {
      store.db.prepare('DELETE FROM image_mounts WHERE image_id = ?').run(image.id);
      dropRefs(store.db, { kind: 'mount', id: image.id });
    });
    await removeTree(join(store.root, 'mounts', hexOf(image.id)));
    return { id: image.id, left: 0 };
  });
}
