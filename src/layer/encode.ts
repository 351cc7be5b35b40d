/**
 * From a layer tar stream to a layer blob, in one streaming pass: the uncompressed bytes
 * are hashed (the diffID, which goes into the image config), compressed, and the
 * compressed bytes hashed (the digest and size, which go into the manifest) on their way
 * to a sink such as the content store. Memory stays bounded by the stream buffers.
 */
import { pipeline } from 'node:stream/promises';

import { compressStream, type Compression } from '../compression/index.js';
import { DigestTransform, type Digest } from '../digest/digest.js';
import { InvalidArgumentError } from '../errors.js';
import { OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, type MediaType } from '../oci/mediatypes.js';

export interface LayerEncodeOptions {
  /** Compression of the blob. */
  compression: Compression;
  /** Compression level (gzip 1..9, default 6; zstd -7..22, default 3). */
  level?: number;
  /**
   * Where the compressed bytes go, e.g. `(s) => store.ingest(s)`; it must consume the
   * iterable to its end. Without a sink the bytes are only hashed.
   */
  sink?: (compressed: AsyncIterable<Uint8Array>) => Promise<unknown>;
}

export interface LayerBlob {
  /** sha256 of the uncompressed tar: the layer's diffID. */
  diffId: Digest;
  /** Length of the uncompressed tar in bytes. */
  uncompressedSize: number;
  /** sha256 of the blob (the compressed bytes): the manifest's layer digest. */
  digest: Digest;
  /** Length of the blob in bytes. */
  size: number;
  compression: Compression;
  /** The OCI layer media type for this compression. */
  mediaType: MediaType;
}

const MEDIA_TYPES: Record<Compression, MediaType> = { none: OCI_LAYER, gzip: OCI_LAYER_GZIP, zstd: OCI_LAYER_ZSTD };

/**
 * Hash, compress and hash `tar` (e.g. from diffOverlayUpper/diffDirs) into `opts.sink`.
 * Any failure — of the tar source, the compressor or the sink — rejects and tears the
 * whole pipeline down.
 */
export async function diffToLayer(tar: AsyncIterable<Uint8Array>, opts: LayerEncodeOptions): Promise<LayerBlob> {
  const mediaType = MEDIA_TYPES[opts.compression];
  if (mediaType === undefined) throw new InvalidArgumentError(`unknown layer compression ${JSON.stringify(opts.compression)}`);
  const uncompressed = new DigestTransform();
  const compressed = new DigestTransform();
  const sink =
    opts.sink ??
    (async (s: AsyncIterable<Uint8Array>) => {
      for await (const chunk of s) void chunk; // hashing is all that is wanted
    });
  await pipeline(tar, uncompressed, compressStream(opts.compression, opts.level), compressed, (s: AsyncIterable<Uint8Array>) => sink(s));
  return {
    diffId: uncompressed.digest(),
    uncompressedSize: uncompressed.size,
    digest: compressed.digest(),
    size: compressed.size,
    compression: opts.compression,
    mediaType,
  };
}
