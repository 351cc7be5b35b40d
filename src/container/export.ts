/**
 * `export`: a container's whole root filesystem as one tar, as `docker export` writes it — the
 * merged view (the image's layers with the container's changes on top: no whiteouts, no
 * layers), every entry below the root (the root itself is not an entry), names sorted, a
 * directory before its contents (layer/diff.ts archiveTree).
 *
 * From a root filesystem already mounted (a running container's), or from the writable
 * snapshot: then a read-only view of it is mounted when the stream is first read (view.ts:
 * the upper directory as the topmost lower layer, so nothing can be written and no in-use
 * lock is taken) and unmounted when the stream ends, fails or is returned early. The stream
 * is produced as it is read; memory is one directory listing per level and one chunk.
 */
import { archiveTree, treeReleased } from '../layer/diff.js';
import type { Store } from '../store/store.js';
import { activeLayer, mountView, wholeView } from './view.js';

/** What to export: a container's writable snapshot, or the root filesystem where it is mounted. */
export type ExportSource = { snapshotKey: string } | { rootfs: string };

/**
 * The container's root filesystem as a tar stream. The snapshot is checked now; the view is
 * mounted only once the stream is read, so a stream never read holds nothing.
 */
export async function exportRootfs(store: Store, from: ExportSource): Promise<AsyncIterable<Uint8Array>> {
  if ('rootfs' in from) return tarOf(from.rootfs);
  const layer = await activeLayer(await store.snapshots(), from.snapshotKey);
  const mounts = wholeView(layer.mounts);
  return (async function* () {
    const view = await mountView(store, { mounts });
    try {
      yield* tarOf(view.root);
    } finally {
      await view.release();
    }
  })();
}

async function* tarOf(root: string): AsyncGenerator<Uint8Array> {
  const tar = archiveTree(root, null, { sourceDateEpoch: null });
  try {
    for await (const chunk of tar) yield chunk as Uint8Array;
  } finally {
    tar.destroy();
    // Nothing of the tree is open any more once this returns: its view can be unmounted.
    await treeReleased(tar);
  }
}
