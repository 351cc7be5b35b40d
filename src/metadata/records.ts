/**
 * Typed access to the metadata tables: image, tag, layer and lease records.
 * Plain functions over a Db; callers group them in writeTx() when they must be atomic.
 */
import { randomBytes } from '../random.js';
import type { Digest } from '../digest/digest.js';
import type { Db } from './db.js';
import { addRefs, blobRef, dropRef, dropRefs, layerRef, type Ref, refsOf, snapshotRef } from './refs.js';
import { isoTime } from './now.js';

export interface ImageRecord {
  id: Digest;
  manifestDigest: Digest;
  manifestMediaType: string;
  manifestSize: number;
  configMediaType: string;
  configSize: number;
  created: string | null;
  /** Sum of its layers' sizes when it was recorded (image/size.ts; before schema v10, of their tars). */
  size: number;
  parent: Digest | null;
  topChainId: Digest | null;
  lastTagTime: string | null;
  addedAt: string;
}

export interface LayerRecord {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  /** Uncompressed size in bytes (of its tar). */
  size: number;
  /** The tar-split record the layer's tar is re-emitted from, when its files can reproduce it. */
  tarSplit: Digest | null;
  /** Bytes of the files the layer holds, as Docker counts a layer (image/size.ts); null when not measured yet. */
  filesSize: number | null;
}

export interface LayerBlobRecord {
  blobDigest: Digest;
  diffId: Digest;
  mediaType: string;
  size: number;
}

/** One layer of an image: where it sits in the chain and which blob the manifest names. */
export interface ImageLayerRecord extends LayerRecord {
  index: number;
  blob: LayerBlobRecord;
}

interface ImageRow {
  id: string;
  manifest_digest: string;
  manifest_media_type: string;
  manifest_size: number;
  config_media_type: string;
  config_size: number;
  created: string | null;
  size: number;
  parent: string | null;
  top_chain_id: string | null;
  last_tag_time: string | null;
  added_at: string;
}

function imageFromRow(r: ImageRow): ImageRecord {
  return {
    id: r.id as Digest,
    manifestDigest: r.manifest_digest as Digest,
    manifestMediaType: r.manifest_media_type,
    manifestSize: r.manifest_size,
    configMediaType: r.config_media_type,
    configSize: r.config_size,
    created: r.created,
    size: r.size,
    parent: r.parent as Digest | null,
    topChainId: r.top_chain_id as Digest | null,
    lastTagTime: r.last_tag_time,
    addedAt: r.added_at,
  };
}

export function getImage(db: Db, id: Digest): ImageRecord | undefined {
  const r = db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
  return r ? imageFromRow(r) : undefined;
}

export function listImages(db: Db): ImageRecord[] {
  return (db.prepare('SELECT * FROM images ORDER BY created DESC, id').all() as ImageRow[]).map(imageFromRow);
}

/** Images whose ID starts with `sha256:<prefix>`. */
export function findImagesByIdPrefix(db: Db, hexPrefix: string): ImageRecord[] {
  return (db.prepare("SELECT * FROM images WHERE id >= ? AND id < ? LIMIT 2").all(`sha256:${hexPrefix}`, `sha256:${hexPrefix}\uffff`) as ImageRow[]).map(imageFromRow);
}

/**
 * Insert or replace an image with its layers. Layer and blob records are created as needed.
 * `keepCompressed` (the store's compressed-blobs policy): whether the image keeps alive the
 * compressed blob of a layer whose files can re-emit its tar (see {@link recordImageRefs}).
 */
