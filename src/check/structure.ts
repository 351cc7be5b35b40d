/**
 * The structural checks (`system check --quick` does only these): every image's config and
 * layer chain; everything the reference graph reaches exists (blobs, layer records,
 * snapshots), and everything that exists is reached; every snapshot's directory; named
 * ingests without their upload session; image mounts with nothing mounted; containers' and volumes' directories against their
 * records, both ways; images marked damaged.
 * Nothing is re-hashed here.
 */
import type { Digest } from '../digest/digest.js';
import { CairnError, NotFoundError } from '../errors.js';
import { containerDirProblems, removeOrphanDir, restoreContainerDir } from '../container/check.js';
import { isInitLayerKey } from '../container/init-layer.js';
import { containersOfVolume } from '../container/records.js';
import { orphanUploadIngests } from '../distribution/uploads.js';
import { readConfig } from '../image/config.js';
import { staleImageMounts, unmountImage } from '../image/mount.js';
import { writeTx } from '../metadata/db.js';
import { damagedImages, forgetTarSplit, getLayer, getLayerBlob, imageLayerRows } from '../metadata/records.js';
import { chainIds } from '../oci/chainid.js';
import { unpacksHere } from '../oci/platform.js';
import { isRecorded } from '../snapshot/index.js';
import { missingVolumeData, restoreMountpoint, volumeLeftovers } from '../volume/index.js';
import type { Affects, Problem } from './findings.js';
import type { Survey } from './survey.js';
import { keptBlobOf, reunpack, unpackRepair } from './unpacked.js';

const NONE: Affects = { images: [], containers: [] };

/**
 * Every image's config read and its layer chain followed; images marked damaged. `unpacked`
 * gets the images whose layers are unpacked here (not another OS's; an unreadable config
 * counts as unpacked); `corrupt`: blobs found corrupt (reported already, not read).
 */
export async function imageProblems(s: Survey, out: Problem[], unpacked: Set<Digest>, corrupt: ReadonlySet<Digest>): Promise<void> {
  const db = s.store.db;
  for (const img of s.images) {
    const name = s.imageName(img.id);
    const affects = { images: [name], containers: [] };
    let diffIds: Digest[] | undefined;
    if (s.blobs.has(img.id) && !corrupt.has(img.id)) {
      try {
        const { config } = await readConfig(s.store.content, img.id);
        diffIds = config.rootfs.diff_ids;
        if (unpacksHere(config)) unpacked.add(img.id);
      } catch (e) {
        if (!(e instanceof CairnError)) throw e;
        unpacked.add(img.id);
        out.push({ finding: { kind: 'image-config', object: `image ${name}`, message: `its config cannot be read: ${e.message}`, affects, repair: undefined }, damages: [img.id] });
      }
    } else {
      unpacked.add(img.id); // its config's absence or corruption is reported with the blobs
    }
    const rows = imageLayerRows(db, img.id);
    let wrong: string | undefined;
    const chains = diffIds !== undefined ? chainIds(diffIds) : undefined;
    if (diffIds !== undefined && diffIds.length !== rows.length) wrong = `its config names ${diffIds.length} layers, its record ${rows.length}`;
    for (const row of rows) {
      if (wrong !== undefined) break;
      const layer = s.layers.get(row.chainId);
      if (layer === undefined) {
        // said once, by the reachability check, when the image's edges name it (they do, unless they are damaged too)
        if (!s.marked.layer.has(row.chainId)) wrong = `no record of its layer ${row.index} (${row.chainId})`;
        continue;
      }
      const expectParent = row.index === 0 ? null : rows[row.index - 1]!.chainId;
      if (layer.parent !== expectParent) wrong = `layer ${row.index} (${row.chainId}) stands on ${layer.parent ?? 'nothing'}, not on ${expectParent ?? 'nothing'}`;
      else if (chains !== undefined && chains[row.index] !== row.chainId) wrong = `layer ${row.index} is ${row.chainId}, its config makes it ${chains[row.index]}`;
      else if (getLayerBlob(db, row.blobDigest) === undefined) wrong = `no record of the blob ${row.blobDigest} its manifest names for layer ${row.index}`;
    }
    const top = rows.length > 0 ? rows[rows.length - 1]!.chainId : null;
    if (wrong === undefined && img.topChainId !== top) wrong = `its top layer is recorded as ${img.topChainId ?? 'none'}, its chain ends at ${top ?? 'nothing'}`;
    if (wrong !== undefined) out.push({ finding: { kind: 'layer-chain', object: `image ${name}`, message: `its layer chain is broken: ${wrong}`, affects, repair: undefined }, damages: [img.id] });
  }
  for (const [id, why] of damagedImages(db)) {
    out.push({ finding: { kind: 'image-damaged', object: `image ${s.imageName(id)}`, message: `marked damaged (${why}): pull or load it again`, affects: { images: [s.imageName(id)], containers: [] }, repair: undefined }, damages: [] });
  }
}

