/**
 * The repositories `cairn registry serve` serves (tables `registry_blobs`, `registry_manifests`,
 * `registry_tags`, schema v8). A repository holds blobs (layers, configs and the manifests
 * themselves, all in the store's content store: a blob that is also a local image's is stored
 * once) — linked when pushed or mounted there, and kept alive by the repository (gc_refs edges
 * from `repository`); it holds manifests (by digest, with their media type and size, and for
 * the referrers API their artifact type and subject) and tags naming them. Callers group these
 * in writeTx() where they must be atomic.
 */
import type { Digest } from '../digest/digest.js';
import type { Db } from './db.js';
import { addRefs, blobRef, dropRef } from './refs.js';
import { isoTime } from './now.js';

export interface ManifestRecord {
  repo: string;
  digest: Digest;
  mediaType: string;
  size: number;
  artifactType: string | null;
  subject: Digest | null;
}

const owner = (repo: string) => ({ kind: 'repository', id: repo }) as const;

/** Repository `repo` holds blob `digest` (and keeps it alive). */
export function linkBlob(db: Db, repo: string, digest: Digest): void {
  if (db.prepare('INSERT OR IGNORE INTO registry_blobs (repo, digest, linked_at) VALUES (?, ?, ?)').run(repo, digest, isoTime()).changes === 0) return;
  addRefs(db, owner(repo), [blobRef(digest)]);
}

export function hasBlobLink(db: Db, repo: string, digest: Digest): boolean {
  return db.prepare('SELECT 1 FROM registry_blobs WHERE repo = ? AND digest = ?').get(repo, digest) !== undefined;
}

/** Any repository holds blob `digest` (automatic content discovery for a mount without `from`). */
export function anyBlobLink(db: Db, digest: Digest): boolean {
  return db.prepare('SELECT 1 FROM registry_blobs WHERE digest = ? LIMIT 1').get(digest) !== undefined;
}

/** Repository `repo` no longer holds blob `digest`; false when it did not. */
export function unlinkBlob(db: Db, repo: string, digest: Digest): boolean {
  if (db.prepare('DELETE FROM registry_blobs WHERE repo = ? AND digest = ?').run(repo, digest).changes === 0) return false;
  dropRef(db, owner(repo), blobRef(digest));
  return true;
}

export function putManifestRecord(db: Db, m: ManifestRecord): void {
  db.prepare(
    `INSERT INTO registry_manifests (repo, digest, media_type, size, artifact_type, subject, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(repo, digest) DO UPDATE SET media_type = excluded.media_type, size = excluded.size, artifact_type = excluded.artifact_type, subject = excluded.subject`,
  ).run(m.repo, m.digest, m.mediaType, m.size, m.artifactType, m.subject, isoTime());
}

interface ManifestRow {
  repo: string;
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: string | null;
}

const fromRow = (r: ManifestRow): ManifestRecord => ({ repo: r.repo, digest: r.digest as Digest, mediaType: r.media_type, size: r.size, artifactType: r.artifact_type, subject: r.subject as Digest | null });

export function getManifestRecord(db: Db, repo: string, digest: Digest): ManifestRecord | undefined {
  const r = db.prepare('SELECT * FROM registry_manifests WHERE repo = ? AND digest = ?').get(repo, digest) as ManifestRow | undefined;
  return r ? fromRow(r) : undefined;
}

/** Manifests of `repo` whose subject is `subject` (the referrers API), oldest first. */
export function referrersOf(db: Db, repo: string, subject: Digest): ManifestRecord[] {
  return (db.prepare('SELECT * FROM registry_manifests WHERE repo = ? AND subject = ? ORDER BY created_at, digest').all(repo, subject) as ManifestRow[]).map(fromRow);
}

export function deleteManifestRecord(db: Db, repo: string, digest: Digest): boolean {
  db.prepare('DELETE FROM registry_tags WHERE repo = ? AND digest = ?').run(repo, digest);
  return db.prepare('DELETE FROM registry_manifests WHERE repo = ? AND digest = ?').run(repo, digest).changes > 0;
}

export function setRegistryTag(db: Db, repo: string, tag: string, digest: Digest): void {
  db.prepare('INSERT INTO registry_tags (repo, tag, digest, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(repo, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at').run(
    repo,
    tag,
    digest,
    isoTime(),
  );
}