export function putImage(db: Db, image: ImageRecord, layers: ImageLayerRecord[], keepCompressed = true): void {
  db.prepare(
    `INSERT INTO images (id, manifest_digest, manifest_media_type, manifest_size, config_media_type, config_size, created, size, parent, top_chain_id, last_tag_time, added_at)
     VALUES (@id, @manifestDigest, @manifestMediaType, @manifestSize, @configMediaType, @configSize, @created, @size, @parent, @topChainId, @lastTagTime, @addedAt)
     ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, manifest_media_type = excluded.manifest_media_type,
       manifest_size = excluded.manifest_size, config_media_type = excluded.config_media_type, size = excluded.size,
       parent = COALESCE(images.parent, excluded.parent), top_chain_id = excluded.top_chain_id, damaged = NULL`,
  ).run(image);
  db.prepare('DELETE FROM image_layers WHERE image_id = ?').run(image.id);
  const insLayer = db.prepare('INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size, created_at, tar_split, files_size) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const setSplit = db.prepare('UPDATE layers SET tar_split = ? WHERE chain_id = ? AND tar_split IS NULL');
  const setFilesSize = db.prepare('UPDATE layers SET files_size = ? WHERE chain_id = ? AND files_size IS NULL');
  const insBlob = db.prepare('INSERT OR IGNORE INTO layer_blobs (blob_digest, diff_id, media_type, size) VALUES (?, ?, ?, ?)');
  const insImgLayer = db.prepare('INSERT INTO image_layers (image_id, idx, chain_id, blob_digest) VALUES (?, ?, ?, ?)');
  const now = isoTime();
  for (const l of layers) {
    // A layer keeps its snapshot, its parent layer and its tar-split record alive.
    const owner = { kind: 'layer', id: l.chainId } as const;
    if (insLayer.run(l.chainId, l.diffId, l.parent, l.size, now, l.tarSplit, l.filesSize).changes > 0) {
      addRefs(db, owner, [snapshotRef(l.chainId), ...(l.parent ? [layerRef(l.parent)] : [])]);
    } else {
      if (l.tarSplit !== null) setSplit.run(l.tarSplit, l.chainId);
      if (l.filesSize !== null) setFilesSize.run(l.filesSize, l.chainId);
    }
    const split = getLayer(db, l.chainId)?.tarSplit ?? null;
    if (split !== null) addRefs(db, owner, [blobRef(split)]);
    insBlob.run(l.blob.blobDigest, l.blob.diffId, l.blob.mediaType, l.blob.size);
    insImgLayer.run(image.id, l.index, l.chainId, l.blob.blobDigest);
  }
  writeImageRefs(db, image, layers, keepCompressed);
}

/**
 * (Re)write what image `id` keeps alive: its config and manifest, its layers, and the layer
 * blobs the store keeps — any whose layer has no tar-split record to re-emit it from, and,
 * with `keepCompressed`, every compressed one (so that save and push keep its digest; without,
 * save writes such a layer uncompressed, re-emitted from its files).
 */
export function recordImageRefs(db: Db, id: Digest, keepCompressed: boolean): void {
  const image = getImage(db, id);
  if (image !== undefined) writeImageRefs(db, image, imageLayers(db, id), keepCompressed);
}

function writeImageRefs(db: Db, image: Pick<ImageRecord, 'id' | 'manifestDigest'>, layers: readonly ImageLayerRecord[], keepCompressed: boolean): void {
  const owner = { kind: 'image', id: image.id } as const;
  dropRefs(db, owner);
  // the layer's recorded tar-split (putImage's argument may predate it)
  const kept = layers.filter((l) => getLayer(db, l.chainId)?.tarSplit == null || (keepCompressed && l.blob.blobDigest !== l.diffId));
  addRefs(db, owner, [blobRef(image.id), blobRef(image.manifestDigest), ...layers.map((l) => layerRef(l.chainId)), ...kept.map((l) => blobRef(l.blob.blobDigest))]);
}

/**
 * Mark image `id` damaged (`system check --repair`: content it needs was found corrupt or
 * missing), with why; a later mark replaces it. Recording the image again (a load or pull:
 * {@link putImage}) clears it.
 */
export function markImageDamaged(db: Db, id: Digest, why: string): void {
  db.prepare('UPDATE images SET damaged = ? WHERE id = ?').run(why, id);
}

/** Images marked damaged, with why. */
export function damagedImages(db: Db): Map<Digest, string> {
  const rows = db.prepare('SELECT id, damaged FROM images WHERE damaged IS NOT NULL').all() as Array<{ id: string; damaged: string }>;
  return new Map(rows.map((r) => [r.id as Digest, r.damaged]));
}

/** A store-wide setting (`store_info`), or undefined when never recorded. */
export function storeSetting(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM store_info WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setStoreSetting(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO store_info (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}

const COLLECTING = 'collecting-';

/**
 * A collection by this process is about to remove files (see store/gc.ts): recorded, durably,
 * before it does, so that one a power cut interrupts is run again by the next process to open
 * the store (a removed file's records may come back with the log's lost tail).
 */
export function beginCollection(db: Db, pid: number): void {
  setStoreSetting(db, `${COLLECTING}${pid}`, String(Date.now()));
}

/** The collection of `pid` is committed: its records no longer name what it removed. */
export function endCollection(db: Db, pid: number): void {
  db.prepare('DELETE FROM store_info WHERE key = ?').run(`${COLLECTING}${pid}`);
}

const REMOVING = 'removing:';

/**
 * `dir` (relative to the store's root) is to be removed by process `pid`, recorded in the
 * transaction that drops the record owning it: a kill before it is gone leaves the intent, and
 * the next process to open the store removes it (Store.open). Forgotten with `removed`.
 */
export function intendRemoval(db: Db, pid: number, dir: string): void {
  setStoreSetting(db, `${REMOVING}${pid}:${dir}`, String(Date.now()));
}

/** The removal of `dir` by `pid` is done. */
export function removed(db: Db, pid: number, dir: string): void {
  db.prepare('DELETE FROM store_info WHERE key = ?').run(`${REMOVING}${pid}:${dir}`);
}

/** Removals intended by processes now gone, not done (a read). */
export function deadRemovals(db: Db, alive: (pid: number) => boolean): Array<{ pid: number; dir: string }> {
  const rows = db.prepare(`SELECT key FROM store_info WHERE key >= '${REMOVING}' AND key < '${REMOVING}~'`).all() as Array<{ key: string }>;
  const out: Array<{ pid: number; dir: string }> = [];
  for (const { key } of rows) {
    const rest = key.slice(REMOVING.length);
    const pid = Number(rest.slice(0, rest.indexOf(':')));
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) out.push({ pid, dir: rest.slice(rest.indexOf(':') + 1) });
  }
  return out;
}

/** The pids of collections begun and not ended by processes now gone (a read). */
export function deadCollections(db: Db, alive: (pid: number) => boolean): number[] {
  const rows = db.prepare(`SELECT key FROM store_info WHERE key >= '${COLLECTING}' AND key < '${COLLECTING}~'`).all() as Array<{ key: string }>;
  return rows.map((r) => Number(r.key.slice(COLLECTING.length))).filter((pid) => Number.isInteger(pid) && pid !== process.pid && !alive(pid));
}

export function imageLayers(db: Db, id: Digest): ImageLayerRecord[] {
  const rows = db
    .prepare(
      `SELECT il.idx, l.chain_id, l.diff_id, l.parent, l.size, l.tar_split, l.files_size, b.blob_digest, b.media_type, b.size AS blob_size
       FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id JOIN layer_blobs b ON b.blob_digest = il.blob_digest
       WHERE il.image_id = ? ORDER BY il.idx`,
    )
    .all(id) as Array<{ idx: number; chain_id: string; diff_id: string; parent: string | null; size: number; tar_split: string | null; files_size: number | null; blob_digest: string; media_type: string; blob_size: number }>;
  return rows.map((r) => ({
    index: r.idx,
    chainId: r.chain_id as Digest,
    diffId: r.diff_id as Digest,
    parent: r.parent as Digest | null,
    size: r.size,
    tarSplit: r.tar_split as Digest | null,
    filesSize: r.files_size,
    blob: { blobDigest: r.blob_digest as Digest, diffId: r.diff_id as Digest, mediaType: r.media_type, size: r.blob_size },
  }));
}

export function getLayer(db: Db, chainId: Digest): LayerRecord | undefined {
  const r = db.prepare('SELECT chain_id, diff_id, parent, size, tar_split, files_size FROM layers WHERE chain_id = ?').get(chainId) as
    | { chain_id: string; diff_id: string; parent: string | null; size: number; tar_split: string | null; files_size: number | null }
    | undefined;
  return r
    ? { chainId: r.chain_id as Digest, diffId: r.diff_id as Digest, parent: r.parent as Digest | null, size: r.size, tarSplit: r.tar_split as Digest | null, filesSize: r.files_size }
    : undefined;
}

/** Every layer record, by chainID order. */
export function allLayers(db: Db): LayerRecord[] {
  const rows = db.prepare('SELECT chain_id FROM layers ORDER BY chain_id').all() as Array<{ chain_id: string }>;
  return rows.map((r) => getLayer(db, r.chain_id as Digest)!);
}

/** The layers whose tar-split record is blob `digest`. */
export function layersWithTarSplit(db: Db, digest: Digest): Digest[] {
  return (db.prepare('SELECT chain_id FROM layers WHERE tar_split = ?').all(digest) as Array<{ chain_id: string }>).map((r) => r.chain_id as Digest);
}

/**
 * Layer `chainId` no longer has a tar-split record (it was found corrupt, or its snapshot
 * damaged): the record's blob is no longer kept alive by it, and the next load or pull of the
 * layer records one again (putImage sets a missing one).
 */
export function forgetTarSplit(db: Db, chainId: Digest): void {
  const l = getLayer(db, chainId);
  if (l === undefined || l.tarSplit === null) return;
  db.prepare('UPDATE layers SET tar_split = NULL WHERE chain_id = ?').run(chainId);
  dropRef(db, { kind: 'layer', id: chainId }, blobRef(l.tarSplit));
}

/** Record `split` as layer `chainId`'s tar-split record, unless it has one (the layer keeps it alive). */
export function recordTarSplit(db: Db, chainId: Digest, split: Digest): void {
  if (db.prepare('UPDATE layers SET tar_split = ? WHERE chain_id = ? AND tar_split IS NULL').run(split, chainId).changes > 0) addRefs(db, { kind: 'layer', id: chainId }, [blobRef(split)]);
}

/** Set layer `chainId`'s uncompressed size (its tar's bytes), re-derived from its re-emitted tar. */
export function setLayerSize(db: Db, chainId: Digest, size: number): void {
  db.prepare('UPDATE layers SET size = ? WHERE chain_id = ?').run(size, chainId);
}

/** Image `id`'s layer rows as recorded (index, chainID, blob), whether or not their layer and blob records exist. */
export function imageLayerRows(db: Db, id: Digest): Array<{ index: number; chainId: Digest; blobDigest: Digest }> {
  return (db.prepare('SELECT idx, chain_id, blob_digest FROM image_layers WHERE image_id = ? ORDER BY idx').all(id) as Array<{ idx: number; chain_id: string; blob_digest: string }>).map((r) => ({
    index: r.idx,
    chainId: r.chain_id as Digest,
    blobDigest: r.blob_digest as Digest,
  }));
}

/** Record the files size measured of layer `chainId` (image/size.ts), unless it has one. */
export function setLayerFilesSize(db: Db, chainId: Digest, filesSize: number): void {
  db.prepare('UPDATE layers SET files_size = ? WHERE chain_id = ? AND files_size IS NULL').run(filesSize, chainId);
}

/** A layer with `diffId` whose tar can be re-emitted from its files (any chain holding it), if any. */
export function reproducibleLayer(db: Db, diffId: Digest): LayerRecord | undefined {
  const r = db.prepare('SELECT chain_id FROM layers WHERE diff_id = ? AND tar_split IS NOT NULL LIMIT 1').get(diffId) as { chain_id: string } | undefined;
  return r ? getLayer(db, r.chain_id as Digest) : undefined;
}

/** The uncompressed size of a layer with `diffId`, if the store has one. */
export function layerSizeByDiffId(db: Db, diffId: Digest): number | undefined {
  const r = db.prepare('SELECT size FROM layers WHERE diff_id = ? LIMIT 1').get(diffId) as { size: number } | undefined;
  return r?.size;
}

export function getLayerBlob(db: Db, blobDigest: Digest): LayerBlobRecord | undefined {
  const r = db.prepare('SELECT blob_digest, diff_id, media_type, size FROM layer_blobs WHERE blob_digest = ?').get(blobDigest) as
    | { blob_digest: string; diff_id: string; media_type: string; size: number }
    | undefined;
  return r ? { blobDigest: r.blob_digest as Digest, diffId: r.diff_id as Digest, mediaType: r.media_type, size: r.size } : undefined;
}

export function deleteImage(db: Db, id: Digest): void {
  db.prepare('DELETE FROM tags WHERE image_id = ?').run(id);
  db.prepare('DELETE FROM repo_digests WHERE image_id = ?').run(id);
  db.prepare('DELETE FROM image_layers WHERE image_id = ?').run(id);
  db.prepare('UPDATE images SET parent = NULL WHERE parent = ?').run(id);
  db.prepare('DELETE FROM images WHERE id = ?').run(id);
  dropRefs(db, { kind: 'image', id });
}

/** Whether any image has layer `chainId` in its chain. */
export function layerInUse(db: Db, chainId: Digest): boolean {
  return db.prepare('SELECT 1 FROM image_layers WHERE chain_id = ? LIMIT 1').get(chainId) !== undefined;
}

export function childrenOf(db: Db, id: Digest): Digest[] {
  return (db.prepare('SELECT id FROM images WHERE parent = ?').all(id) as Array<{ id: string }>).map((r) => r.id as Digest);
}

// --- tags and repo digests ---------------------------------------------------------------

export interface TagRecord {
  name: string;
  imageId: Digest;
  createdAt: string;
}

export function getTag(db: Db, name: string): TagRecord | undefined {
  const r = db.prepare('SELECT name, image_id, created_at FROM tags WHERE name = ?').get(name) as { name: string; image_id: string; created_at: string } | undefined;
  return r ? { name: r.name, imageId: r.image_id as Digest, createdAt: r.created_at } : undefined;
}

export function listTags(db: Db): TagRecord[] {
  return (db.prepare('SELECT name, image_id, created_at FROM tags ORDER BY name').all() as Array<{ name: string; image_id: string; created_at: string }>).map((r) => ({
    name: r.name,
    imageId: r.image_id as Digest,
    createdAt: r.created_at,
  }));
}

export function tagsOf(db: Db, id: Digest): string[] {
  return (db.prepare('SELECT name FROM tags WHERE image_id = ? ORDER BY name').all(id) as Array<{ name: string }>).map((r) => r.name);
}

/**
 * Point `name` at `id`; returns the image it pointed at before, if another. `touch`: the image's
 * LastTagTime becomes now (Docker's TagImageWithReference: tag, import, commit, build — not
 * the names a load or pull brings).
 */
export function setTag(db: Db, name: string, id: Digest, touch = true): Digest | undefined {
  const prev = getTag(db, name);
  const now = isoTime();
  db.prepare('INSERT INTO tags (name, image_id, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, created_at = excluded.created_at').run(name, id, now);
  if (touch) db.prepare('UPDATE images SET last_tag_time = ? WHERE id = ?').run(now, id);
  return prev && prev.imageId !== id ? prev.imageId : undefined;
}

export function deleteTag(db: Db, name: string): boolean {
  return db.prepare('DELETE FROM tags WHERE name = ?').run(name).changes > 0;
}

/** Every tag and digest name of repository `repo` (canonical, `docker.io/library/busybox`), sorted, with its image. */
export function namesInRepository(db: Db, repo: string): Array<{ name: string; imageId: Digest }> {
  const rows = db
    .prepare(
      `SELECT name, image_id FROM tags WHERE substr(name, 1, ?) = ? UNION ALL
       SELECT name, image_id FROM repo_digests WHERE substr(name, 1, ?) = ? ORDER BY name`,
    )
    .all(repo.length + 1, `${repo}:`, repo.length + 1, `${repo}@`) as Array<{ name: string; image_id: string }>;
  return rows.map((r) => ({ name: r.name, imageId: r.image_id as Digest }));
}

export function repoDigestsOf(db: Db, id: Digest): string[] {
  return (db.prepare('SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name').all(id) as Array<{ name: string }>).map((r) => r.name);
}

export function getRepoDigest(db: Db, name: string): Digest | undefined {
  const r = db.prepare('SELECT image_id FROM repo_digests WHERE name = ?').get(name) as { image_id: string } | undefined;
  return r?.image_id as Digest | undefined;
}

export function setRepoDigest(db: Db, name: string, id: Digest): void {
  db.prepare('INSERT INTO repo_digests (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id').run(name, id);
}

export function deleteRepoDigest(db: Db, name: string): boolean {
  return db.prepare('DELETE FROM repo_digests WHERE name = ?').run(name).changes > 0;
}

// --- leases ------------------------------------------------------------------------------

/** Protect content from garbage collection while this process works with it. */
export function createLease(db: Db): string {
  const id = `${process.pid}-${randomBytes(6).toString('hex')}`;
  db.prepare('INSERT INTO leases (id, pid, created_at) VALUES (?, ?, ?)').run(id, process.pid, isoTime());
  return id;
}

/** The lease keeps `ref` alive (a blob, a layer record, a snapshot) until it is deleted. */
export function leaseAdd(db: Db, leaseId: string, ref: Ref): void {
  addRefs(db, { kind: 'lease', id: leaseId }, [ref]);
}

export function deleteLease(db: Db, leaseId: string): void {
  dropRefs(db, { kind: 'lease', id: leaseId });
  db.prepare('DELETE FROM leases WHERE id = ?').run(leaseId);
}

/** Whether any lease belongs to a process that is gone (a read: no write lock needed to ask). */
export function hasDeadLeases(db: Db, alive: (pid: number) => boolean): boolean {
  return (db.prepare('SELECT pid FROM leases').all() as Array<{ pid: number }>).some((r) => !alive(r.pid));
}

/** The snapshots that leases of processes now gone protect (a read: what a killed cairn was making). */
export function deadLeaseSnapshots(db: Db, alive: (pid: number) => boolean): string[] {
  const out: string[] = [];
  for (const r of db.prepare('SELECT id, pid FROM leases').all() as Array<{ id: string; pid: number }>) {
    if (alive(r.pid)) continue;
    for (const ref of refsOf(db, { kind: 'lease', id: r.id })) if (ref.kind === 'snapshot') out.push(ref.id);
  }
  return out;
}

/** Remove leases whose process is gone (a killed cairn); returns how many. */
export function expireDeadLeases(db: Db, alive: (pid: number) => boolean): number {
  let n = 0;
  for (const r of db.prepare('SELECT id, pid FROM leases').all() as Array<{ id: string; pid: number }>) {
    if (alive(r.pid)) continue;
    deleteLease(db, r.id);
    n++;
  }
  return n;
}

// --- sweeping (called by the garbage collector with what it marked) ----------------------

/** Delete layer records not in `keep`; returns their chainIDs. */
export function sweepLayerRecords(db: Db, keep: ReadonlySet<string>): Digest[] {
  const gone = (db.prepare('SELECT chain_id FROM layers').all() as Array<{ chain_id: string }>).map((r) => r.chain_id).filter((c) => !keep.has(c));
  const del = db.prepare('DELETE FROM layers WHERE chain_id = ?');
  for (const c of gone) {
    del.run(c);
    dropRefs(db, { kind: 'layer', id: c });
  }
  return gone as Digest[];
}

/**
 * Forget what was known about blobs that are gone (the digest -> diffID cache), unless an
 * image still names them as a layer (its blob dropped: compressed-blobs=drop) or a remaining
 * layer can still re-emit them (an uncompressed blob whose layer has a tar-split).
 */
export function sweepLayerBlobRecords(db: Db, keep: ReadonlySet<string>): void {
  const del = db.prepare('DELETE FROM layer_blobs WHERE blob_digest = ?');
  const reemittable = db.prepare('SELECT 1 FROM layers WHERE diff_id = ? AND tar_split IS NOT NULL LIMIT 1');
  const named = db.prepare('SELECT 1 FROM image_layers WHERE blob_digest = ? LIMIT 1');
  for (const r of db.prepare('SELECT blob_digest, diff_id FROM layer_blobs').all() as Array<{ blob_digest: string; diff_id: string }>) {
    if (keep.has(r.blob_digest) || named.get(r.blob_digest) !== undefined) continue;
    if (r.blob_digest === r.diff_id && reemittable.get(r.diff_id) !== undefined) continue;
    del.run(r.blob_digest);
  }
}