/**
 * What the reference graph reaches must exist, and what exists must be reached. `skipBlobs`:
 * blobs reported already (found corrupt). `unpacked`: images unpacked here (another OS's have
 * no snapshots).
 */
export function graphProblems(s: Survey, out: Problem[], unpacked: ReadonlySet<Digest>, skipBlobs: ReadonlySet<Digest>): void {
  const db = s.store.db;
  // Blobs and snapshots were listed before the records were read: one made since is there now.
  for (const d of [...s.marked.blob].sort() as Digest[]) {
    if (s.blobs.has(d) || s.store.content.has(d)) continue;
    // A layer blob its layers' files re-emit is no loss: save and push make the layer from them
    // (a compressed blob dropped under compressed-blobs=drop, the store switched back to keep).
    const of = s.layersOfBlob(d);
    if (of.length > 0 && of.every((c) => (s.layers.get(c)?.tarSplit ?? null) !== null)) continue;
    const ref = { kind: 'blob', id: d } as const;
    const role = s.roles.get(d) ?? 'blob';
    const splitOf = [...s.layers.values()].filter((l) => l.tarSplit === d).map((l) => l.chainId);
    out.push({
      finding: {
        kind: 'blob-missing',
        object: `blob ${d}`,
        message: `${role}: missing from the content store`,
        affects: s.affects(ref),
        repair: splitOf.length > 0 ? "forget the record (a load or pull of the image records it again)" : undefined,
      },
      ...(splitOf.length > 0
        ? {
            fix: async () => {
              writeTx(db, () => {
                for (const c of splitOf) forgetTarSplit(db, c);
              });
              return false;
            },
          }
        : {}),
      damages: s.imagesReaching(ref),
    });
  }
  for (const c of [...s.marked.layer].sort() as Digest[]) {
    if (s.layers.has(c)) continue;
    const ref = { kind: 'layer', id: c } as const;
    out.push({ finding: { kind: 'layer-missing', object: `layer ${c}`, message: 'no record of it', affects: s.affects(ref), repair: undefined }, damages: s.imagesReaching(ref) });
  }
  if (s.sn !== undefined) {
    for (const key of [...s.marked.snapshot].sort()) {
      if (s.snapshots.has(key) || s.sn.hasFiles(key)) continue;
      const ref = { kind: 'snapshot', id: key } as const;
      const owner = s.containers.find((c) => c.snapshot === key);
      if (owner !== undefined) {
        out.push({ finding: { kind: 'container-snapshot', object: `container ${owner.name}`, message: `its writable layer (snapshot ${key}) is gone: remove the container`, affects: s.affects(ref), repair: undefined }, damages: [] });
        continue;
      }
      // Images of another OS have layer records and no snapshots.
      const images = s.imagesReaching(ref).filter((id) => unpacked.has(id));
      if (images.length === 0 && !s.containerReaches(ref)) continue;
      const layer = s.layers.get(key as Digest);
      const split = layer?.tarSplit ?? null;
      out.push({
        finding: {
          kind: 'snapshot-missing',
          object: layer ? `layer ${key}` : `snapshot ${key}`,
          message: 'its unpacked files (snapshot) are gone',
          affects: s.affects(ref),
          repair: split !== null ? 'forget its tar-split record, so that a load or pull of the image unpacks it again' : undefined,
        },
        ...(split !== null
          ? {
              fix: async () => {
                writeTx(db, () => forgetTarSplit(db, key as Digest));
                return false;
              },
            }
          : {}),
        damages: images,
      });
    }
  }
  // What exists and nothing reaches: left by a collection cut short; the collector takes it.
  const unreachable = (object: string, gone: () => Promise<boolean>): Problem => ({
    finding: { kind: 'unreachable', object, message: 'nothing uses it (left by work cut short)', affects: NONE, repair: 'remove it' },
    collected: gone,
    damages: [],
  });
  for (const d of s.blobs) if (!s.marked.blob.has(d) && !skipBlobs.has(d) && s.store.content.has(d)) out.push(unreachable(`blob ${d}`, async () => !s.store.content.has(d)));
  for (const c of s.layers.keys()) if (!s.marked.layer.has(c)) out.push(unreachable(`layer ${c}`, async () => getLayer(db, c) === undefined));
  const sn = s.sn;
  if (sn !== undefined) {
    for (const key of s.snapshots.keys()) {
      // an init layer no container uses waits for the next collection by design
      if (s.marked.snapshot.has(key) || isInitLayerKey(key)) continue;
      out.push(
        unreachable(`snapshot ${key}`, async () => {
          try {
            await sn.stat(key);
            return false;
          } catch (e) {
            if (e instanceof NotFoundError) return true;
            throw e;
          }
        }),
      );
    }
  }
}

/** Named ingests no upload session owns, unwritten for longer than a session may sit unused. */
export async function ingestProblems(s: Survey, out: Problem[]): Promise<void> {
  for (const ref of await orphanUploadIngests(s.store.db, s.store.content)) {
    out.push({
      finding: { kind: 'ingest-leftover', object: `ingest ${ref}`, message: 'bytes of an upload no session owns any more', affects: NONE, repair: 'remove it' },
      fix: async () => {
        await s.store.content.dropIngest(ref);
        return true;
      },
      damages: [],
    });
  }
}