export function getRegistryTag(db: Db, repo: string, tag: string): Digest | undefined {
  return (db.prepare('SELECT digest FROM registry_tags WHERE repo = ? AND tag = ?').get(repo, tag) as { digest: string } | undefined)?.digest as Digest | undefined;
}

export function deleteRegistryTag(db: Db, repo: string, tag: string): boolean {
  return db.prepare('DELETE FROM registry_tags WHERE repo = ? AND tag = ?').run(repo, tag).changes > 0;
}

/** Tags of `repo` in lexical order, after `last`, at most `n`. */
export function registryTags(db: Db, repo: string, n: number, last?: string): string[] {
  return (db.prepare('SELECT tag FROM registry_tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?').all(repo, last ?? '', n) as Array<{ tag: string }>).map((r) => r.tag);
}

/** Whether the repository holds anything (a blob, a manifest or a tag). */
export function repositoryExists(db: Db, repo: string): boolean {
  return (
    db.prepare('SELECT 1 FROM registry_blobs WHERE repo = ? UNION ALL SELECT 1 FROM registry_manifests WHERE repo = ? UNION ALL SELECT 1 FROM registry_tags WHERE repo = ? LIMIT 1').get(repo, repo, repo) !== undefined
  );
}

/** Repositories holding a manifest, in lexical order, after `last`, at most `n` (the catalog). */
export function repositories(db: Db, n: number, last?: string): string[] {
  return (db.prepare('SELECT DISTINCT repo FROM registry_manifests WHERE repo > ? ORDER BY repo LIMIT ?').all(last ?? '', n) as Array<{ repo: string }>).map((r) => r.repo);
}

/** Every repository holding anything, in lexical order. */
export function allRepositories(db: Db): string[] {
  return (db.prepare('SELECT repo FROM registry_blobs UNION SELECT repo FROM registry_manifests UNION SELECT repo FROM registry_tags ORDER BY repo').all() as Array<{ repo: string }>).map((r) => r.repo);
}

/** The blobs `repo` holds, with when each was linked. */
export function repositoryBlobs(db: Db, repo: string): Array<{ digest: Digest; linkedAt: string }> {
  return (db.prepare('SELECT digest, linked_at FROM registry_blobs WHERE repo = ? ORDER BY digest').all(repo) as Array<{ digest: string; linked_at: string }>).map((r) => ({ digest: r.digest as Digest, linkedAt: r.linked_at }));
}

/** The manifests `repo` holds, with the tags naming each. */
export function repositoryManifests(db: Db, repo: string): Array<ManifestRecord & { tags: string[] }> {
  const tags = db.prepare('SELECT tag FROM registry_tags WHERE repo = ? AND digest = ? ORDER BY tag');
  return (db.prepare('SELECT * FROM registry_manifests WHERE repo = ? ORDER BY digest').all(repo) as ManifestRow[]).map((r) => ({ ...fromRow(r), tags: (tags.all(repo, r.digest) as Array<{ tag: string }>).map((t) => t.tag) }));
}

// --- upload sessions ------------------------------------------------------------------------

export interface UploadRecord {
  id: string;
  repo: string;
  startedAt: string;
  usedAt: string;
}

export function putUpload(db: Db, id: string, repo: string): void {
  const now = isoTime();
  db.prepare('INSERT INTO registry_uploads (id, repo, started_at, used_at) VALUES (?, ?, ?, ?)').run(id, repo, now, now);
}

export function getUpload(db: Db, id: string): UploadRecord | undefined {
  const r = db.prepare('SELECT id, repo, started_at, used_at FROM registry_uploads WHERE id = ?').get(id) as { id: string; repo: string; started_at: string; used_at: string } | undefined;
  return r ? { id: r.id, repo: r.repo, startedAt: r.started_at, usedAt: r.used_at } : undefined;
}

export function touchUpload(db: Db, id: string): void {
  db.prepare('UPDATE registry_uploads SET used_at = ? WHERE id = ?').run(isoTime(), id);
}

export function deleteUpload(db: Db, id: string): void {
  db.prepare('DELETE FROM registry_uploads WHERE id = ?').run(id);
}

export function countUploads(db: Db): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM registry_uploads').get() as { n: number }).n;
}

/** Uploads unused since `before` (an ISO time). */
export function staleUploads(db: Db, before: string): string[] {
  return (db.prepare('SELECT id FROM registry_uploads WHERE used_at < ?').all(before) as Array<{ id: string }>).map((r) => r.id);
}
