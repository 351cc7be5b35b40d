/**
 * Hashing off the main thread: a {@link PoolDigester} is fed chunks like a Digester, but the
 * hashing runs on a thread of libuv's pool (the native addon's OpenSSL calls), in batches of
 * about a megabyte, while the main thread goes on parsing and applying. The chunks are kept
 * (not copied) until hashed: a caller must not reuse a chunk's memory after handing it over.
 * `update` returns a promise only when more than {@link MAX_QUEUED} bytes wait (backpressure),
 * so memory stays bounded.
 */
import { DataCorruptError } from '../errors.js';
import { errnoCode, hashDigest, hashFile, hashNew, hashUpdate, type NativeHasher } from '../native/index.js';
import type { Algorithm, Digest } from './digest.js';

/** Bytes gathered before a batch goes to the pool. */
const BATCH_BYTES = 1 << 20;
/** Most chunks in one batch (the addon's limit). */
const BATCH_CHUNKS = 256;
/** Bytes handed over but not yet hashed before `update` makes its caller wait. */
const MAX_QUEUED = 16 << 20;

/** Work for the pool, in order: chunks in memory, or a span of an open file. */
type Job = { chunks: Uint8Array[]; bytes: number } | { fd: number; offset: number; length: number };

export class PoolDigester {
  readonly algorithm: Algorithm;
  private readonly h: NativeHasher;
  /** Chunks gathered for the next batch. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Batches and file spans waiting their turn behind the one in flight. */
  private readonly queue: Job[] = [];
  /** Bytes in memory handed over and not yet hashed (gathered, queued, in flight). */
  private heldBytes = 0;
  private inFlight: Promise<void> | null = null;
  private failure: unknown;
  private bytes = 0;

  constructor(alg: Algorithm = 'sha256') {
    this.algorithm = alg;
    this.h = hashNew(alg);
  }

  get size(): number {
    return this.bytes;
  }

  /** Hand over `chunk`; the returned promise (only when too much waits) resolves when there is room again. */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (chunk.length === 0) return undefined;
    this.bytes += chunk.length;
    this.heldBytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= BATCH_BYTES || this.pending.length >= BATCH_CHUNKS) {
      this.gather();
      this.next();
    }
    if (this.heldBytes > MAX_QUEUED) return this.room();
    return undefined;
  }

  /**
   * Hand over `length` bytes of the open file `fd` from `offset`, hashed in their turn by a
   * read on the pool (they never cross into JavaScript, and hold no memory here meanwhile).
   * The file must stay open, and unchanged, until the digest is taken.
   */
  updateFile(fd: number, offset: number, length: number): void {
    if (this.failure !== undefined) throw this.failure;
    if (length === 0) return;
    this.bytes += length;
    this.gather();
    this.queue.push({ fd, offset, length });
    this.next();
  }

  /** The digest of every byte handed over; the digester is spent. */
  async digest(): Promise<Digest> {
    this.gather();
    this.next();
    while (this.inFlight !== null) {
      await this.inFlight;
      if (this.failure !== undefined) throw this.failure;
    }
    if (this.failure !== undefined) throw this.failure;
    return `${this.algorithm}:${hashDigest(this.h)}` as Digest;
  }

  private async room(): Promise<void> {
    while (this.inFlight !== null && this.heldBytes > MAX_QUEUED) await this.inFlight;
    if (this.failure !== undefined) throw this.failure;
  }

  /** The gathered chunks become a batch in the queue. */
  private gather(): void {
    if (this.pending.length === 0) return;
    this.queue.push({ chunks: this.pending, bytes: this.pendingBytes });
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Start the next job when none is in flight. */
  private next(): void {
    if (this.inFlight !== null || this.failure !== undefined) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    let run: Promise<void>;
    if ('chunks' in job) {
      run = hashUpdate(this.h, job.chunks).then(() => void (this.heldBytes -= job.bytes));
    } else {
      run = hashFile(this.h, job.fd, job.offset, job.length).catch((e: unknown) => {
        throw errnoCode(e) === 'ENODATA' ? new DataCorruptError(`the input file ended before the ${job.length} bytes at offset ${job.offset} were hashed (it changed while it was read?)`) : e;
      });
    }
    this.inFlight = run.then(
      () => {
        this.inFlight = null;
        this.next();
      },
      (e: unknown) => {
        this.failure ??= e;
        this.inFlight = null;
      },
    );
  }
}
