/**
 * `import`: a root filesystem tar becomes a one-layer image, as `docker import` does — a copy
 * from a {@link RootfsSource} to a {@link StoreSink}.
 */
import { InvalidArgumentError } from '../errors.js';
import { applyChanges } from '../image/changes.js';
import { hostPlatform } from '../oci/platform.js';
import { dockerReferenceError, parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
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
  // Docker 20.10's order and words: the name (its client, then its daemon), the changes, the tar.
  const problem = opts.reference ? dockerReferenceError(opts.reference) : undefined;
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  const tag = opts.reference ? withDefaultTag(parseNormalizedReference(opts.reference)) : undefined;
  if (tag?.digest) throw new InvalidArgumentError('cannot import digest reference');
  if (tag?.familiarName === 'sha256') throw new InvalidArgumentError('refusing to create an ambiguous tag using digest algorithm as name');
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
