/**
 * `builder prune`: the build cache (build/cache-records.ts: entries, each a GC root of a step's
 * layer; build/cache-mounts.ts: RUN --mount=type=cache directories) made smaller, as BuildKit's
 * prune does it under Docker 20.10:
 *
 * - never what is in use: an entry whose layer a live process's lease holds (a build running
 *   in another cairn process, which protects each entry it hits or makes until its image is
 *   recorded), a cache mount a RUN holds (its flock);
 * - without `all`, only dangling cache: entries whose layer no image has (an entry whose layer
 *   an image has frees nothing while the image stays — BuildKit's "shared" records, which its
 *   prune without --all keeps), and unused cache mounts; with `all`, every unused entry;
 * - `until=` / `unused-for=` DURATION: only what was last used longer ago than that;
 * - `keep-storage` BYTES: least recently used first, only until the cache (entries' layers and
 *   cache mounts, in use or not) is no larger than that.
 *
 * Then one collection takes the layers only those entries held; the file digests remembered
 * for context files go too once no entry is left. The space reported is what went from disk
 * (the collector's and each cache mount's measure).
 */
import { dirname } from 'node:path';
import type { Digest } from '../digest/digest.js';
import { writeTx } from '../metadata/db.js';
import { beginCollection, layerInUse } from '../metadata/records.js';
import { blobRef, leasedObjects, refKey, snapshotRef } from '../metadata/refs.js';
import { cacheEntries, findCacheEntry, forgetFileDigestsIfNoCache, removeCacheEntry } from '../build/cache-records.js';
import { listCacheMounts, pruneCacheMounts } from '../build/cache-mounts.js';
import { diskUsage } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { parsePruneFilters } from './filters.js';

export interface BuilderPruneOptions {
  /** Every unused entry, not only dangling ones. */
  all?: boolean;
  /** Keep this many bytes of the most recently used cache. */
  keepStorage?: number;
  /** Docker's KEY=VALUE words: until (or unused-for) DURATION, label, label! (cache has no labels). */
  filters?: readonly string[];
}

export interface BuilderPruneResult {
  /** IDs of the cache objects removed: an entry's key (hex), a cache mount's directory name (`-N` for a further instance). */
  deleted: string[];
  /** Bytes of disk given back. */
  reclaimed: number;
}

interface Item {
  id: string;
  lastUsed: number;
  size: number;
  /** Whether this prune may remove it (unused; dangling unless all; the filters). */
  candidate: boolean;
  entry?: Digest;
  mount?: { hash: string; instance: number };
}

export async function pruneBuildCache(store: Store, opts: BuilderPruneOptions = {}): Promise<BuilderPruneResult> {
  const filter = parsePruneFilters(opts.filters ?? [], 'build-cache');
  const db = store.db;
  // cache objects have no labels: label=K selects none, label!=K all
  const labelsPass = filter.matchesLabels(null);
  const oldEnough = (t: number) => filter.until === undefined || t <= filter.until;
  const leased = leasedObjects(db);
  const sn = store.recordedDriver !== undefined ? await store.snapshots() : undefined;
  const items: Item[] = [];
  const counted = new Set<string>();
  for (const e of cacheEntries(db)) {
    const inUse = leased.has(refKey(snapshotRef(e.chainId))) || leased.has(refKey(blobRef(e.tarSplit)));
    const dangling = !layerInUse(db, e.chainId);
    let size = 0;
    if (sn !== undefined && !counted.has(e.chainId) && sn.isCommitted(e.chainId)) {
      size = (await sn.usage(e.chainId)).size;
      counted.add(e.chainId);
    }
    const lastUsed = Date.parse(e.lastUsed);
    items.push({ id: e.key.slice(e.key.indexOf(':') + 1), lastUsed, size, candidate: !inUse && (opts.all === true || dangling) && labelsPass && oldEnough(lastUsed), entry: e.key });
  }
  for (const c of listCacheMounts(store.root)) {
    for (const inst of c.instances) {
      const size = (await diskUsage(dirname(inst.path))).size;
      const lastUsed = inst.lastUsed.getTime();
      items.push({ id: inst.instance === 0 ? c.hash : `${c.hash}-${inst.instance}`, lastUsed, size, candidate: !inst.inUse && labelsPass && oldEnough(lastUsed), mount: { hash: c.hash, instance: inst.instance } });
    }
  }
  let chosen = items.filter((i) => i.candidate);
  if (opts.keepStorage !== undefined) {
    let total = items.reduce((sum, i) => sum + i.size, 0);
    const keep: Item[] = [];
    for (const i of [...chosen].sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (total <= opts.keepStorage) break;
      keep.push(i);
      total -= i.size;
    }
    chosen = keep;
  }
  const result: BuilderPruneResult = { deleted: [], reclaimed: 0 };
  // entries: each checked again under the write lock (a build may have taken it since)
  const entries = chosen.filter((i) => i.entry !== undefined);
  writeTx(db, () => {
    const now = leasedObjects(db);
    for (const i of entries) {
      const e = findCacheEntry(db, i.entry!);
      if (e === undefined || now.has(refKey(snapshotRef(e.chainId))) || now.has(refKey(blobRef(e.tarSplit)))) continue;
      removeCacheEntry(db, e.key);
      result.deleted.push(i.id);
    }
    // the collection owed, marked with the removal: a kill before it ends leaves the mark for the next process
    if (result.deleted.length > 0) beginCollection(db, process.pid);
  });
  const mounts = new Set(chosen.filter((i) => i.mount !== undefined).map((i) => `${i.mount!.hash}/${i.mount!.instance}`));
  if (mounts.size > 0) {
    for (const m of await pruneCacheMounts(store.root, (c, n) => mounts.has(`${c.hash}/${n}`))) {
      result.deleted.push(m.instance === 0 ? m.hash : `${m.hash}-${m.instance}`);
      result.reclaimed += m.bytes;
    }
  }
  forgetFileDigestsIfNoCache(db);
  if (entries.length > 0) result.reclaimed += (await store.gc({ measure: true })).reclaimed;
  return result;
}
