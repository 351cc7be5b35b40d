/**
 * `create`: a container record and its writable layer — an active snapshot prepared on the
 * image's top layer (so every container of an image shares the image's layers and holds only
 * its own changes) — made together: the snapshot is leased until the record, a
 * garbage-collection root, holds it, so a failure or a kill on the way leaves nothing that
 * survives the next collection. Nothing runs yet.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { removeTree } from '../rmtree.js';
import { readConfig, requireUnpacked } from '../image/config.js';
import { resolveImage } from '../image/resolve.js';
import { writeTx } from '../metadata/db.js';
import { snapshotRef } from '../metadata/refs.js';
import type { Store } from '../store/store.js';
import { containerFiles } from './files.js';
import { initialState, type ContainerRecord, type ContainerSettings } from './model.js';
import { randomName } from './names.js';
import { NAME_PATTERN, findContainer, insertContainer, nameTaken } from './records.js';

/** The snapshot key of a container's writable layer. */
export function snapshotKeyOf(id: string): string {
  return `container-${id}`;
}

function insertContainerNameCheck(store: Store, name: string): void {
  const taken = findContainer(store.db, name);
  if (taken !== undefined && taken.name === name) {
    throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  }
}

/** Check a `--name` as Docker does. */
export function checkName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new InvalidArgumentError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name.slice(1) : name;
}

export async function createContainer(store: Store, settings: ContainerSettings, name?: string): Promise<ContainerRecord> {
  const { image } = resolveImage(store.db, settings.image);
  await requireUnpacked(store.content, image.id, settings.image);
  const config = (await readConfig(store.content, image.id)).config.config;
  const entrypoint = settings.entrypoint ?? config?.Entrypoint ?? [];
  const cmd = settings.args.length > 0 ? settings.args : settings.entrypoint !== undefined ? [] : (config?.Cmd ?? []);
  settings = { ...settings, command: [...entrypoint, ...cmd] };
  const wanted = name !== undefined && name !== '' ? checkName(name) : undefined;
  // Refused before anything is made (checked again in the transaction that takes the name).
  if (wanted !== undefined) insertContainerNameCheck(store, wanted);
  // Docker's IDs are never all digits (a short ID could be read as a number).
  let id: string;
  do id = randomBytes(32).toString('hex');
  while (/^\d+$/.test(id.slice(0, 12)));
  const key = snapshotKeyOf(id);
  const sn = await store.snapshots();
  return store.withLease(async (protect) => {
    protect(snapshotRef(key));
    await sn.prepare(key, image.topChainId ?? undefined);
    const files = containerFiles(store.root, id);
    try {
      mkdirSync(files.dir, { recursive: true, mode: 0o700 });
      const rec: ContainerRecord = {
        id,
        name: wanted ?? '',
        imageId: image.id,
        snapshot: key,
        created: new Date().toISOString(),
        settings,
        state: initialState(),
      };
      writeTx(store.db, () => {
        rec.name = wanted ?? randomName((n) => nameTaken(store.db, n));
        insertContainer(store.db, rec, image.topChainId ?? undefined);
      });
      return rec;
    } catch (e) {
      await sn.remove(key);
      await removeTree(files.dir);
      throw e;
    }
  });
}
