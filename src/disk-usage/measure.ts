/**
 * `system df`: what the store holds on disk, by what holds it — images, containers, volumes,
 * the build cache, and the compressed layer blobs kept beside the layers — each thing once,
 * in bytes of disk (allocated blocks, hard links once: what `du` counts).
 *
 * - An image holds its config and manifest blobs and its layers; a layer is its snapshot (the
 *   unpacked files), its tar-split record, and its blob when its tar cannot be re-made from
 *   its files (no tar-split record; an image of another OS). A layer shared by several images
 *   counts once: the Images SIZE; per image its bytes, SHARED (held by another image too) and
 *   UNIQUE (the rest). An image is active when a container uses it; RECLAIMABLE is the bytes
 *   no active image holds.
 * - A compressed layer blob an image keeps only so that save and push keep its digest (the
 *   store's `compressed-blobs=keep`) is not the layer (its files and tar-split record are):
 *   those blobs are a category of their own, counted the same way as images.
 * - A container holds its writable layer (walked every time: it changes) and its directory
 *   (bundle, /etc files, log); beneath it, the init layer shared by the containers of one image
 *   (and any layer of an image removed since) counts in the Containers SIZE once, not in a
 *   container's. Active: live (running, paused, restarting); RECLAIMABLE: what the others hold.
 * - A volume is its directory; active when a container uses it (its links).
 * - The build cache: each entry's layer (snapshot and tar-split record) — `shared` when an
 *   image or container holds it too, and then counted there, not here — and each
 *   `RUN --mount=type=cache` directory; in use when a build holds it.
 *
 * A committed snapshot's usage is measured once and kept by the snapshotter (its files never
 * change), so a second `system df` walks only the writable layers, volumes and directories.
 */
import { join } from 'node:path';
import type { Digest } from '../digest/digest.js';
import { hexOf } from '../digest/digest.js';
import { CairnError, NotFoundError, errnoCode } from '../errors.js';
import { getLayer, imageLayers, listImages, tagsOf } from '../metadata/records.js';
import { parseNormalizedReference } from '../reference/reference.js';
import { diskUsage } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { cacheEntries } from '../build/cache-records.js';
import { cacheMountsDir, listCacheMounts } from '../build/cache-mounts.js';
import type { StepInputs } from '../build/cache-key.js';
import { containerFiles } from '../container/files.js';
import { isLive, type ContainerRecord } from '../container/model.js';
import type { Volume } from '../volume/index.js';
import { volumeDir } from '../volume/layout.js';
import { heldKeys, tally, type Holding, type ObjectKey } from './tally.js';

