/**
 * A layer's tar, kept once: a layer is its unpacked snapshot plus a tar-split record
 * (layer/tarsplit.ts) from which its exact uncompressed tar is re-emitted on demand. This
 * module applies a layer while recording that record into the content store, and gives a
 * layer's bytes back: the blob when the store kept it (compressed layers, and layers whose
 * files cannot reproduce their tar), else the tar re-emitted from a read-only view of the
 * layer's snapshot, checked against the diffID as it streams.
 */
import { randomBytes } from 'node:crypto';
import type { Digest } from '../digest/digest.js';
import { NotFoundError } from '../errors.js';
import { type ApplyOptions, type ApplyResult, type ApplyTarget, applyLayer } from '../layer/apply.js';
import { reassembleTar, TarSplitRecorder, type TarSplitRecorderOptions } from '../layer/tarsplit.js';
import { blobRef, type Ref, snapshotRef } from '../metadata/refs.js';
import { mountAll, unmount } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

export interface RecordedApply {
  result: ApplyResult;
  /** The tar-split record's blob, when the layer's files can reproduce its tar. */
  tarSplit: Digest | undefined;
}

/**
 * A tar-split recorder whose record goes into the content store as a blob, leased with
 * `protect` before it becomes visible; `recorded()` is its digest once the recorder finished.
 */
export function contentRecorder(store: Store, protect: (ref: Ref) => void, opts: TarSplitRecorderOptions = {}): { recorder: TarSplitRecorder; recorded: () => Digest | undefined } {
  let recorded: Digest | undefined;
  const recorder = new TarSplitRecorder(async (record) => {
    const w = await store.content.writer();
    try {
      for await (const c of record) await w.write(c);
      protect(blobRef(w.digest())); // before it is visible: no collection can take it in between
      recorded = (await w.commit({ what: `tar-split of ${opts.what ?? 'layer'}` })).digest;
    } catch (e) {
      await w.abort();
      throw e;
    }
  }, opts);
  return { recorder, recorded: () => recorded };
}

/** Apply a layer into `target` and record its tar-split in the content store (leased with `protect`). */
export async function applyRecorded(store: Store, target: ApplyTarget, source: AsyncIterable<Uint8Array>, opts: ApplyOptions, protect: (ref: Ref) => void): Promise<RecordedApply> {
  const { recorder, recorded } = contentRecorder(store, protect, {
    ...(opts.what !== undefined ? { what: opts.what } : {}),
    ...(opts.followSymlinks === 'inside' ? { followSymlinks: 'inside' as const, dir: target.dir } : {}),
  });
  let result: ApplyResult;
  try {
    result = await applyLayer(target, source, { ...opts, tap: recorder.tap });
  } catch (e) {
    recorder.abort(e);
    throw e;
  }
  const split = await recorder.finish();
  return { result, tarSplit: split.reproducible ? recorded() : undefined };
}

/** A layer the store holds (or is unpacking): its chain, its diffID, the blob a manifest names, its tar-split record. */
export interface StoredLayer {
  chainId: Digest;
  diffId: Digest;
  /** The blob the manifest names. */
  blobDigest: Digest;
  tarSplit: Digest | null;
}

/**
 * The bytes of `layer`'s blob as its manifest names them: the stored blob, or, when the store
 * keeps none (an uncompressed layer with a tar-split record), the tar re-emitted from the
 * layer's snapshot. The returned iterable must be consumed or returned (it holds a mount).
 */
export async function layerBlob(store: Store, layer: StoredLayer): Promise<AsyncIterable<Uint8Array>> {
  if ((await store.content.info(layer.blobDigest)) !== undefined) return store.content.reader(layer.blobDigest);
  if (layer.tarSplit === null || layer.blobDigest !== layer.diffId) {
    throw new NotFoundError(`layer ${layer.diffId}: blob ${layer.blobDigest} is not in the store and cannot be re-made from the layer's files`);
  }
  return reemit(store, layer.chainId, layer.diffId, layer.tarSplit);
}

/** The uncompressed tar of a layer, re-emitted from its snapshot (see {@link layerBlob}). */
export async function reemit(store: Store, chainId: Digest, diffId: Digest, tarSplit: Digest): Promise<AsyncIterable<Uint8Array>> {
  const sn = await store.snapshots();
  const lease = store.lease();
  const key = `reemit-${process.pid}-${randomBytes(6).toString('hex')}`;
  let scratch: { path: string; dispose: () => Promise<void> } | undefined;
  let mounted = false;
  const cleanup = async (): Promise<void> => {
    if (mounted) unmount(scratch!.path);
    mounted = false;
    await sn.remove(key).catch((e: unknown) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
    await scratch?.dispose();
    lease.release();
  };
  try {
    lease.protect(snapshotRef(key));
    lease.protect(blobRef(tarSplit));
    const mounts = await sn.view(key, chainId);
    scratch = await store.scratchDir();
    mountAll(mounts, scratch.path);
    mounted = true;
    const record = await store.content.reader(tarSplit);
    const root = scratch.path;
    return (async function* () {
      try {
        yield* reassembleTar(record, root, { expectedDiffId: diffId, what: `layer ${diffId}` });
      } finally {
        record.destroy();
        await cleanup();
      }
    })();
  } catch (e) {
    await cleanup();
    throw e;
  }
}
