/**
 * The build cache's records (tables `build_cache` and `build_file_hashes`, migration v11), owned
 * here and read by no other module:
 *
 * - an entry is a step's result under its cache key: the layer it made (chainID, diffID, tar
 *   bytes, tar-split record). It is a garbage-collection root (`build-cache` edges to the
 *   layer's snapshot and tar-split blob), so a cached layer outlives the builds and images that
 *   used it, until the entry is pruned; `last_used` is set at every hit. `slot` says where the
 *   step was (its Dockerfile, stage and instruction) and `inputs` what the key was made of, so
 *   a later miss can be explained against the closest entry;
 * (`liveCacheEntry` also checks that an entry's layer is still in the store.)
 * - a file's content digest by its identity (device, inode, size, mtime and ctime in
 *   nanoseconds): a context file that did not change is not read again.
 */
import type { Digest } from '../digest/digest.js';
import { type Db, writeTx } from '../metadata/db.js';
import { addRefs, blobRef, dropRefs, snapshotRef, type Ref } from '../metadata/refs.js';
import type { Store } from '../store/store.js';
import type { NativeStat } from '../native/index.js';

/** A cached step result. */
export interface CacheEntry {
  key: Digest;
  chainId: Digest;
  diffId: Digest;
  size: number;
  tarSplit: Digest;
  slot: string;
  /** The inputs of the key (JSON text, as made by the builder). */
  inputs: string;
  createdAt: string;
  lastUsed: string;
}

interface Row {
  key: string;
  chain_id: string;
  diff_id: string;
  size: number;
  tar_split: string;
  slot: string;
  inputs: string;
  created_at: string;
  last_used: string;
}

function entryOf(r: Row): CacheEntry {
  return {
    key: r.key as Digest,
    chainId: r.chain_id as Digest,
    diffId: r.diff_id as Digest,
    size: r.size,
    tarSplit: r.tar_split as Digest,
    slot: r.slot,
    inputs: r.inputs,
    createdAt: r.created_at,
    lastUsed: r.last_used,
  };
}

const OWNER = 'build-cache';

/** The entry under `key`, if there is one. */
export function findCacheEntry(db: Db, key: Digest): CacheEntry | undefined {
  const r = db.prepare('SELECT * FROM build_cache WHERE key = ?').get(key) as Row | undefined;
  return r === undefined ? undefined : entryOf(r);
}

/** Every entry, oldest first (`system df`). */
export function cacheEntries(db: Db): CacheEntry[] {
  return (db.prepare('SELECT * FROM build_cache ORDER BY created_at, key').all() as Row[]).map(entryOf);
}

/** The most recently used entry of `slot` (the closest earlier result of the same step), if any. */
export function lastOfSlot(db: Db, slot: string): CacheEntry | undefined {
  const r = db.prepare('SELECT * FROM build_cache WHERE slot = ? ORDER BY last_used DESC LIMIT 1').get(slot) as Row | undefined;
  return r === undefined ? undefined : entryOf(r);
}

/** Record a step's result (a new entry, or the same key again: its layer and use refreshed), with its edges; `createdAt`: when its layer was made (default now). */
export function putCacheEntry(db: Db, e: Omit<CacheEntry, 'createdAt' | 'lastUsed'>, now = new Date(), createdAt = now.toISOString()): void {
  const at = now.toISOString();
  writeTx(db, () => {
    db.prepare(
      `INSERT INTO build_cache (key, chain_id, diff_id, size, tar_split, slot, inputs, created_at, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET chain_id = excluded.chain_id, diff_id = excluded.diff_id, size = excluded.size, tar_split = excluded.tar_split, slot = excluded.slot, inputs = excluded.inputs, last_used = excluded.last_used`,
    ).run(e.key, e.chainId, e.diffId, e.size, e.tarSplit, e.slot, e.inputs, createdAt, at);
    dropRefs(db, { kind: OWNER, id: e.key });
    addRefs(db, { kind: OWNER, id: e.key }, [snapshotRef(e.chainId), blobRef(e.tarSplit)]);
  });
}

