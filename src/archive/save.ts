/**
 * `save`: several images into one archive, each blob once, streamed — a copy from a
 * {@link StoreSource} to an {@link ArchiveSink} (see sink.ts for the formats).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Store } from '../store/store.js';
import { copyImages } from '../transfer/copy.js';
import { StoreSource } from '../transfer/store-source.js';
import type { CopyProgress } from '../transfer/types.js';
import { type ArchiveFormat, ArchiveSink, type SaveResult } from './sink.js';

export type { ArchiveFormat, SaveResult } from './sink.js';
export type SaveProgress = CopyProgress;

/**
 * Write the archive for `names` to `out` (any Writable: a file, stdout). Resolves once every
 * byte has been handed to it.
 */
export async function saveImages(store: Store, names: string[], format: ArchiveFormat, out: NodeJS.WritableStream, progress?: SaveProgress): Promise<SaveResult> {
  if (names.length === 0) throw new InvalidArgumentError('save: at least one image is required');
  return copyImages(new StoreSource(store, names), new ArchiveSink(format, out), progress ? { progress } : {});
}
