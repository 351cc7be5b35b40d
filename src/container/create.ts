/**
 * `create`: a container record and its writable layer — an active snapshot prepared on the
 * image's top layer (so every container of an image shares the image's layers and holds only
 * its own changes) — made together: the snapshot is leased until the record, a
 * garbage-collection root, holds it, so a failure or a kill on the way leaves nothing that
 * survives the next collection. Nothing runs yet.
 *
 * What Docker resolves at create is resolved here from the flags (options.ts) and the image:
 * the command (Docker's Path and Args; "No command specified" without one), the mounts
 * (`-v`, `--mount`, `--volumes-from`'s, the image's VOLUMEs as anonymous volumes), the named
 * volumes (made when missing, as Docker makes them) and anonymous ones (made and named now).
 * Volumes made here are removed again if the create fails.
 */
import { randomBytes } from '../random.js';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConflictError, NotFoundError } from '../errors.js';
import { readConfig, requireUnpacked } from '../image/config.js';
import { resolveImage } from '../image/resolve.js';
import type { ContainerConfig } from '../oci/types.js';
import { writeTx } from '../metadata/db.js';
import { getImage } from '../metadata/records.js';
import { snapshotRef } from '../metadata/refs.js';
import { removeTree } from '../rmtree.js';
import { RUNTIME_NAMES, type RuntimeName } from '../runtime/oci-runtime.js';
import type { Store } from '../store/store.js';
import { createVolume, removeVolume } from '../volume/index.js';
import { dockerConfig, pathAndArgs } from './config.js';
import { containerFiles } from './files.js';
import { ensureInitLayer, initLayerKey } from './init-layer.js';
import { initialState, type ContainerRecord, type ContainerSettings } from './model.js';
import { containerMounts, type MountSpec } from './mounts.js';
import { randomName } from './names.js';
import type { CreateOptions } from './options.js';
import { findContainer, insertContainer, nameTaken } from './records.js';
import { imageConfigOf, mountRootfs, unmountRootfs } from './prepare.js';
import { removeContainer } from './lifecycle.js';
import { ensureInRoot } from '../runtime/rootpath.js';

/** The snapshot key of a container's writable layer. */
export function snapshotKeyOf(id: string): string {
  return `container-${id}`;
}

function refuseTakenName(store: Store, name: string): void {
  const taken = findContainer(store.db, name);
  if (taken !== undefined && taken.name === name) {
    throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  }
}

/** `--volumes-from`: the mounts of each container named, read-only where asked. */
function inheritedMounts(store: Store, opts: CreateOptions): MountSpec[] {
  const out: MountSpec[] = [];
  for (const from of opts.volumesFrom) {
    const source = findContainer(store.db, from.container);
    if (source === undefined) throw new NotFoundError(`No such container: ${from.container}`);
    for (const m of source.settings.mounts) {
      if (m.type === 'tmpfs') continue;
      const copy = { ...m } as MountSpec;
      if (m.type === 'volume') delete (copy as { anonymous?: boolean }).anonymous;
      if (from.mode === 'ro') copy.readOnly = true;
      else if (from.mode === 'rw') copy.readOnly = false;
      out.push(copy);
    }
  }
  return out;
}

/**
 * Make the container's working directory in its writable layer now, as Docker's create does
 * (container.SetupWorkingDirectory: `diff` lists it; a working directory that is a file fails
 * the create with "Cannot mkdir: DIR is not a directory"), resolved inside the root
 * filesystem, mounted for the job. On failure the container is removed again.
 */
async function makeWorkingDir(store: Store, rec: ContainerRecord, dir: string): Promise<void> {
  try {
    const rootfs = await mountRootfs(store, rec);
    try {
      ensureInRoot(rootfs, dir, 'dir', 'working directory');
    } finally {
      unmountRootfs(store.root, rec.id);
    }
  } catch (e) {
    await removeContainer(store, rec.id, { force: true, volumes: true });
    throw e;
  }
}

export interface CreateContainerOptions {
  /** Make the working directory now (`create`; `run` makes it when it starts the container). */
  makeWorkingDir?: boolean;
}

export async function createContainer(store: Store, opts: CreateOptions, how: CreateContainerOptions = {}): Promise<ContainerRecord> {
  const rec = await createRecord(store, opts);
  const dir = dockerConfig(opts, await imageConfigOf(store, rec), { id: rec.id, hostHostname: hostname() }).WorkingDir;
  if (how.makeWorkingDir && dir !== '') await makeWorkingDir(store, rec, dir);
  return rec;
}

