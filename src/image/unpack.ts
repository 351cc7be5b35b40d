/**
 * Unpacking an image's layers into snapshots, each chainID at most once: a layer whose
 * chainID is already committed is "Already exists"; a missing one is applied (streamed from
 * its blob, digest and diffID verified) into a fresh active snapshot on its parent, then
 * committed under its chainID. A failed apply removes its partial snapshot and throws, so the
 * image is never recorded. Snapshots no image uses any more are removed by the store's
 * garbage collector (store/gc.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Digest } from '../digest/digest.js';
import { AlreadyExistsError, NotFoundError } from '../errors.js';
import { reproducibleLayer } from '../metadata/records.js';
import { applyRecorded, reemit, type StoredLayer } from './layertar.js';
import { type Ref, snapshotRef } from '../metadata/refs.js';
import type { Snapshotter } from '../snapshot/index.js';
import { writableLayer } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

/** A layer to unpack: a stored layer (its tar-split not known yet) with its place in the chain. */
export interface UnpackLayer extends Omit<StoredLayer, 'tarSplit'> {
  parent: Digest | null;
  /** A snapshot holding the same layer on another chain, not yet recorded: re-emit from it when there is no blob. */
  reemitFrom?: { chainId: Digest; tarSplit: Digest };
}

export interface UnpackProgress {
  start(id: string, label: string, total?: number): void;
  finish(id: string, message: string): void;
}

async function exists(sn: Snapshotter, key: string): Promise<boolean> {
  try {
    await sn.stat(key);
    return true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

/**
 * Make sure every layer of the chain is a committed snapshot. Each layer applied is recorded
 * as it goes (its tar-split, see layertar.ts); returns the tar-split of each chainID it
 * created (undefined for one whose files cannot reproduce its tar).
 */
export async function unpackLayers(store: Store, layers: UnpackLayer[], protect: (ref: Ref) => void, progress?: UnpackProgress): Promise<Map<Digest, Digest | undefined>> {
  const sn = await store.snapshots();
  const created = new Map<Digest, Digest | undefined>();
  for (const l of layers) {
    protect(snapshotRef(l.chainId));
    if (await exists(sn, l.chainId)) continue;
    const key = `extract-${process.pid}-${randomBytes(6).toString('hex')}`;
    protect(snapshotRef(key)); // if this process dies, the next start-up's collection removes the partial snapshot
    const mounts = await sn.prepare(key, l.parent ?? undefined);
    const short = l.diffId.slice(7, 19);
    progress?.start(short, 'Extracting');
    try {
      const w = writableLayer(mounts);
      // The blob's digest was verified by the content store, and its diffID when it was
      // ingested (load checks it against the config, import computed it); a re-emitted tar is
      // checked against its diffID as it streams: not hashed again here.
      const { tarSplit } = await applyRecorded(store, { dir: w.dir, whiteoutMode: w.deletions === 'whiteout' ? 'overlay' : 'oci-remove' }, await layerSource(store, l), {
        trusted: { digest: l.blobDigest, diffId: l.diffId },
        what: `layer ${l.diffId}`,
      }, protect);
      try {
        await sn.commit(l.chainId, key);
        created.set(l.chainId, tarSplit);
      } catch (e) {
        // Another process unpacked the same chainID meanwhile: theirs stands, ours goes.
        if (!(e instanceof AlreadyExistsError)) throw e;
        await sn.remove(key);
      }
      progress?.finish(short, 'Pull complete');
    } catch (e) {
      await sn.remove(key).catch((re: unknown) => {
        // The partial snapshot could not be removed now; the next start-up removes orphans.
        if (!(re instanceof NotFoundError)) process.emitWarning(`cairn: could not remove partial snapshot ${key}: ${(re as Error).message}`);
      });
      throw e;
    }
  }
  return created;
}

/** The layer's bytes: its blob, or (an uncompressed layer the store keeps no blob of) its tar re-emitted from another chain's snapshot. */
async function layerSource(store: Store, l: UnpackLayer): Promise<AsyncIterable<Uint8Array>> {
  if ((await store.content.info(l.blobDigest)) !== undefined) return store.content.reader(l.blobDigest);
  if (l.reemitFrom) return reemit(store, l.reemitFrom.chainId, l.diffId, l.reemitFrom.tarSplit);
  const other = l.blobDigest === l.diffId ? reproducibleLayer(store.db, l.diffId) : undefined;
  if (!other || other.tarSplit === null) throw new NotFoundError(`layer ${l.diffId}: blob ${l.blobDigest} is not in the content store`);
  return reemit(store, other.chainId, other.diffId, other.tarSplit);
}
