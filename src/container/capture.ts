/**
 * A container's writable layer captured as one committed layer, stored once: its snapshot is
 * the layer (committed under its chainID on the image's top layer), and its tar exists only
 * as a tar-split record from which the same bytes (the same diffID) are re-emitted whenever
 * the layer is saved or pushed — no tar file is kept, and the content store holds no
 * uncompressed copy of it.
 *
 * Where a snapshot's directory holds only its own layer (overlay: `capabilities.rebase`), the
 * container's upper directory already is a layer in the snapshot format (whiteouts as 0:0
 * devices, opaque directories by xattr): it is copied into a fresh snapshot on the same
 * parent, without overlay's private bookkeeping (origin, impure, ...) and without sockets,
 * while its layer tar — the differ's reading of the upper (layer/upper.ts, as
 * diffOverlayUpper reads it) — is recorded in the same walk (layer/upper-copy.ts): each entry
 * made in the copy from the same stat and attributes as its header, each file copied in the
 * kernel (a reflink where the file system has them), the tar never written but hashed for the
 * diffID on the pool — the bodies read back from the copy, never in JavaScript — and told to
 * the tar-split recorder, bodies recorded without a crc (re-emit checks the whole tar against
 * the diffID). So the tar describes exactly the files the snapshot holds, even if the
 * container changes its own afterwards.
 *
 * Where a snapshot is a whole tree (native), the layer is the Differ's comparison of the
 * container with a view of its parent (WalkingDiffer), applied into a fresh snapshot prepared
 * on the parent (a copy of it) while its tar-split is recorded — the driver's own way of
 * making a child layer.
 *
 * An empty change (the tar of no entries, Docker's `DigestSHA256EmptyTar`) makes no layer,
 * as Docker's commit makes none. The container must not change files while this runs (the
 * caller pauses a running container). Everything made is leased with `protect`; a failure
 * removes the unfinished snapshot, and what is left is the collector's.
 */
import { randomBytes } from 'node:crypto';
import type { Digest } from '../digest/digest.js';
import { AlreadyExistsError, CairnError, NotFoundError } from '../errors.js';
import { WalkingDiffer } from '../diff/differ.js';
import { applyRecorded, contentRecorder } from '../image/layertar.js';
import type { TarSplitRecorder } from '../layer/tarsplit.js';
import { copyUpperRecorded } from '../layer/upper-copy.js';
import { recordUpperInPlace } from '../layer/upper-record.js';
import { keptInLayer } from '../layer/upper.js';
import { type Ref, snapshotRef } from '../metadata/refs.js';
import { childChainId } from '../oci/chainid.js';
import { type Mount, type Snapshotter, writableLayer } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { activeLayer } from './view.js';

/** The diffID of a tar of no entries (1,024 zero bytes): Docker's `DigestSHA256EmptyTar`. */
export const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef' as Digest;

export type CapturedLayer =
  | { empty: true; diffId: Digest; parent: Digest | undefined }
  | {
      empty: false;
      diffId: Digest;
      /** The committed snapshot's key: the chainID of the image's layers plus this one. */
      chainId: Digest;
      parent: Digest | undefined;
      /** Bytes of the uncompressed tar. */
      size: number;
      /** The tar-split record (a content-store blob) the tar re-emits from. */
      tarSplit: Digest;
    };

/**
 * Capture the writable layer of active snapshot `key` (see the module comment) as a layer on
 * the committed chain `onto` — by default the snapshot's own parent, the image's top layer;
 * another when the snapshot stands on a layer of its own above the image's (as Docker's
 * `-init` layer does), whose changes are not the container's; null: no parent at all.
 * `keepEmpty`: an empty change is a layer too (the tar of no entries), as a build's RUN that
 * changed nothing is one in BuildKit's images. `clampMtime` (SOURCE_DATE_EPOCH, seconds): no
 * time in the layer's tar is later than it (the snapshot's files keep their own).
 */
export async function captureLayer(store: Store, key: string, protect: (ref: Ref) => void, onto?: Digest | null, opts: { keepEmpty?: boolean; clampMtime?: number } = {}): Promise<CapturedLayer> {
  const sn = await store.snapshots();
  const container = await activeLayer(sn, key);
  const below = container.parent as Digest | undefined;
  // null: the layer is a base layer (an image without layers, its container on an init layer).
  const parent = onto === null ? undefined : (onto ?? below);
  const what = `the writable layer of snapshot ${key}`;
  const newKey = `commit-${process.pid}-${randomBytes(6).toString('hex')}`;
  protect(snapshotRef(newKey));
  const made = writableLayer(await sn.prepare(newKey, parent));
  let layer: { diffId: Digest; size: number; tarSplit: Digest };
  try {
    layer = sn.capabilities.rebase
      ? await fromUpper(store, container.dir, made.dir, what, protect, opts.clampMtime)
      : await throughDiffer(store, sn, container.mounts, below, made, what, protect, opts.clampMtime);
  } catch (e) {
    await removeOrWarn(sn, newKey);
    throw e;
  }
  if (layer.diffId === EMPTY_TAR_DIFF_ID && opts.keepEmpty !== true) {
    await discard(sn, newKey);
    return { empty: true, diffId: layer.diffId, parent };
  }
  const chainId = childChainId(parent, layer.diffId);
  protect(snapshotRef(chainId));
  try {
    await sn.commit(chainId, newKey);
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) {
      await removeOrWarn(sn, newKey);
      throw e;
    }
    await discard(sn, newKey);
    // The same layer on the same parent exists already (the same change committed before):
    // it holds the same files, so the record re-emits from it too.
  }
  return { empty: false, diffId: layer.diffId, chainId, parent, size: layer.size, tarSplit: layer.tarSplit };
}

