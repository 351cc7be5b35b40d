/**
 * A damaged layer's unpacked form — its snapshot and tar-split record — made again from the
 * blob the store keeps of it (a compressed layer's, hashed first), or, without one, dropped so
 * that the next load or pull of an image with it unpacks it again (`knownLayer` no longer finds
 * it re-emittable). Only for a layer nothing stands on: other snapshots' mounts name its directory.
 */
import { algorithmOf, type Digest, digestStream } from '../digest/digest.js';
import { NotFoundError } from '../errors.js';
import { unpackLayers } from '../image/unpack.js';
import { writeTx } from '../metadata/db.js';
import { forgetTarSplit, getLayerBlob, recordTarSplit } from '../metadata/records.js';
import { blobRef } from '../metadata/refs.js';
import type { Survey } from './survey.js';

/**
 * Drop layer `chainId`'s unpacked form — its snapshot (nothing may stand on it) and its
 * tar-split record — so that the next load or pull of an image with it unpacks it again.
 * Returns false: the image still needs that load or pull.
 */
export async function forgetUnpacked(s: Survey, chainId: Digest): Promise<boolean> {
  try {
    await s.sn!.remove(chainId);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  writeTx(s.store.db, () => forgetTarSplit(s.store.db, chainId));
  return false;
}

/**
 * A blob the store keeps of layer `chainId` (a compressed layer's, named by an image's
 * manifest and recorded with the layer's diffID) that can unpack it again, unless found corrupt.
 */
export function keptBlobOf(s: Survey, chainId: Digest, corrupt: ReadonlySet<Digest>): Digest | undefined {
  const layer = s.layers.get(chainId);
  if (layer === undefined) return undefined;
  for (const b of s.layerBlobs.get(chainId) ?? []) {
    if (s.blobs.has(b) && !corrupt.has(b) && getLayerBlob(s.store.db, b)?.diffId === layer.diffId) return b;
  }
  return undefined;
}

/** What --repair does of a damaged layer nothing stands on: unpack it again from its kept blob, or drop it for a load or pull. */
export function unpackRepair(blob: Digest | undefined): string {
  return blob !== undefined ? `unpack it again from its blob ${blob}` : 'drop the snapshot and its tar-split record, so that a load or pull of the image unpacks it again';
}

/**
 * Unpack layer `chainId` again from `blob` (hashed first: its digest must still hold), into a
 * new snapshot with a new tar-split record: true, the layer is whole again. Without a blob, or
 * with one that no longer hashes right or a parent that is not there, the layer is only dropped
 * ({@link forgetUnpacked}): false.
 */
export async function reunpack(s: Survey, chainId: Digest, blob: Digest | undefined): Promise<boolean> {
  const layer = s.layers.get(chainId)!;
  const sn = s.sn!;
  if (blob === undefined || (layer.parent !== null && !sn.isCommitted(layer.parent))) return forgetUnpacked(s, chainId);
  const { digest } = await digestStream(await s.store.content.reader(blob), algorithmOf(blob));
  if (digest !== blob) return forgetUnpacked(s, chainId);
  const db = s.store.db;
  return s.store.withLease(async (protect) => {
    protect(blobRef(blob));
    await forgetUnpacked(s, chainId);
    const splits = await unpackLayers(s.store, [{ chainId, diffId: layer.diffId, blobDigest: blob, parent: layer.parent }], protect);
    const split = splits.get(chainId);
    if (split !== undefined) writeTx(db, () => recordTarSplit(db, chainId, split));
    return true;
  });
}

