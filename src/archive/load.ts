/**
 * `load`: an image archive read once from a stream into the store — a copy from an
 * {@link ArchiveSource} to a {@link StoreSink} (see transfer/copy.ts): every member delivered
 * as it passes, then the manifests checked, then all images recorded in one transaction. If
 * anything fails, no image is recorded and what this load added is removed.
 */
import { statSync } from 'node:fs';
import { layerRecorded } from '../image/ingest.js';
import { watchSpace } from '../store/space.js';
import { copyImages } from '../transfer/copy.js';
import { type ByteOrigin, isFileBytes } from '../transfer/origin.js';
import { StoreSink, type StoredImageResult } from '../transfer/store-sink.js';
import type { CopyProgress } from '../transfer/types.js';
import type { Store } from '../store/store.js';
import type { LayerLoad } from './load-reports.js';
import { type ArchiveKind, ArchiveSource } from './source.js';

export type LoadProgress = CopyProgress;
export type LoadedImage = StoredImageResult;

export interface LoadResult {
  format: ArchiveKind;
  /** A docker-archive from before Docker 1.10 (no manifest.json): Docker prints no "Loaded image" lines for it. */
  legacy: boolean;
  images: LoadedImage[];
  /**
   * Per image (by ID, in load order), the layers Docker's load reads from the archive for it,
   * as its daemon reports them (load-reports.ts): what its CLI draws as "Loading layer" lines.
   */
  loading: Array<{ image: string; layers: LayerLoad[] }>;
}

export async function loadArchive(store: Store, stream: ByteOrigin, progress?: LoadProgress): Promise<LoadResult> {
  const space = watchSpace(store.root);
  const source = new ArchiveSource(stream, (chainId) => layerRecorded(store, chainId));
  let images: LoadedImage[];
  try {
    images = await copyImages(source, new StoreSink(store), progress ? { progress } : {});
  } catch (e) {
    // an archive file's size is about what its layers take unpacked (a gzip'd one: at least)
    throw space.explain(e, isFileBytes(stream) ? `loading ${stream.file}` : 'this load', isFileBytes(stream) ? { bytes: statSync(stream.file).size, atLeast: false } : undefined);
  }
  return { format: source.kind!, legacy: source.legacy, images, loading: source.loading };
}
