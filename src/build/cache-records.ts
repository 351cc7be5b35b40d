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
 * - a file's content digest by its identity (device, inode, size, mtime and ctime in
 *   nanoseconds): a context file that did not change is not read again.
 */
import type { Digest } from '../digest/digest.js';
import type { Statement } from 'better-sqlite3';
import { type Db, writeTx } from '../metadata/db.js';
import { addRefs, blobRef, dropRefs, snapshotRef } from '../metadata/refs.js';
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

/** The known content digest of a file with this identity, if it did not change since it was hashed. */
/** The statement of each database that looks a file's digest up (prepared once: it runs for every file of a context). */
const lookups = new WeakMap<Db, Statement<[string, string]>>();

export function knownFileDigest(db: Db, st: NativeStat): Digest | undefined {
  let lookup = lookups.get(db);
  if (lookup === undefined) lookups.set(db, (lookup = db.prepare<[string, string]>('SELECT size, mtime_ns, ctime_ns, digest FROM build_file_hashes WHERE dev = ? AND ino = ?')));
  const r = lookup.get(String(st.dev), String(st.ino)) as
    | { size: number; mtime_ns: string; ctime_ns: string; digest: string }
    | undefined;
  if (r === undefined || r.size !== st.size || r.mtime_ns !== String(st.mtimeNs) || r.ctime_ns !== String(st.ctimeNs)) return undefined;
  return r.digest as Digest;
}

/** Remember files' content digests by their identities (one transaction for all). */
export function rememberFileDigests(db: Db, files: ReadonlyArray<{ st: NativeStat; digest: Digest }>): void {
  if (files.length === 0) return;
  writeTx(db, () => {
    const put = db.prepare('INSERT OR REPLACE INTO build_file_hashes (dev, ino, size, mtime_ns, ctime_ns, digest) VALUES (?, ?, ?, ?, ?, ?)');
    for (const f of files) put.run(String(f.st.dev), String(f.st.ino), f.st.size, String(f.st.mtimeNs), String(f.st.ctimeNs), f.digest);
  });
}