/**
 * The writable layer of active snapshot `key` made a committed layer where it is, when the
 * driver keeps a snapshot's own layer in its directory (overlay): its upper directory recorded
 * in place (layer/upper-record.ts: tar-split and diffID, overlay's bookkeeping attributes
 * removed, nothing copied) and the snapshot itself committed under its chainID on its parent —
 * for a snapshot nothing else uses (a build step's), whose files must stay as they are. The
 * snapshot is gone under `key` afterwards (committed, or removed when the same layer is
 * committed already). Undefined when the driver cannot (the caller captures a copy instead).
 */
export async function captureInPlace(store: Store, key: string, protect: (ref: Ref) => void, opts: { clampMtime?: number } = {}): Promise<CapturedLayer | undefined> {
  const sn = await store.snapshots();
  if (!sn.capabilities.rebase) return undefined;
  const layer = await activeLayer(sn, key);
  const parent = layer.parent as Digest | undefined;
  const what = `the writable layer of snapshot ${key}`;
  const { recorder, recorded } = contentRecorder(store, protect, { what });
  let made;
  try {
    made = await recordUpperInPlace(layer.dir, { keep: keptInLayer, overlayXattrNamespaces: ['trusted'], record: recorder, ...(opts.clampMtime !== undefined ? { clampMtime: opts.clampMtime } : {}) });
  } catch (e) {
    recorder.abort(e);
    throw e;
  }
  const tarSplit = await finishRecord(recorder, recorded, what);
  const chainId = childChainId(parent, made.diffId);
  protect(snapshotRef(chainId));
  try {
    await sn.commit(chainId, key);
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
    // The same layer on the same parent exists already: it holds the same files.
    await discard(sn, key);
  }
  return { empty: false, diffId: made.diffId, chainId, parent, size: made.size, tarSplit };
}

/** Overlay: the upper directory copied into the new snapshot while its tar is recorded, in one walk. */
async function fromUpper(store: Store, upper: string, dest: string, what: string, protect: (ref: Ref) => void, clampMtime: number | undefined): Promise<{ diffId: Digest; size: number; tarSplit: Digest }> {
  const { recorder, recorded } = contentRecorder(store, protect, { what });
  let layer;
  try {
    // cairn mounts overlay without `userxattr`: user.overlay.* attributes are the container's own.
    layer = await copyUpperRecorded(upper, dest, { keep: keptInLayer, overlayXattrNamespaces: ['trusted'], record: recorder, ...(clampMtime !== undefined ? { clampMtime } : {}) });
  } catch (e) {
    recorder.abort(e);
    throw e;
  }
  return { ...layer, tarSplit: await finishRecord(recorder, recorded, what) };
}

/** A whole-tree driver: the Differ's tar (the container against what it stands on) applied into the new snapshot (a copy of the chain it goes on), recorded as it goes. */
async function throughDiffer(
  store: Store,
  sn: Snapshotter,
  mounts: Mount[],
  parent: Digest | undefined,
  made: { dir: string; deletions: 'whiteout' | 'remove' },
  what: string,
  protect: (ref: Ref) => void,
  clampMtime: number | undefined,
): Promise<{ diffId: Digest; size: number; tarSplit: Digest }> {
  let viewKey: string | undefined;
  try {
    let lower: Mount[] = [];
    if (parent !== undefined) {
      viewKey = `commit-view-${process.pid}-${randomBytes(6).toString('hex')}`;
      protect(snapshotRef(viewKey));
      lower = await sn.view(viewKey, parent);
    }
    const differ = new WalkingDiffer(() => store.scratchDir());
    const tar = (await differ.compare(lower, mounts, { sourceDateEpoch: clampMtime ?? null }))[Symbol.asyncIterator]();
    let applied;
    try {
      applied = await applyRecorded(store, { dir: made.dir, whiteoutMode: made.deletions === 'whiteout' ? 'overlay' : 'oci-remove' }, { [Symbol.asyncIterator]: () => tar }, { what }, protect);
    } finally {
      // However the apply ended, the differ's stream ends too: that undoes its mounts.
      await tar.return?.();
    }
    const { result, tarSplit } = applied;
    if (tarSplit === undefined) throw new CairnError('internal', `${what}: the differ's tar cannot be re-emitted from the files it was applied to`);
    return { diffId: result.diffId, size: result.uncompressedSize, tarSplit };
  } finally {
    if (viewKey !== undefined) await removeOrWarn(sn, viewKey);
  }
}

/** The tar-split record ended: its digest, once it is known to re-emit the tar from the layer's files. */
async function finishRecord(recorder: TarSplitRecorder, recorded: () => Digest | undefined, what: string): Promise<Digest> {
  const split = await recorder.finish();
  const tarSplit = recorded();
  if (!split.reproducible || tarSplit === undefined) {
    throw new CairnError('internal', `${what}: the differ's tar cannot be re-emitted from the layer's files (${split.reason ?? 'no record'})`);
  }
  return tarSplit;
}

/** Remove a snapshot this capture made, now if it can; if not (warned), the collector removes it once the lease ends. */
async function removeOrWarn(sn: Snapshotter, key: string): Promise<void> {
  await discard(sn, key).catch((e: unknown) => process.emitWarning(`cairn: could not remove unfinished snapshot ${key}: ${(e as Error).message}`));
}

/** Remove a snapshot this capture made; one already gone is fine. */
async function discard(sn: Snapshotter, key: string): Promise<void> {
  await sn.remove(key).catch((e: unknown) => {
    if (!(e instanceof NotFoundError)) throw e;
  });
}
