/**
 * Container records in the metadata database (tables `containers` and `container_volumes`,
 * schema v9): insert, look up as Docker does (full ID, name, unique ID prefix), list, update
 * the state, rename, delete. A container is a garbage-collection root of its writable snapshot,
 * its image's top layer and its image's config (so a forced `rmi` leaves it what it starts from). Callers hold the
 * write transaction (`writeTx`) around changes that must go together.
 */
import type { Digest } from '../digest/digest.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Db } from '../metadata/db.js';
import { addRefs, blobRef, dropRefs, layerRef, snapshotRef } from '../metadata/refs.js';
import { volumesOf, type ContainerRecord, type ContainerSettings, type ContainerState, type ContainerStatus } from './model.js';

interface Row {
  id: string;
  name: string;
  image_id: string;
  image_ref: string;
  snapshot: string;
  created_at: string;
  status: string;
  config: string;
  state: string;
}

const owner = (id: string) => ({ kind: 'container', id }) as const;

function fromRow(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    imageId: r.image_id as Digest,
    snapshot: r.snapshot,
    created: r.created_at,
    settings: JSON.parse(r.config) as ContainerSettings,
    state: JSON.parse(r.state) as ContainerState,
  };
}

/** Add a container (its name must be free); `topChainId` is its image's top layer. */
export function insertContainer(db: Db, rec: ContainerRecord, topChainId: Digest | undefined): void {
  const taken = db.prepare('SELECT id FROM containers WHERE name = ?').get(rec.name) as { id: string } | undefined;
  if (taken !== undefined) {
    throw new ConflictError(`Conflict. The container name "/${rec.name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  }
  db.prepare('INSERT INTO containers (id, name, image_id, image_ref, snapshot, created_at, status, config, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    rec.id, rec.name, rec.imageId, rec.settings.create.image, rec.snapshot, rec.created, rec.state.status, JSON.stringify(rec.settings), JSON.stringify(rec.state),
  );
  const ins = db.prepare('INSERT OR IGNORE INTO container_volumes (container_id, volume) VALUES (?, ?)');
  for (const v of volumesOf(rec.settings)) ins.run(rec.id, v.name);
  // Its image's config too: a container starts from it even after a forced rmi took the image.
  addRefs(db, owner(rec.id), [snapshotRef(rec.snapshot), blobRef(rec.imageId), ...(topChainId !== undefined ? [layerRef(topChainId)] : [])]);
}

/** The container `ref` names, or undefined. */
export function findContainer(db: Db, ref: string): ContainerRecord | undefined {
  const name = ref.startsWith('/') ? ref.slice(1) : ref;
  const exact = db.prepare('SELECT * FROM containers WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1').get(ref, name, ref) as Row | undefined;
  if (exact !== undefined) return fromRow(exact);
  if (!/^[0-9a-f]{1,63}$/.test(ref)) return undefined;
  const rows = db.prepare("SELECT * FROM containers WHERE id LIKE ? || '%' LIMIT 2").all(ref) as Row[];
  if (rows.length > 1) throw new ConflictError(`multiple IDs found with provided prefix: ${ref}`);
  return rows.length === 1 ? fromRow(rows[0]!) : undefined;
}

/** The container `ref` names; Docker's "No such container" otherwise. */
export function getContainer(db: Db, ref: string): ContainerRecord {
  const c = findContainer(db, ref);
  if (c === undefined) throw new NotFoundError(`No such container: ${ref}`);
  return c;
}

/** Every container, newest first (as `ps` lists them). */
export function listContainers(db: Db): ContainerRecord[] {
  return (db.prepare('SELECT * FROM containers ORDER BY created_at DESC, rowid DESC').all() as Row[]).map(fromRow);
}

export function setState(db: Db, id: string, state: ContainerState): void {
  db.prepare('UPDATE containers SET status = ?, state = ? WHERE id = ?').run(state.status, JSON.stringify(state), id);
}

/** Set the state only if the record still says `expected` (another process may have moved it on). */
export function setStateIf(db: Db, id: string, expected: ContainerStatus, state: ContainerState): boolean {
  return db.prepare('UPDATE containers SET status = ?, state = ? WHERE id = ? AND status = ?').run(state.status, JSON.stringify(state), id, expected).changes === 1;
}

export function renameContainer(db: Db, id: string, name: string): void {
  const taken = db.prepare('SELECT id FROM containers WHERE name = ?').get(name) as { id: string } | undefined;
  if (taken !== undefined && taken.id !== id) {
    throw new ConflictError(`Error when allocating new name: Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  }
  db.prepare('UPDATE containers SET name = ? WHERE id = ?').run(name, id);
}

/** Delete a container's record; false when there was none (another process deleted it first). */
export function deleteContainer(db: Db, id: string): boolean {
  const deleted = db.prepare('DELETE FROM containers WHERE id = ?').run(id).changes > 0;
  db.prepare('DELETE FROM container_volumes WHERE container_id = ?').run(id);
  dropRefs(db, owner(id));
  return deleted;
}

/** The containers using image `imageId`, with whether each is live. */
export function containersOfImage(db: Db, imageId: string): Array<{ id: string; status: ContainerStatus }> {
  return db.prepare('SELECT id, status FROM containers WHERE image_id = ?').all(imageId) as Array<{ id: string; status: ContainerStatus }>;
}

/** The containers using named volume `volume`. */
export function containersOfVolume(db: Db, volume: string): string[] {
  return (db.prepare('SELECT container_id FROM container_volumes WHERE volume = ? ORDER BY container_id').all(volume) as Array<{ container_id: string }>).map((r) => r.container_id);
}

export function nameTaken(db: Db, name: string): boolean {
  return db.prepare('SELECT 1 FROM containers WHERE name = ?').get(name) !== undefined;
}
