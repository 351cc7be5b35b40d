/**
 * `import`: a root filesystem tar becomes a one-layer image, as `docker import` does — a copy
 * from a {@link RootfsSource} to a {@link StoreSink}.
 */
import { InvalidArgumentError } from '../errors.js';
import { applyChanges } from '../image/changes.js';
import { hostPlatform } from '../oci/platform.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { copyImages } from '../transfer/copy.js';
import type { ByteOrigin } from '../transfer/origin.js';
import { StoreSink, type StoredImageResult } from '../transfer/store-sink.js';
import { RootfsSource } from './rootfs.js';

export interface ImportOptions {
  /** Tag for the new image. */
  reference?: string;
  changes?: string[];
  message?: string;
  /** Where the tar came from, for the default comment (`-` for stdin, as Docker). */
  sourceName?: string;
  platform?: { os: string; architecture: string; variant?: string };
  /** Creation time (default now). */
  created?: Date;
}

export async function importImage(store: Store, stream: ByteOrigin, opts: ImportOptions = {}): Promise<StoredImageResult & { tag?: string }> {
  const tag = opts.reference ? withDefaultTag(parseNormalizedReference(opts.reference)) : undefined;
  if (tag?.digest) throw new InvalidArgumentError(`refusing to create a tag with a digest reference: ${opts.reference}`);
  // --change errors are reported before the tar is read.
  const containerConfig = opts.changes?.length ? applyChanges(undefined, opts.changes) : undefined;
  const source = new RootfsSource(stream, {
    ...(tag ? { tag: tag.toString() } : {}),
    ...(containerConfig ? { containerConfig } : {}),
    ...(opts.message !== undefined ? { message: opts.message } : {}),
    ...(opts.sourceName !== undefined ? { sourceName: opts.sourceName } : {}),
    platform: opts.platform ?? hostPlatform(),
    created: opts.created ?? new Date(),
  });
  const [stored] = await copyImages(source, new StoreSink(store));
  return { ...stored!, ...(tag ? { tag: tag.toString() } : {}) };
}
