/**
 * The store's garbage collector: one mark-and-sweep over the reference graph
 * (metadata/refs.ts). Mark: every object reachable from a root (image records, image mounts,
 * leases of work in flight; later containers, volumes, build cache). Sweep: layer records,
 * snapshots and blobs that nothing reaches.
 *
 * Concurrency: the decision and the removal of every record happen in one write transaction
 * (SQLite's write lock is the store's), so no other process can start using an object
 * between "unreachable" and "gone": a blob is unlinked under the lock; a snapshot's row is
 * deleted under the lock (Snapshotter.remove deletes its row synchronously, before its first
 * await) and its files after. Candidates are listed before the lock (the content walk is
 * asynchronous); anything made after that listing is not a candidate this time.
 *
 * Power cuts: the store's commits are not synced one by one (metadata/db.ts), so a power cut may
 * take back the last ones, while a file unlinked meanwhile stays unlinked (another fsync on the
 * file system commits the unlink with its journal). Two durable transactions keep the records
 * from ever naming a removed file: the first commits everything before the collection (the rmi
 * that dropped the last reference) with a mark that this process is collecting, before any
 * file goes; the second removes the records with the files and the mark. A power cut between
 * them leaves the mark: the next process to open the store collects again (Store.open).
 */
import type { Digest } from '../digest/digest.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { ContentStore } from '../content/content.js';
import { type Db, durableWriteTx } from '../metadata/db.js';
import { beginCollection, deadCollections, endCollection, sweepLayerBlobRecords, sweepLayerRecords } from '../metadata/records.js';
import { markReachable } from '../metadata/refs.js';
import { processAlive } from '../process.js';
import type { Info, Snapshotter } from '../snapshot/index.js';

export interface GcResult {
  /** Blobs removed from the content store. */
  blobs: Digest[];
  /** Snapshots removed, children before parents. */
  snapshots: string[];
  /** Layer records removed (chainIDs). */
  layers: Digest[];
  /**
   * Bytes of disk given back (with `measure`; else 0): each removed blob's allocated blocks and
   * each removed snapshot directory's disk use, measured before it went — not an estimate.
   */
  reclaimed: number;
}

export interface GcOptions {
  /** Measure what is freed (GcResult.reclaimed): a walk of each removed snapshot tree more. */
  measure?: boolean;
}

export interface GcTarget {
  db: Db;
  content: ContentStore;
  /** The snapshotter, or undefined when the store has none yet (nothing was ever unpacked). */
  snapshots: Snapshotter | undefined;
}

export async function collectGarbage(t: GcTarget, opts: GcOptions = {}): Promise<GcResult> {
  const measure = opts.measure === true;
  const blobs = await t.content.digests();
  const infos: Info[] = [];
  if (t.snapshots) for await (const i of t.snapshots.walk()) infos.push(i);
  const parents = new Map(infos.map((i) => [i.key, i.parent]));

  const pending: Array<{ key: string; done: Promise<number | false> }> = [];
  let blobBytes = 0;
  durableWriteTx(t.db, () => beginCollection(t.db, process.pid));
  const result = durableWriteTx(t.db, () => {
    const marked = markReachable(t.db);
    // A marked snapshot keeps its parents: a view or a container's layer stands on them.
    for (const key of [...marked.snapshot]) {
      for (let p = parents.get(key); p !== undefined && !marked.snapshot.has(p); p = parents.get(p)) marked.snapshot.add(p);
    }
    const layers = sweepLayerRecords(t.db, marked.layer);
    const goneBlobs = blobs.filter((d) => !marked.blob.has(d));
    for (const d of goneBlobs) blobBytes += t.content.deleteSync(d);
    sweepLayerBlobRecords(t.db, marked.blob);
    if (t.snapshots) {
      const depth = (k: string): number => {
        let n = 0;
        for (let p = parents.get(k); p !== undefined; p = parents.get(p)) n++;
        return n;
      };
      const gone = infos.filter((i) => !marked.snapshot.has(i.key)).sort((a, b) => depth(b.key) - depth(a.key));
      for (const i of gone) {
        // Handled at once: removals settle in any order, and an unhandled rejection would end the process.
        const done = t.snapshots.remove(i.key, { measure }).then(
          (freed): number => freed ?? 0,
          (e: unknown): false => {
            // Made a parent meanwhile (a new child), or removed by another collector: it stays or is gone already.
            if (e instanceof ConflictError || e instanceof NotFoundError) return false;
            throw e;
          },
        );
        done.catch(() => undefined);
        pending.push({ key: i.key, done });
      }
    }
    // this collection's mark, and those of collections cut short (it has done their work)
    for (const pid of [process.pid, ...deadCollections(t.db, processAlive)]) endCollection(t.db, pid);
    return { blobs: goneBlobs, layers };
  });
  const settled = await Promise.allSettled(pending.map((p) => p.done));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const removed = settled.map((r) => (r as PromiseFulfilledResult<number | false>).value);
  const snapshots = pending.filter((_, i) => removed[i] !== false).map((p) => p.key);
  const snapshotBytes = removed.reduce<number>((sum, v) => sum + (v === false ? 0 : v), 0);
  return { ...result, snapshots, reclaimed: measure ? blobBytes + snapshotBytes : 0 };
}
