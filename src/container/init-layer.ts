/**
 * The init layer, as Docker's `-init` layer: between an image's layers and a container's
 * writable layer, a small committed layer holding the mount points the runtime needs and the
 * image may lack — the directories /proc, /sys, /dev, /etc and the files /etc/hosts,
 * /etc/hostname, /etc/resolv.conf — and Docker's markers /.dockerenv and /etc/mtab (each made
 * only where the image has nothing; every path
 * resolved inside the root filesystem, never through a symlink out of it). Containers stand on
 * it, so these entries are not their changes: `diff` does not list them and `commit` does not
 * keep them, as with Docker.
 *
 * One init layer per image top layer (snapshot key `init-<hex of the top chainID>`, or
 * `init-scratch` for an image without layers), shared by every container of that image — its
 * contents depend on the image alone. Made once, under the caller's lease; a concurrent maker
 * that commits first wins and the other's copy goes. Containers keep it alive (a snapshot
 * keeps its parents); when none is left, the collector removes it.
 */
import { randomBytes } from '../random.js';
import { chmodSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../digest/digest.js';
import { hexOf } from '../digest/digest.js';
import { AlreadyExistsError, NotFoundError, errnoCode } from '../errors.js';
import { snapshotRef, type Ref } from '../metadata/refs.js';
import { ensureInRoot, resolveInRoot } from '../runtime/rootpath.js';
import { mountAll, unmount } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

/** What the init layer holds: mount points of the runtime's file systems and of the /etc files it binds. */
export const INIT_ENTRIES: ReadonlyArray<readonly [string, 'dir' | 'file']> = [
  ['/proc', 'dir'],
  ['/sys', 'dir'],
  ['/dev', 'dir'],
  ['/etc/hosts', 'file'],
  ['/etc/hostname', 'file'],
  ['/etc/resolv.conf', 'file'],
];

/**
 * What else Docker's init layer holds, made only where the image has nothing: an empty
 * /.dockerenv (mode 0755: programs look for it to know they run in a container) and /etc/mtab
 * linking to /proc/mounts. `root` is the layer being made (no container runs on it yet); paths
 * resolved inside it.
 */
function dockerMarkers(root: string): void {
  if (resolveInRoot(root, '/.dockerenv').kind === undefined) chmodSync(ensureInRoot(root, '/.dockerenv', 'file', 'mount point').hostPath, 0o755);
  const mtab = join(ensureInRoot(root, '/etc', 'dir', 'mount point').hostPath, 'mtab');
  try {
    lstatSync(mtab);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    symlinkSync('/proc/mounts', mtab);
  }
}

/** The snapshot key of the init layer on `top` (an image's top chainID). */
export function initLayerKey(top: Digest | undefined | null): string {
  return top === undefined || top === null ? 'init-scratch' : `init-${hexOf(top)}`;
}

/**
 * Whether snapshot `key` is an init layer: one no container stands on any more is left for the
 * next collection, by design (`system check` does not call it a leftover).
 */
export function isInitLayerKey(key: string): boolean {
  return key === 'init-scratch' || /^init-[0-9a-f]{64}$/.test(key);
}

/** The init layer on `top`, made if missing; its key. `protect` keeps it through the caller's work. */
export async function ensureInitLayer(store: Store, top: Digest | undefined | null, protect: (ref: Ref) => void): Promise<string> {
  const sn = await store.snapshots();
  const key = initLayerKey(top);
  protect(snapshotRef(key));
  try {
    const info = await sn.stat(key);
    if (info.kind === 'committed') return key;
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  const work = `${key}-tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  protect(snapshotRef(work));
  const mounts = await sn.prepare(work, top ?? undefined);
  const scratch = await store.scratchDir();
  const target = join(scratch.path, 'rootfs');
  try {
    mkdirSync(target);
    mountAll(mounts, target);
    try {
      for (const [path, kind] of INIT_ENTRIES) ensureInRoot(target, path, kind, 'mount point');
      dockerMarkers(target);
    } finally {
      unmount(target);
    }
    try {
      await sn.commit(key, work);
    } catch (e) {
      // Another process made it meanwhile: theirs stands, this one goes.
      if (!(e instanceof AlreadyExistsError)) throw e;
      await sn.remove(work);
    }
  } catch (e) {
    await sn.remove(work).catch((undo: unknown) => {
      if (!(undo instanceof NotFoundError)) throw undo;
    });
    throw e;
  } finally {
    await scratch.dispose();
  }
  return key;
}