/** A hit: the entry's last use is now. */
export function touchCacheEntry(db: Db, key: Digest, now = new Date()): void {
  writeTx(db, () => db.prepare('UPDATE build_cache SET last_used = ? WHERE key = ?').run(now.toISOString(), key));
}

/** Remove an entry (and its edges): its layer is gone, or it is pruned. */
export function removeCacheEntry(db: Db, key: Digest): void {
  writeTx(db, () => {
    db.prepare('DELETE FROM build_cache WHERE key = ?').run(key);
    dropRefs(db, { kind: OWNER, id: key });
  });
}

/**
 * Forget every remembered file digest, if no cache entry is left to need them (builder prune):
 * they only spare hashing context files for keys. Returns how many went.
 */
export function forgetFileDigestsIfNoCache(db: Db): number {
  return writeTx(db, () => {
    if (db.prepare('SELECT 1 FROM build_cache LIMIT 1').get() !== undefined) return 0;
    return db.prepare('DELETE FROM build_file_hashes').run().changes;
  });
}

/** Remember files' content digests by their identities (one transaction for all). */
export function rememberFileDigests(db: Db, files: ReadonlyArray<{ st: NativeStat; digest: Digest }>): void {
  if (files.length === 0) return;
  writeTx(db, () => {
    const put = db.prepare('INSERT OR REPLACE INTO build_file_hashes (dev, ino, size, mtime_ns, ctime_ns, digest) VALUES (?, ?, ?, ?, ?, ?)');
    for (const f of files) put.run(String(f.st.dev), String(f.st.ino), f.st.size, String(f.st.mtimeNs), String(f.st.ctimeNs), f.digest);
  });
}

/** Inodes asked about in one statement (SQLite allows far more variables; this keeps statements few and small). */
const LOOKUP_BATCH = 400;

/**
 * The known digests of several files at once (one statement per {@link LOOKUP_BATCH} files of
 * a device), by position in `files`: those whose identity is unchanged since they were hashed.
 */
export function knownFileDigests(db: Db, files: readonly NativeStat[]): Map<number, Digest> {
  const found = new Map<number, Digest>();
  const byDev = new Map<string, number[]>();
  files.forEach((st, i) => {
    const dev = String(st.dev);
    let list = byDev.get(dev);
    if (list === undefined) byDev.set(dev, (list = []));
    list.push(i);
  });
  for (const [dev, indexes] of byDev) {
    for (let at = 0; at < indexes.length; at += LOOKUP_BATCH) {
      const batch = indexes.slice(at, at + LOOKUP_BATCH);
      const wanted = new Map<string, number[]>();
      for (const i of batch) {
        const ino = String(files[i]!.ino);
        const same = wanted.get(ino);
        if (same === undefined) wanted.set(ino, [i]);
        else same.push(i);
      }
      const rows = db
        .prepare(`SELECT ino, size, mtime_ns, ctime_ns, digest FROM build_file_hashes WHERE dev = ? AND ino IN (${[...wanted.keys()].map(() => '?').join(', ')})`)
        .all(dev, ...wanted.keys()) as Array<{ ino: string; size: number; mtime_ns: string; ctime_ns: string; digest: string }>;
      for (const r of rows) {
        for (const i of wanted.get(r.ino) ?? []) {
          const st = files[i]!;
          if (r.size === st.size && r.mtime_ns === String(st.mtimeNs) && r.ctime_ns === String(st.ctimeNs)) found.set(i, r.digest as Digest);
        }
      }
    }
  }
  return found;
}

/** The entry under `key` if its layer is still in the store — snapshot and tar-split record — leased with `protect`; a stale entry goes. */
export async function liveCacheEntry(store: Store, key: Digest, protect: (ref: Ref) => void): Promise<CacheEntry | undefined> {
  const entry = findCacheEntry(store.db, key);
  if (entry === undefined) return undefined;
  protect(snapshotRef(entry.chainId));
  protect(blobRef(entry.tarSplit));
  const sn = await store.snapshots();
  if (sn.isCommitted(entry.chainId) && (await store.content.has(entry.tarSplit))) return entry;
  removeCacheEntry(store.db, key);
  return undefined;
}