async function createRecord(store: Store, opts: CreateOptions): Promise<ContainerRecord> {
  const { image } = resolveImage(store.db, opts.image);
  let config: ContainerConfig | undefined;
  try {
    await requireUnpacked(store.content, image.id, opts.image);
    config = (await readConfig(store.content, image.id)).config.config;
  } catch (e) {
    // removed since it was resolved by another process (a prune): said as a missing image
    if (e instanceof NotFoundError && getImage(store.db, image.id) === undefined) throw new NotFoundError(`No such image: ${opts.image}`, { cause: e });
    throw e;
  }
  // Refused before anything is made (checked again in the transaction that takes the name).
  if (opts.name !== undefined) refuseTakenName(store, opts.name);
  // Docker's IDs are never all digits in their short form (it could be read as a number).
  let id: string;
  do id = randomBytes(32).toString('hex');
  while (/^\d+$/.test(id.slice(0, 12)));
  const { path, args } = pathAndArgs(dockerConfig(opts, config, { id, hostHostname: hostname() }));
  const runtime = (opts.runtime ?? 'crun') as RuntimeName;
  if (!RUNTIME_NAMES.includes(runtime)) throw new NotFoundError(`Unknown runtime specified ${runtime}`);

  const planned = containerMounts({
    volumes: opts.volumes,
    mounts: opts.mounts,
    tmpfs: opts.tmpfs,
    imageVolumes: Object.keys(config?.Volumes ?? {}),
    inherited: inheritedMounts(store, opts),
  });
  const made: string[] = [];
  const undoVolumes = async () => {
    for (const name of made) await removeVolume(store, name, { force: true, inUse: () => [] });
  };
  try {
    const mounts: MountSpec[] = [];
    for (const m of planned) {
      if (m.type !== 'volume') {
        if (m.type === 'bind' && m.createSource) mkdirSync(m.source, { recursive: true });
        mounts.push(m);
        continue;
      }
      if (m.name === undefined) {
        const v = await createVolume(store, { anonymous: true });
        made.push(v.name);
        mounts.push({ ...m, name: v.name, anonymous: true });
      } else {
        const v = await createVolume(store, {
          name: m.name,
          ...(Object.keys(m.driverOpts).length > 0 ? { options: m.driverOpts } : {}),
          ...(Object.keys(m.labels).length > 0 ? { labels: m.labels } : {}),
        });
        mounts.push({ ...m, name: v.name });
      }
    }
    const settings: ContainerSettings = { create: opts, command: [path, ...args].filter((a, i) => i > 0 || a !== ''), mounts, runtime };
    const key = snapshotKeyOf(id);
    const sn = await store.snapshots();
    // The container's snapshot and its image's init layer are protected from the start (one transaction).
    return await store.withLease(async (protect) => {
      // The image's layers are leased from here on; if a prune in another process took the
      // image since it was resolved, its layers may be going: said as Docker says a missing image.
      if (getImage(store.db, image.id) === undefined) throw new NotFoundError(`No such image: ${opts.image}`);
      // The container stands on its image's init layer (the runtime's mount points), as Docker's does.
      await sn.prepare(key, await ensureInitLayer(store, image.topChainId, protect));
      const files = containerFiles(store.root, id);
      try {
        mkdirSync(files.dir, { recursive: true, mode: 0o700 });
        const rec: ContainerRecord = { id, name: opts.name ?? '', imageId: image.id, snapshot: key, created: new Date().toISOString(), settings, state: initialState() };
        writeTx(store.db, () => {
          // removed meanwhile by another process (a prune): no container is recorded on an image that is gone
          if (getImage(store.db, image.id) === undefined) throw new NotFoundError(`No such image: ${opts.image}`);
          rec.name = opts.name ?? randomName((n) => nameTaken(store.db, n));
          insertContainer(store.db, rec, image.topChainId ?? undefined);
        });
        return rec;
      } catch (e) {
        await sn.remove(key);
        await removeTree(files.dir);
        throw e;
      }
    }, [snapshotRef(key), snapshotRef(initLayerKey(image.topChainId)), ...(image.topChainId !== null ? [snapshotRef(image.topChainId)] : [])]);
  } catch (e) {
    await undoVolumes();
    throw e;
  }
}
