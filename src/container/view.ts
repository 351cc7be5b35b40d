/**
 * Read-only views of a container's writable (active) snapshot, as mounts (data, performed by
 * the caller) and mounted for the length of one job:
 *
 *   whole    the container's root filesystem as it sees it: for overlay, its upper directory
 *            stacked as the topmost lower layer over the image's layers (no upper, no work
 *            directory: nothing can be written, and no in-use lock is taken on the directories
 *            a running container writes to); for a full-tree driver, a read-only bind
 *   parent   what the image alone shows below the writable layer (`diff` compares with it):
 *            a read-only view snapshot of the parent, which the snapshotter describes
 *
 * `withMounted` mounts such mounts in a fresh scratch directory, runs the job, and unmounts
 * and removes everything on every path; its view snapshot (if any) is leased meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { NotFoundError, PreconditionError } from '../errors.js';
import { snapshotRef } from '../metadata/refs.js';
import { type Mount, mountAll, type Snapshotter, unmount, writableLayer } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

/** The active snapshot `key` and its writable layer: PreconditionError for a view or a committed snapshot. */
export async function activeLayer(sn: Snapshotter, key: string): Promise<{ parent: string | undefined; mounts: Mount[]; dir: string; lowerdirs: string[] }> {
  const info = await sn.stat(key);
  if (info.kind !== 'active') throw new PreconditionError(`snapshot ${key} is ${info.kind === 'view' ? 'a view' : 'committed'}, not a container's writable layer`);
  const mounts = await sn.mounts(key);
  const w = writableLayer(mounts);
  return { parent: info.parent, mounts, dir: w.dir, lowerdirs: w.lowerdirs };
}

/** The whole root filesystem of an active snapshot, read-only (see the module comment). */
export function wholeView(mounts: readonly Mount[]): Mount[] {
  const w = writableLayer(mounts);
  const m = mounts[0]!;
  if (m.type !== 'overlay' || w.lowerdirs.length === 0) return [{ type: 'bind', source: w.dir, options: ['ro', 'rbind'] }];
  const options = ['ro', ...m.options.filter((o) => o !== 'rw' && o !== 'ro')];
  return [{ type: 'overlay', source: m.source, options, lowerdirs: [w.dir, ...w.lowerdirs] }];
}

/** A mounted view: where it is, and how to undo it. */
export interface MountedView {
  root: string;
  /** Unmount, remove the view snapshot (if any) and the scratch directory; safe to call twice. */
  release(): Promise<void>;
}

/**
 * Mount `mounts` (or, given a snapshot parent, a read-only view snapshot of it) at a fresh
 * scratch directory. Whatever fails on the way is undone before the error goes up.
 */
export async function mountView(store: Store, what: { mounts: readonly Mount[] } | { parentOf: string; sn: Snapshotter }): Promise<MountedView> {
  const lease = store.lease();
  let scratch: { path: string; dispose: () => Promise<void> } | undefined;
  let viewKey: string | undefined;
  let mounted = false;
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    try {
      if (mounted) unmount(scratch!.path);
      mounted = false;
      if (viewKey !== undefined && !('mounts' in what)) {
        await what.sn.remove(viewKey).catch((e: unknown) => {
          if (!(e instanceof NotFoundError)) throw e;
        });
      }
      await scratch?.dispose();
    } finally {
      lease.release();
    }
  };
  try {
    scratch = await store.scratchDir();
    let mounts: readonly Mount[];
    if ('mounts' in what) {
      mounts = what.mounts;
    } else {
      viewKey = `view-${process.pid}-${randomBytes(6).toString('hex')}`;
      lease.protect(snapshotRef(viewKey));
      mounts = await what.sn.view(viewKey, what.parentOf);
    }
    mountAll(mounts, scratch.path);
    mounted = true;
    return { root: scratch.path, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** Run `job` on a view mounted by {@link mountView}; it is undone afterwards, whatever happened. */
export async function withMounted<T>(store: Store, what: { mounts: readonly Mount[] } | { parentOf: string; sn: Snapshotter }, job: (root: string) => Promise<T>): Promise<T> {
  const view = await mountView(store, what);
  let result: T;
  try {
    result = await job(view.root);
  } catch (e) {
    // The job's failure is the one to report; one of the undoing is only warned of.
    await view.release().catch((re: unknown) => process.emitWarning(`cairn: could not undo a view at ${view.root}: ${(re as Error).message}`));
    throw e;
  }
  await view.release();
  return result;
}
