/**
 * Ingesting a layer blob: one pass over its bytes writes the blob into the content store
 * (hashing it: the blob digest) and decompresses it on the fly (hashing the tar: the diffID,
 * and counting the uncompressed size). Both are verified against what the manifest and config
 * promise. Nothing is visible unless everything matches. With `requireTar` (import), the
 * uncompressed bytes must also parse as a tar archive, as they do when Docker applies a layer.
 */
import type { Digest } from '../digest/digest.js';
import { Digester } from '../digest/digest.js';
import { DataCorruptError } from '../errors.js';
import { type Compression } from '../compression/detect.js';
import { decompressStream } from '../compression/stream.js';
import { readTar } from '../tar/index.js';
import type { Store } from '../store/store.js';
import { getLayer, getLayerBlob, layerSizeByDiffId, reproducibleLayer } from '../metadata/records.js';
import { blobRef, type Ref } from '../metadata/refs.js';

export interface IngestedLayer {
  /** The blob's digest and size (compressed, as given). */
  digest: Digest;
  size: number;
  compression: Compression;
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
  /** true when the blob was already in the store and its bytes were not read. */
  reused: boolean;
}

export interface LayerExpectation {
  /** Blob digest and size the manifest names. */
  digest?: Digest;
  size?: number;
  /** DiffID the image config names. */
  diffId?: Digest;
  /** Names the layer in errors, e.g. `layer 2 (sha256:…)`. */
  what: string;
  /** Also check that the uncompressed bytes are a well-formed tar archive (for input of unknown origin: import). */
  requireTar?: boolean;
}

/**
 * The layer the store already holds under blob `digest` (its blob present and its diffID and
 * size known), if any: a copy can skip reading its bytes. With `diffId`, only a blob known
 * to hold that diffID counts.
 */
/** Whether the store has the layer `chainId` (recorded and unpacked). */
export function layerRecorded(store: Store, chainId: Digest): boolean {
  return getLayer(store.db, chainId) !== undefined;
}

export async function knownLayer(store: Store, digest: Digest, diffId?: Digest): Promise<IngestedLayer | undefined> {
  const known = getLayerBlob(store.db, digest);
  if (!known || (diffId !== undefined && diffId !== known.diffId)) return undefined;
  const size = layerSizeByDiffId(store.db, known.diffId);
  if (size === undefined) return undefined;
  const info = await store.content.info(digest);
  // Present, or a tar a layer's files re-emit (the store keeps no blob of it): an uncompressed
  // one, or, when the store drops compressed blobs, a compressed one (saved uncompressed).
  const reemittable = (digest === known.diffId || store.compressedBlobs === 'drop') && reproducibleLayer(store.db, known.diffId) !== undefined;
  if (!info && !reemittable) return undefined;
  return { digest, size: info?.size ?? known.size, compression: compressionOfMediaType(known.mediaType), diffId: known.diffId, uncompressedSize: size, reused: true };
}

export async function ingestLayer(store: Store, source: AsyncIterable<Uint8Array>, exp: LayerExpectation, protect?: (ref: Ref) => void): Promise<IngestedLayer> {
  if (exp.digest) {
    protect?.(blobRef(exp.digest));
    const known = await knownLayer(store, exp.digest, exp.diffId);
    if (known) return known;
  }
  const writer = await store.content.writer();
  // Without an expected digest, the blob is leased under the writer's digest *before* it is
  // committed: a blob that already exists is then never removed by another process's garbage
  // collection between this commit finding it and the lease.
  const leaseFirst = exp.digest === undefined && protect !== undefined;
  let sourceError: unknown;
  try {
    async function* tee(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of source) {
          await writer.write(chunk);
          yield chunk;
        }
      } catch (e) {
        sourceError = e;
        throw e;
      }
    }
    const { compression, stream } = await decompressStream(tee());
    // Uncompressed: the diffID is the blob digest, hashed once by the writer.
    const tar = compression === 'none' ? undefined : new Digester();
    let size = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const c of stream) {
        size += (c as Buffer).length;
        tar?.update(c as Buffer);
        yield c as Buffer;
      }
    }
    if (exp.requireTar) {
      for await (const entry of readTar(counted())) for await (const _ of entry.body) { /* only the structure is checked */ }
    } else {
      for await (const _ of counted()) { /* hashed and counted on the way */ }
    }
    if (!tar) {
      if (exp.diffId !== undefined && exp.digest !== undefined && exp.diffId !== exp.digest) {
        throw new DataCorruptError(`${exp.what}: diffID mismatch: the image config names ${exp.diffId}, the uncompressed layer is ${exp.digest}`);
      }
      if (leaseFirst) protect?.(blobRef(writer.digest()));
      const blob = await writer.commit({ digest: exp.digest ?? exp.diffId, size: exp.size, what: exp.what });
      return { digest: blob.digest, size: blob.size, compression, diffId: blob.digest, uncompressedSize: size, reused: false };
    }
    const diffId = tar.digest();
    if (exp.diffId !== undefined && diffId !== exp.diffId) {
      throw new DataCorruptError(`${exp.what}: diffID mismatch: the image config names ${exp.diffId}, the layer's content is ${diffId}`);
    }
    if (leaseFirst) protect?.(blobRef(writer.digest()));
    const blob = await writer.commit({ digest: exp.digest, size: exp.size, what: exp.what });
    return { digest: blob.digest, size: blob.size, compression, diffId, uncompressedSize: size, reused: false };
  } catch (e) {
    await writer.abort();
    // Decompression and tar errors say which layer; the source's own errors speak for themselves.
    if (e instanceof DataCorruptError && e !== sourceError && !e.message.startsWith(`${exp.what}:`)) {
      throw new DataCorruptError(`${exp.what}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function compressionOfMediaType(m: string): Compression {
  if (m.endsWith('gzip')) return 'gzip';
  if (m.endsWith('zstd')) return 'zstd';
  return 'none';
}

