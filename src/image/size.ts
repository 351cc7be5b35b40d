/**
 * Layer and image sizes as Docker counts them: a layer's size is the bytes of the files it
 * holds — regular files once per inode, symlinks by the length of their target, nothing for
 * directories and whiteouts (Docker 20.10's overlay2 registers a layer with
 * pkg/directory.Size of its diff directory) — not the bytes of its tar: a WORKDIR or `rm`
 * layer is 0B. An image's size is the sum of its layers'.
 *
 * Measured once per layer when the layer is recorded, and kept in its record
 * (`layers.files_size`); a layer recorded before cairn kept it is measured the first time it is
 * asked for. On a driver that keeps each layer in a directory of its own (overlay), from its
 * committed snapshot (Usage.content); on one whose snapshot is a full copy of its parent's plus
 * the layer (native), from the layer's tar as its tar-split record describes it (its headers
 * only, layer/files-size.ts), or its blob when its files cannot re-make it — what the snapshot
 * holds beyond its parent's is not it (a deleted file would take bytes off, a changed one count
 * only its growth). A layer that is not unpacked here (an image of another OS) counts its tar's
 * bytes.
 */
import { decompressStream } from '../compression/stream.js';
import type { Digest } from '../digest/digest.js';
import { tarFilesSize } from '../layer/files-size.js';
import { tarSkeleton } from '../layer/tarsplit.js';
import { writeTx } from '../metadata/db.js';
import { type ImageLayerRecord, setLayerFilesSize } from '../metadata/records.js';
import type { Snapshotter } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

/** A layer to measure: its chain, and what its tar is re-made from (its tar-split record, else its blob). */
export type MeasuredLayer = Pick<ImageLayerRecord, 'chainId' | 'parent' | 'diffId' | 'tarSplit'> & { blobDigest: Digest };

/** The bytes of the files `layer` holds (see the module comment). */
export async function measureLayer(store: Store, sn: Snapshotter, layer: MeasuredLayer): Promise<number> {
  // A driver that can rebase keeps each layer in a directory of its own (snapshot/types.ts).
  if (sn.capabilities.rebase || layer.parent === null) return (await sn.usage(layer.chainId)).content;
  const what = `layer ${layer.diffId}`;
  if (layer.tarSplit !== null) return tarFilesSize(tarSkeleton(await store.content.reader(layer.tarSplit), what), what);
  const { stream } = await decompressStream(await store.content.reader(layer.blobDigest));
  return tarFilesSize(stream, what);
}

/**
 * Docker's size of each of `layers` (in order): the recorded one, else measured now and
 * recorded; a layer without a snapshot (not unpacked here) counts its tar's bytes.
 */
export async function layerSizes(store: Store, layers: readonly ImageLayerRecord[]): Promise<number[]> {
  if (layers.every((l) => l.filesSize !== null)) return layers.map((l) => l.filesSize!);
  const sn = await store.snapshots();
  const out: number[] = [];
  for (const l of layers) {
    if (l.filesSize !== null) out.push(l.filesSize);
    else if (!sn.isCommitted(l.chainId)) out.push(l.size);
    else {
      const size = await measureLayer(store, sn, { ...l, blobDigest: l.blob.blobDigest });
      writeTx(store.db, () => setLayerFilesSize(store.db, l.chainId, size));
      out.push(size);
    }
  }
  return out;
}
