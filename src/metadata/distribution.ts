/**
 * Where blobs were seen in registries (Docker's distribution metadata; table `blob_sources`,
 * schema v7): a registry's repository holds a blob (digest, media type, size) that is the layer
 * with a given diffID. pull records the blobs it fetched, push those it uploaded, found or
 * mounted; push asks which blobs of a layer a registry is known to hold, to skip one the target
 * repository has (a compressed form pushed before) or mount it from another repository.
 */
import type { Digest } from '../digest/digest.js';
import type { Db } from './db.js';
import { isoTime } from './now.js';

export interface BlobSource {
  digest: Digest;
  diffId: Digest;
  mediaType: string;
  size: number;
  /** `host[:port]` as references name it. */
  registry: string;
  repository: string;
}

interface Row {
  digest: string;
  diff_id: string;
  media_type: string;
  size: number;
  registry: string;
  repository: string;
}

export function rememberBlobSource(db: Db, s: BlobSource): void {
  db.prepare(
    `INSERT INTO blob_sources (digest, diff_id, media_type, size, registry, repository, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(digest, registry, repository) DO UPDATE SET diff_id = excluded.diff_id, media_type = excluded.media_type, size = excluded.size, seen_at = excluded.seen_at`,
  ).run(s.digest, s.diffId, s.mediaType, s.size, s.registry, s.repository, isoTime());
}

/** The blobs of layer `diffId` that `registry` is known to hold, most recently seen first. */
export function blobSourcesOf(db: Db, diffId: Digest, registry: string): BlobSource[] {
  const rows = db.prepare('SELECT digest, diff_id, media_type, size, registry, repository FROM blob_sources WHERE diff_id = ? AND registry = ? ORDER BY seen_at DESC, repository').all(diffId, registry) as Row[];
  return rows.map((r) => ({ digest: r.digest as Digest, diffId: r.diff_id as Digest, mediaType: r.media_type, size: r.size, registry: r.registry, repository: r.repository }));
}

/** A registry no longer holds the blob in that repository. */
export function forgetBlobSource(db: Db, digest: Digest, registry: string, repository: string): void {
  db.prepare('DELETE FROM blob_sources WHERE digest = ? AND registry = ? AND repository = ?').run(digest, registry, repository);
}
