/**
 * Layer and image sizes as Docker counts them: a layer's size is the bytes of the files it
 * holds — regular files once per inode, symlinks by the length of their target, nothing for
 * directories and whiteouts (Docker 20.10's overlay2 registers a layer with
 * pkg/directory.Size of its diff directory) — not the bytes of its tar: a WORKDIR or `rm`
 * layer is 0B. An image's size is the sum of its layers'.
 *
 * Measured once per layer, from its committed snapshot (Usage.content), when the layer is
 * recorded, and kept in its record (`layers.files_size`); a layer recorded before cairn kept
 * it is measured the first time it is asked for. On a driver whose snapshot is a full copy
 * (native), a layer's bytes are what its snapshot holds beyond its parent's. A layer that is
 * not unpacked here (an image of another OS) counts its tar's bytes.
 */
import type { Digest } from '../digest/digest.js';
import { writeTx } from '../metadata/db.js';
import { type LayerRecord, setLayerFilesSize } from '../metadata/records.js';
import type { Snapshotter } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

/** The bytes of the files layer `chainId` (on `parent`) holds, from its committed snapshot. */
export async function measureLayer(sn: Snapshotter, chainId: Digest, parent: Digest | null): Promise<number> {
  const own = (await sn.usage(chainId)).content;
  // A driver that can rebase keeps each layer in a directory of its own (snapshot/types.ts).
  if (sn.capabilities.rebase || parent === null) return own;
  return Math.max(0, own - (await sn.usage(parent)).content);
}

/**
 * Docker's size of each of `layers` (in order): the recorded one, else measured now and
 * recorded; a layer without a snapshot (not unpacked here) counts its tar's bytes.
 */
export async function layerSizes(store: Store, layers: readonly LayerRecord[]): Promise<number[]> {
  if (layers.every((l) => l.filesSize !== null)) return layers.map((l) => l.filesSize!);
  const sn = await store.snapshots();
  const out: number[] = [];
  for (const l of layers) {
    if (l.filesSize !== null) out.push(l.filesSize);
    else if (!sn.isCommitted(l.chainId)) out.push(l.size);
    else {
      const size = await measureLayer(sn, l.chainId, l.parent);
      writeTx(store.db, () => setLayerFilesSize(store.db, l.chainId, size));
      out.push(size);
    }
  }
  return out;
}