/** A category's line: how many, how many in use, their bytes together, and the bytes of those not in use. */
export interface UsageTotals {
  count: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface ImageDiskUsage {
  id: Digest;
  /** Familiar names, sorted. */
  repoTags: string[];
  /** Unix milliseconds; 0 when unknown. */
  created: number;
  /** Bytes of everything the image holds. */
  size: number;
  /** The part of `size` another image holds too. */
  sharedSize: number;
  /** Containers made from it, running or not. */
  containers: number;
}

export interface ContainerDiskUsage {
  id: string;
  name: string;
  /** Live: running, paused or restarting. */
  active: boolean;
  /** Bytes of its writable layer and its directory. */
  size: number;
}

export interface VolumeDiskUsage {
  volume: Volume;
  /** Containers that use it, running or not. */
  links: number;
  size: number;
}

export interface BuildCacheDiskUsage {
  /** A layer entry's cache key (hex), or a cache mount's directory name. */
  id: string;
  /** BuildKit's record types: a step's layer, or a `RUN --mount=type=cache` directory. */
  type: 'regular' | 'exec.cachemount';
  description: string;
  /** The entry whose layer this one's stands on, if there is one. */
  parent: string;
  size: number;
  /** Unix milliseconds. */
  created: number;
  lastUsed: number;
  inUse: boolean;
  /** Held by an image or a container too (counted there). */
  shared: boolean;
}

export interface CompressedBlobDiskUsage {
  digest: Digest;
  size: number;
  /** Images that keep it. */
  images: number;
}

export interface DiskUsage {
  images: UsageTotals & { items: ImageDiskUsage[] };
  containers: UsageTotals & { items: ContainerDiskUsage[] };
  volumes: UsageTotals & { items: VolumeDiskUsage[] };
  buildCache: UsageTotals & { items: BuildCacheDiskUsage[] };
  compressedBlobs: UsageTotals & { items: CompressedBlobDiskUsage[] };
}

/** What the engine knows of the store's users: its containers (brought up to date) and volumes with their links. */
export interface DiskUsageInput {
  containers: readonly ContainerRecord[];
  volumes: ReadonlyArray<{ volume: Volume; links: number }>;
}

/** Measurements done at once, at most. */
const AT_ONCE = 16;

const snapshotKey = (key: string): ObjectKey => `snapshot:${key}`;
const blobKey = (d: Digest): ObjectKey => `blob:${d}`;

export async function measureDiskUsage(store: Store, input: DiskUsageInput): Promise<DiskUsage> {
  const db = store.db;
  const sn = await store.snapshots();
  const parents = new Map<string, string | undefined>();
  for await (const info of sn.walk()) parents.set(info.key, info.parent);
  const bytes = new Map<ObjectKey, number>();
  const pending = new Map<ObjectKey, () => Promise<number | undefined>>();
  const want = (key: ObjectKey, measure: () => Promise<number | undefined>): ObjectKey => {
    if (!bytes.has(key) && !pending.has(key)) pending.set(key, measure);
    return key;
  };
  const snapshot = (key: string): ObjectKey[] => (parents.has(key) ? [want(snapshotKey(key), () => snapshotBytes(key))] : []);
  /** A snapshot's bytes, or undefined when it was removed since the walk (a concurrent rmi or collection). */
  const snapshotBytes = async (key: string): Promise<number | undefined> => {
    try {
      return (await sn.usage(key)).size;
    } catch (e) {
      if (e instanceof NotFoundError || errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  };
  const blob = (d: Digest): ObjectKey => want(blobKey(d), () => store.content.diskBytes(d));
  const dir = (key: ObjectKey, path: string): ObjectKey => want(key, () => dirBytes(path));
  /** The snapshots of a chain from `key` down, each with its layer's tar-split record (remembered by `key`: the containers of one image share it). */
  const chains = new Map<string, ObjectKey[]>();
  const chain = (key: string | undefined): ObjectKey[] => {
    if (key === undefined) return [];
    let out = chains.get(key);
    if (out === undefined) {
      out = [];
      for (let k: string | undefined = key; k !== undefined && parents.has(k); k = parents.get(k)) {
        out.push(...snapshot(k));
        const split = k.startsWith('sha256:') ? getLayer(db, k as Digest)?.tarSplit : null;
        if (split !== null && split !== undefined) out.push(blob(split));
      }
      chains.set(key, out);
    }
    return out;
  };

  // Images, and the compressed blobs they keep beside their layers.
  const usedBy = new Map<string, number>();
  for (const c of input.containers) usedBy.set(c.imageId, (usedBy.get(c.imageId) ?? 0) + 1);
  const images = listImages(db).map((img) => {
    const objects: ObjectKey[] = [blob(img.id), blob(img.manifestDigest)];
    const compressed: ObjectKey[] = [];
    for (const l of imageLayers(db, img.id)) {
      objects.push(...snapshot(l.chainId));
      if (l.tarSplit !== null) objects.push(blob(l.tarSplit));
      if (l.tarSplit === null) objects.push(blob(l.blob.blobDigest));
      else if (l.blob.blobDigest !== l.diffId && store.content.has(l.blob.blobDigest)) compressed.push(blob(l.blob.blobDigest));
    }
    return { img, objects, compressed, containers: usedBy.get(img.id) ?? 0 };
  });

  // Containers: each its own layer and directory; the layers beneath it that no image holds.
  const containers = input.containers.map((c) => ({
    rec: c,
    own: [...snapshot(c.snapshot), dir(`container:${c.id}`, containerFiles(store.root, c.id).dir)],
    beneath: chain(parents.get(c.snapshot)),
  }));

  const volumes = input.volumes.map((v) => ({ ...v, key: dir(`volume:${v.volume.name}`, volumeDir(store.root, v.volume.name)) }));

  // The build cache: layer entries, then cache mount directories.
  const layerOf = new Map<string, string>();
  const entries = cacheEntries(db).map((e) => {
    if (!layerOf.has(e.chainId)) layerOf.set(e.chainId, hexOf(e.key));
    return { e, own: [...snapshot(e.chainId), blob(e.tarSplit)], beneath: chain(parents.get(e.chainId)) };
  });
  const mountsDir = cacheMountsDir(store.root);
  const cacheMounts = listCacheMounts(store.root).map((m) => ({ m, own: [dir(`cache-mount:${m.hash}`, join(mountsDir, m.hash))] }));

  await measureAll(pending, bytes);
  const size = (k: ObjectKey): number => bytes.get(k) ?? 0;
  const sum = (keys: Iterable<ObjectKey>): number => {
    let n = 0;
    for (const k of new Set(keys)) n += size(k);
    return n;
  };

  const imageHoldings: Holding[] = images.map((i) => ({ objects: i.objects, active: i.containers > 0 }));
  const imageTally = tally(imageHoldings, size);
  const inImages = heldKeys(imageHoldings);

  const compressedTally = tally(images.map((i) => ({ objects: i.compressed, active: i.containers > 0 })), size, inImages);
  const compressedHolders = new Map<ObjectKey, number>();
  for (const i of images) for (const k of new Set(i.compressed)) if (!inImages.has(k)) compressedHolders.set(k, (compressedHolders.get(k) ?? 0) + 1);
  const compressedActive = new Set(images.filter((i) => i.containers > 0).flatMap((i) => i.compressed));

  const containerHoldings: Holding[] = containers.map((c) => ({ objects: [...c.own, ...c.beneath], active: isLive(c.rec.state.status) }));
  const containerTally = tally(containerHoldings, size, inImages);
  const inImagesOrContainers = new Set([...inImages, ...heldKeys(containerHoldings)]);

  const cacheHoldings: Holding[] = [
    ...entries.map((x) => ({ objects: [...x.own, ...x.beneath], active: false })),
    ...cacheMounts.map((x) => ({ objects: x.own, active: x.m.instances.some((i) => i.inUse) })),
  ];
  const cacheTally = tally(cacheHoldings, size, inImagesOrContainers);

  const volumeTotal = volumes.reduce((n, v) => n + size(v.key), 0);
  return {
    images: {
      count: images.length,
      active: images.filter((i) => i.containers > 0).length,
      size: imageTally.size,
      reclaimable: imageTally.reclaimable,
      items: images.map((i, n) => ({
        id: i.img.id,
        repoTags: tagsOf(db, i.img.id).map((t) => parseNormalizedReference(t).familiarString()),
        created: timeOf(i.img.created),
        size: imageTally.each[n]!.size,
        sharedSize: imageTally.each[n]!.shared,
        containers: i.containers,
      })),
    },
    containers: {
      count: containers.length,
      active: containerHoldings.filter((h) => h.active).length,
      size: containerTally.size,
      reclaimable: containerTally.reclaimable,
      items: containers.map((c) => ({ id: c.rec.id, name: c.rec.name, active: isLive(c.rec.state.status), size: sum(c.own) })),
    },
    volumes: {
      count: volumes.length,
      active: volumes.filter((v) => v.links > 0).length,
      size: volumeTotal,
      reclaimable: volumes.filter((v) => v.links === 0).reduce((n, v) => n + size(v.key), 0),
      items: volumes.map((v) => ({ volume: v.volume, links: v.links, size: size(v.key) })),
    },
    buildCache: {
      count: cacheHoldings.length,
      active: cacheHoldings.filter((h) => h.active).length,
      size: cacheTally.size,
      reclaimable: cacheTally.reclaimable,
      items: [
        ...entries.map(({ e, own }) => ({
          id: hexOf(e.key),
          type: 'regular' as const,
          description: describeStep(e.inputs, e.key),
          parent: layerOf.get(parents.get(e.chainId) ?? '') ?? '',
          size: sum(own),
          created: timeOf(e.createdAt),
          lastUsed: timeOf(e.lastUsed),
          inUse: false,
          shared: own.some((k) => inImagesOrContainers.has(k)),
        })),
        ...cacheMounts.map(({ m, own }) => ({
          id: m.hash,
          type: 'exec.cachemount' as const,
          description: `cached mount ${m.id}`,
          parent: '',
          size: sum(own),
          created: timeOf(m.created),
          lastUsed: Math.max(0, ...m.instances.map((i) => i.lastUsed.getTime())),
          inUse: m.instances.some((i) => i.inUse),
          shared: false,
        })),
      ],
    },
    compressedBlobs: {
      count: compressedHolders.size,
      active: [...compressedHolders.keys()].filter((k) => compressedActive.has(k)).length,
      size: compressedTally.size,
      reclaimable: compressedTally.reclaimable,
      items: [...compressedHolders].map(([k, n]) => ({ digest: k.slice('blob:'.length) as Digest, size: size(k), images: n })),
    },
  };
}

/** Unix milliseconds of an RFC 3339 time; 0 when there is none. */
function timeOf(iso: string | null): number {
  const ms = iso === null || iso === '' ? NaN : Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Measure what is pending, a few at once; what is not there (removed meanwhile) counts nothing. */
async function measureAll(pending: Map<ObjectKey, () => Promise<number | undefined>>, bytes: Map<ObjectKey, number>): Promise<void> {
  const work = [...pending];
  pending.clear();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < work.length) {
      const [key, measure] = work[next++]!;
      const b = await measure();
      if (b !== undefined) bytes.set(key, b);
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, work.length) }, worker));
}

/** A directory's bytes on disk (not crossing mount points), or undefined when it is not there. */
async function dirBytes(path: string): Promise<number | undefined> {
  try {
    return (await diskUsage(path)).size;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** A step's description, in BuildKit's words: what a RUN ran, else what made its files. */
function describeStep(inputs: string, key: Digest): string {
  let parsed: StepInputs;
  try {
    parsed = JSON.parse(inputs) as StepInputs;
  } catch (e) {
    throw new CairnError('data-corrupt', `build cache entry ${key}: its inputs are not JSON: ${(e as Error).message}`, { cause: e });
  }
  return parsed.op.kind === 'run' ? `mount / from exec ${parsed.op.argv.join(' ')}` : 'fileop target';
}