/** Images recorded as mounted with nothing mounted where they were: forgotten as `image umount --all` forgets them. */
export function mountProblems(s: Survey, out: Problem[]): void {
  for (const m of staleImageMounts(s.store)) {
    const name = s.imageName(m.id);
    out.push({
      finding: {
        kind: 'mount-stale',
        object: `image ${name}`,
        message: `recorded as mounted at ${m.target} (${m.count} time${m.count === 1 ? '' : 's'}), but nothing is mounted there`,
        affects: NONE,
        repair: 'forget the mount, as image umount --all does',
      },
      fix: async () => (await unmountImage(s.store, m.id, { all: true })).left === 0,
      damages: [],
    });
  }
}

/** Snapshots whose directory is gone. Their layer, if nothing stands on it, is forgotten so that a load or pull unpacks it again. */
export function snapshotFileProblems(s: Survey, out: Problem[], broken: Set<string>, corrupt: ReadonlySet<Digest>): void {
  const sn = s.sn;
  if (sn === undefined) return;
  for (const [key, info] of s.snapshots) {
    if (sn.hasFiles(key)) continue;
    // removed since the survey by another process (a view of another system check, re-emitting a
    // layer, goes as that check ends): not a snapshot without its directory
    if (!isRecorded(s.store.db, key)) continue;
    broken.add(key);
    const ref = { kind: 'snapshot', id: key } as const;
    if (!s.marked.snapshot.has(key)) continue; // unreachable: reported as such, and collected
    const owner = s.containers.find((c) => c.snapshot === key);
    if (owner !== undefined) {
      out.push({ finding: { kind: 'snapshot-files', object: `container ${owner.name}`, message: `its writable layer's directory (snapshot ${key}) is gone: remove the container`, affects: s.affects(ref), repair: undefined }, damages: [] });
      continue;
    }
    const layer = info.kind === 'committed' ? s.layers.get(key as Digest) : undefined;
    const removable = layer !== undefined && !s.hasChildren(key);
    const blob = removable ? keptBlobOf(s, key as Digest, corrupt) : undefined;
    out.push({
      finding: {
        kind: 'snapshot-files',
        object: layer ? `layer ${key}` : `snapshot ${key}`,
        message: removable || layer === undefined ? "its snapshot's directory is gone" : "its snapshot's directory is gone, and other layers stand on it: remove the images and containers above it, then load or pull them again",
        affects: s.affects(ref),
        repair: removable ? unpackRepair(blob) : undefined,
      },
      ...(removable ? { fix: () => reunpack(s, key as Digest, blob) } : {}),
      damages: s.imagesReaching(ref),
    });
  }
}

/** Containers' and volumes' directories against their records, both ways. */
export function directoryProblems(s: Survey, out: Problem[]): void {
  const store = s.store;
  for (const p of containerDirProblems(store)) {
    if (p.kind === 'missing-dir') {
      out.push({
        finding: {
          kind: 'container-dir',
          object: `container ${p.name}`,
          message: `its directory containers/${p.id} is gone${p.live ? ' while it runs: stop and remove it' : ''}`,
          affects: NONE,
          repair: p.live ? undefined : 'make it again (its next start fills it)',
        },
        ...(p.live ? {} : { fix: async () => restoreContainerDir(store, p.id) }),
        damages: [],
      });
    } else {
      out.push({
        finding: {
          kind: 'container-orphan',
          object: `directory containers/${p.entry}`,
          message: p.mounted ? 'no container record names it, and something is mounted under it: unmount it first' : 'no container record names it',
          affects: NONE,
          repair: p.mounted ? undefined : 'remove it',
        },
        ...(p.mounted ? {} : { fix: () => removeOrphanDir(store, p.entry) }),
        damages: [],
      });
    }
  }
  for (const v of missingVolumeData(store)) {
    out.push({
      finding: {
        kind: 'volume-data',
        object: `volume ${v.name}`,
        message: v.mountpoint ? 'its mount point (_data) is gone' : 'its data directory (_data) is gone: its data is lost; remove the volume',
        affects: { images: [], containers: containersOfVolume(store.db, v.name).map((id) => s.containers.find((c) => c.id === id)?.name ?? id).sort() },
        repair: v.mountpoint ? 'make the mount point again' : undefined,
      },
      ...(v.mountpoint ? { fix: async () => restoreMountpoint(store, v.name) } : {}),
      damages: [],
    });
  }
  for (const l of volumeLeftovers(store)) {
    out.push({
      finding: {
        kind: 'volume-leftover',
        object: `directory volumes/${l.entry}`,
        message: l.owner !== undefined ? `left by process ${l.owner}, which is gone` : 'no volume record names it',
        affects: NONE,
        repair: 'remove it',
      },
      collected: async () => !volumeLeftovers(store).some((x) => x.entry === l.entry),
      damages: [],
    });
  }
}
