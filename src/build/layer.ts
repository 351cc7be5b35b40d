/**
 * One build step's layer: a writable snapshot prepared on the step's parent chain, mounted in
 * a scratch directory while the step works in it (RUN's container, COPY's files), then
 * committed as the layer itself where the driver allows it (overlay: container/capture's
 * captureInPlace — the tar-split recorded from the upper directory, nothing copied), else
 * captured as a copy the way a container's commit captures one — a step that
 * changed nothing too, as the tar of no entries, since BuildKit keeps such a layer — (container/capture:
 * the snapshot under its chainID plus the tar-split record its tar re-emits from — stored
 * once, no tar kept, nothing compressed). The working snapshot is removed on every path;
 * everything made is protected by the caller's lease until the image that uses it is recorded.
 */
import type { Digest } from '../digest/digest.js';
import { AlreadyExistsError, CairnError, NotFoundError } from '../errors.js';
import { applyRecorded, reemit } from '../image/layertar.js';
import { childChainId } from '../oci/chainid.js';
import { snapshotRef, type Ref } from '../metadata/refs.js';
import { randomHex } from '../random.js';
import { mountAll, unmount, writableLayer } from '../snapshot/index.js';
import { duplicatedContent, type Duplicated } from './duplicates.js';
import type { Store } from '../store/store.js';
import { captureInPlace, captureLayer } from '../container/capture.js';

/** A step's layer: BuildKit keeps a step that changed nothing as a layer too (the tar of no entries). */
export interface BuiltLayer {
  diffId: Digest;
  chainId: Digest;
  /** Bytes of its tar. */
  size: number;
  /** Its tar-split record. */
  tarSplit: Digest;
  /** With `duplicates` (overlay): what the step re-added unchanged from the layers below. */
  duplicated?: Duplicated;
}

/**
 * Prepare a writable snapshot on `parent` (undefined: no layer below), mount it, run `work`
 * on the mounted root filesystem, and capture what it changed as a layer on `parent`
 * (`clampMtime`: SOURCE_DATE_EPOCH, no time in its tar later than that; `duplicates`: also
 * measure what it re-added unchanged from the layers below, duplicates.ts).
 * `work`'s failure is thrown after the snapshot is unmounted and removed.
 */
export async function buildLayer(
  store: Store,
  parent: Digest | undefined,
  protect: (ref: Ref) => void,
  work: (rootfs: string) => Promise<void>,
  opts: { clampMtime?: number; duplicates?: boolean } = {},
): Promise<BuiltLayer> {
  const sn = await store.snapshots();
  const key = `build-${process.pid}-${randomHex(6)}`;
  protect(snapshotRef(key));
  const mounts = await sn.prepare(key, parent);
  const scratch = await store.scratchDir();
  try {
    // A step's snapshot is captured into another before anything relies on it: no sync at its unmount.
    mountAll(mounts, scratch.path, { volatile: true });
    try {
      await work(scratch.path);
    } finally {
      unmount(scratch.path);
    }
    let duplicated: Duplicated | undefined;
    const w = writableLayer(mounts);
    if (opts.duplicates === true && w.deletions === 'whiteout') duplicated = await duplicatedContent(w.dir, w.lowerdirs);
    const clamp = opts.clampMtime !== undefined ? { clampMtime: opts.clampMtime } : {};
    // Overlay: the step's own snapshot becomes the layer (nothing copied); else a copy is captured.
    const layer = (await captureInPlace(store, key, protect, clamp)) ?? (await captureLayer(store, key, protect, parent ?? null, { keepEmpty: true, ...clamp }));
    if (layer.empty) throw new CairnError('internal', `the layer of snapshot ${key} was not kept`);
    return { diffId: layer.diffId, chainId: layer.chainId, size: layer.size, tarSplit: layer.tarSplit, ...(duplicated !== undefined ? { duplicated } : {}) };
  } finally {
    await scratch.dispose();
    await sn.remove(key).catch((e: unknown) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
  }
}

/**
 * A layer made on no parent (COPY --link: independent of what it is copied onto) placed on
 * `parent`: the snapshot of their chain, made when missing by applying the layer's tar —
 * re-emitted from its own snapshot, its diffID checked — onto a writable snapshot of the
 * parent, committed under the chainID. The same tar on any parent: the diffID is the layer's
 * wherever it lands.
 */
export async function placeLayer(store: Store, layer: BuiltLayer, parent: Digest | undefined, protect: (ref: Ref) => void): Promise<BuiltLayer> {
  if (parent === undefined) return layer;
  const target = childChainId(parent, layer.diffId);
  protect(snapshotRef(target));
  const sn = await store.snapshots();
  // Placed before: it holds the same files at the same paths, so the record re-emits from it too.
  if (sn.isCommitted(target)) return { ...layer, chainId: target };
  const key = `build-place-${process.pid}-${randomHex(6)}`;
  protect(snapshotRef(key));
  const made = writableLayer(await sn.prepare(key, parent));
  try {
    const tar = await reemit(store, layer.chainId, layer.diffId, layer.tarSplit);
    const applied = await applyRecorded(store, { dir: made.dir, whiteoutMode: made.deletions === 'whiteout' ? 'overlay' : 'oci-remove' }, tar, { expectedDiffId: layer.diffId, what: `layer ${layer.diffId}` }, protect);
    try {
      await sn.commit(target, key);
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
      await sn.remove(key);
    }
    return { ...layer, chainId: target, tarSplit: applied.tarSplit ?? layer.tarSplit };
  } catch (e) {
    await sn.remove(key).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    throw e;
  }
}

/** A read-only view of the committed chain `chainId` (an empty directory for none), mounted while `fn` runs; leased with `protect`. */
export async function withChainView<T>(store: Store, chainId: Digest | undefined, protect: (ref: Ref) => void, fn: (root: string) => Promise<T>): Promise<T> {
  const scratch = await store.scratchDir();
  try {
    if (chainId === undefined) return await fn(scratch.path);
    const sn = await store.snapshots();
    const key = `build-view-${process.pid}-${randomHex(6)}`;
    protect(snapshotRef(key));
    const mounts = await sn.view(key, chainId);
    try {
      mountAll(mounts, scratch.path);
      try {
        return await fn(scratch.path);
      } finally {
        unmount(scratch.path);
      }
    } finally {
      await sn.remove(key);
    }
  } finally {
    await scratch.dispose();
  }
}
