/**
 * The content store: blobs (manifests, configs, compressed layers) addressed by digest.
 *
 * Roles, as containerd splits them: a Provider reads blobs, an Ingester writes them, the
 * Manager inspects and deletes. A blob becomes visible only once it is complete and its size
 * and digest are verified; writers that fail or are killed leave nothing visible.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../digest/digest.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** An open blob (see {@link ContentStore.open}). */
export interface BlobHandle {
  readonly size: number;
  /** Read up to `length` bytes at `position` into `buf` from `offset`; the bytes read (0 at the end). */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Bytes `start` to `end` of a blob, both inclusive, as an HTTP Range names them. */
export interface ByteRange {
  start: number;
  end?: number;
}

/** What the writer is expected to produce; a mismatch fails the commit. */
export interface Expected {
  digest?: Digest;
  size?: number;
  /** Names the blob in error messages (e.g. `layer 2 of busybox:latest`). */
  what?: string;
}

export interface WriterOptions {
  /**
   * The caller hashes these bytes itself (a layer applier verifying its digest as it reads
   * them): the writer does not hash them a second time, `digest()` is not available, and a
   * commit with an expected digest publishes under it once the caller has checked it (the
   * size is still checked). A commit without one hashes what was written, read back.
   */
  hashedByCaller?: boolean;
  /**
   * A named ingest that outlives the writer and its process (containerd's ingest refs: an
   * upload a registry client sends over many requests): a writer opened with the same ref
   * resumes after the bytes the ingest holds (hashed again once, to go on hashing). Removed by
   * its commit or abort, or by {@link ContentStore.dropIngest}; never by the clean-up of dead
   * processes' ingests. `[A-Za-z0-9_.-]`, at most 100 characters.
   */
  ref?: string;
}

/** A named ingest (WriterOptions.ref) and when it last grew. */
export interface NamedIngest {
  ref: string;
  /** ms since the epoch. */
  updatedAt: number;
}

/** Whether `s` can name an ingest ref. */
export function isIngestRef(s: string): boolean {
  return /^[A-Za-z0-9_.-]{1,100}$/.test(s) && s !== '.' && s !== '..';
}

export interface ContentWriter {
  /** Append bytes. */
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly offset: number;
  /** Digest of the bytes written so far (the blob's digest once writing is done), without committing. */
  digest(): Digest;
  /** Verify and publish. Returns the blob's info. Idempotent if the blob already existed. */
  commit(expected?: Expected): Promise<BlobInfo>;
  /** Discard what was written. Safe to call after a failed commit. */
  abort(): Promise<void>;
}

export interface ContentStore {
  /** Size of a blob, or undefined when it is absent. */
  info(digest: Digest): Promise<BlobInfo | undefined>;
  /**
   * The bytes of disk a blob takes (allocated blocks, as `du` counts them; in memory, its
   * size), or undefined when it is absent: `system df`'s measure.
   */
  diskBytes(digest: Digest): Promise<number | undefined>;
  /**
   * A stream of the blob's bytes — of bytes `start` to `end` inclusive when given (a Range
   * request; `end` defaults to the last byte). Throws NotFoundError when absent.
   */
  reader(digest: Digest, range?: ByteRange): Promise<Readable>;
  /**
   * The blob opened for reads by position into the caller's buffers (a registry serving many
   * downloads at once reuses a few buffers instead of allocating one per chunk). Throws
   * NotFoundError when absent.
   */
  open(digest: Digest): Promise<BlobHandle>;
  /** The whole blob, for small documents; refuses blobs larger than `maxBytes`. */
  readBytes(digest: Digest, maxBytes?: number): Promise<Buffer>;
  /** Start writing a blob (or resume the named ingest `opts.ref`). */
  writer(opts?: WriterOptions): Promise<ContentWriter>;
  /** Remove the named ingest `ref` and its bytes, if there is one. */
  dropIngest(ref: string): Promise<void>;
  /** The named ingests there are, by ref, with when each was last written to (ms since the epoch). */
  namedIngests(): Promise<NamedIngest[]>;
  /** Stream `source` into the store and commit it (verifying `expected`). */
  ingest(source: AsyncIterable<Uint8Array>, expected?: Expected): Promise<BlobInfo>;
  /** Remove a blob; absent blobs are not an error. */
  delete(digest: Digest): Promise<void>;
  /**
   * Whether a blob is present, answered at once: for checks inside a metadata transaction
   * (which cannot wait), such as recording an image or collecting garbage.
   */
  has(digest: Digest): boolean;
  /**
   * {@link delete}, done at once: the collector removes blobs while it holds the metadata lock.
   * Returns the bytes of storage the blob held (allocated blocks for a file; 0 when absent):
   * what the removal gave back, as prune reports it.
   */
  deleteSync(digest: Digest): number;
  /** Every committed blob. */
  walk(): AsyncIterable<BlobInfo>;
  /**
   * The digests of every committed blob, in walk's order, without their sizes: the collector's
   * listing, one directory read where walk stats each blob (~0.1-0.2 ms a blob on the pool).
   */
  digests(): Promise<Digest[]>;
}

/** Upper bound for JSON documents read whole (manifests, configs, indexes). */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

/** Shared by implementations: stream a source through a writer, aborting on any failure. */
export async function ingestWith(w: ContentWriter, source: AsyncIterable<Uint8Array>, expected?: Expected): Promise<BlobInfo> {
  try {
    for await (const chunk of source) await w.write(chunk);
    return await w.commit(expected);
  } catch (e) {
    await w.abort();
    throw e;
  }
}
