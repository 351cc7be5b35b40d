/**
 * Hashing off the main thread: a {@link PoolDigester} is fed chunks like a Digester, but the
 * hashing runs on a thread of libuv's pool (the native addon's OpenSSL calls), in batches of
 * about a megabyte, while the main thread goes on parsing and applying. The chunks are kept
 * (not copied) until hashed: a caller must not reuse a chunk's memory after handing it over.
 * `update` returns a promise only when more than {@link MAX_QUEUED} bytes wait (backpressure),
 * so memory stays bounded.
 */
import { hashDigest, hashNew, hashUpdate, type NativeHasher } from '../native/index.js';
import type { Algorithm, Digest } from './digest.js';

/** Bytes gathered before a batch goes to the pool. */
const BATCH_BYTES = 1 << 20;
/** Most chunks in one batch (the addon's limit). */
const BATCH_CHUNKS = 256;
/** Bytes handed over but not yet hashed before `update` makes its caller wait. */
const MAX_QUEUED = 16 << 20;

export class PoolDigester {
  readonly algorithm: Algorithm;
  private readonly h: NativeHasher;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private inFlight: Promise<void> | null = null;
  private inFlightBytes = 0;
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
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.inFlight === null && (this.pendingBytes >= BATCH_BYTES || this.pending.length >= BATCH_CHUNKS)) this.launch();
    if (this.pendingBytes + this.inFlightBytes > MAX_QUEUED || this.pending.length >= BATCH_CHUNKS) return this.room();
    return undefined;
  }

  /** The digest of every byte handed over; the digester is spent. */
  async digest(): Promise<Digest> {
    while (this.inFlight !== null || this.pending.length > 0) {
      if (this.inFlight === null) this.launch();
      await this.inFlight;
      if (this.failure !== undefined) throw this.failure;
    }
    if (this.failure !== undefined) throw this.failure;
    return `${this.algorithm}:${hashDigest(this.h)}` as Digest;
  }

  private async room(): Promise<void> {
    while (this.inFlight !== null && (this.pendingBytes + this.inFlightBytes > MAX_QUEUED || this.pending.length >= BATCH_CHUNKS)) {
      await this.inFlight;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private launch(): void {
    const chunks = this.pending.length > BATCH_CHUNKS ? this.pending.splice(0, BATCH_CHUNKS) : this.pending;
    if (chunks === this.pending) this.pending = [];
    let n = 0;
    for (const c of chunks) n += c.length;
    this.pendingBytes -= n;
    this.inFlightBytes = n;
    this.inFlight = hashUpdate(this.h, chunks).then(
      () => this.settled(),
      (e: unknown) => {
        this.failure ??= e;
        this.inFlight = null;
        this.inFlightBytes = 0;
      },
    );
  }

  private settled(): void {
    this.inFlight = null;
    this.inFlightBytes = 0;
    if (this.pending.length > 0 && (this.pendingBytes >= BATCH_BYTES || this.pending.length >= BATCH_CHUNKS)) this.launch();
  }
}
