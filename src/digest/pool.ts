/**
 * Hashing off the main thread: a {@link PoolDigester} is fed chunks like a Digester, and spans
 * of open files, and the hashing runs on a thread of libuv's pool (the native addon's OpenSSL
 * calls; a span read there, never in JavaScript), in order, while the main thread goes on
 * parsing and applying. Chunks are gathered into batches of about a megabyte; a span goes with
 * the chunks before it and whatever else waits, at once when the pool thread is idle, else as
 * soon as the batch in flight is done — so many small files cost few round trips to the pool
 * (and a span handed over with its fd is closed there, without one).
 * The chunks are kept (not copied) until hashed: a caller must not reuse a chunk's memory after
 * handing it over. `update` returns a promise only when more than {@link MAX_QUEUED} bytes of
 * chunks wait (backpressure), so memory stays bounded.
 */
import { closeSync } from 'node:fs';

import { DataCorruptError } from '../errors.js';
import { errnoCode, hashDigest, hashNew, hashUpdate, type HashPiece, type NativeHasher } from '../native/index.js';
import type { Algorithm, Digest } from './digest.js';

/** Bytes gathered before a batch goes to the pool. */
const BATCH_BYTES = 1 << 20;
/** Most pieces in one batch (the addon's limit). */
const BATCH_CHUNKS = 256;
/** Bytes handed over but not yet hashed before `update` makes its caller wait. */
const MAX_QUEUED = 16 << 20;

interface Span {
  fd: number;
  offset: number;
  length: number;
  /** Told once the span will not be read again (hashed, or the digester failed). */
  done: (() => void) | undefined;
  /** The digester owns the fd: closed on the pool once read (or here, when never sent). */
  close: boolean;
}

/** Work for the pool, in order: chunks in memory and spans of open files. */
interface Job {
  pieces: HashPiece[];
  /** Bytes of chunks in memory. */
  bytes: number;
  spans: Span[];
}

export class PoolDigester {
  readonly algorithm: Algorithm;
  private readonly h: NativeHasher;
  /** Pieces gathered for the next batch. */
  private pending: Job = { pieces: [], bytes: 0, spans: [] };
  /** Bytes of chunks and spans in `pending`: what makes a batch big enough. */
  private pendingWork = 0;
  /** Batches waiting their turn behind the one in flight. */
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
    this.pending.pieces.push(chunk);
    this.pending.bytes += chunk.length;
    this.pendingWork += chunk.length;
    if (this.pendingWork >= BATCH_BYTES || this.pending.pieces.length >= BATCH_CHUNKS) {
      this.gather();
      this.next();
    }
    if (this.heldBytes > MAX_QUEUED) return this.room();
    return undefined;
  }

  /**
   * Hand over `length` bytes of the open file `fd` from `offset`, hashed in their turn by a
   * read on the pool (they never cross into JavaScript, and hold no memory here meanwhile).
   * The file must stay open, and unchanged, until `done` is called (or, without `done`,
   * until the digest is taken); `done` is called once the span will not be read again —
   * hashed, or the digester failed. When this throws (the digester failed already), nothing
   * was handed over and `done` is not called.
   */
  updateFile(fd: number, offset: number, length: number, done?: () => void): void {
    this.addSpan({ fd, offset, length, done, close: false });
  }

  /**
   * As {@link updateFile}, and the digester owns `fd` from now on, even when this throws: it
   * is closed on the pool right after it is read (with no round trip back here), or closed
   * here if it never will be (the digester failed).
   */
  updateFileAndClose(fd: number, offset: number, length: number): void {
    if (this.failure !== undefined) closeSync(fd);
    this.addSpan({ fd, offset, length, done: undefined, close: true });
  }

  private addSpan(span: Span): void {
    if (this.failure !== undefined) throw this.failure;
    this.bytes += span.length;
    this.pending.pieces.push(span.close ? [span.fd, span.offset, span.length, true] : [span.fd, span.offset, span.length]);
    this.pending.spans.push(span);
    this.pendingWork += span.length;
    if (this.inFlight === null || this.pendingWork >= BATCH_BYTES || this.pending.pieces.length >= BATCH_CHUNKS) {
      this.gather();
      this.next();
    }
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

  /** The gathered pieces become a batch in the queue. */
  private gather(): void {
    if (this.pending.pieces.length === 0) return;
    this.queue.push(this.pending);
    this.pending = { pieces: [], bytes: 0, spans: [] };
    this.pendingWork = 0;
  }

  /** Start the next job when none is in flight; spans waiting go at once rather than wait for a full batch. */
  private next(): void {
    if (this.inFlight !== null || this.failure !== undefined) return;
    if (this.queue.length === 0 && this.pending.spans.length > 0) this.gather();
    const job = this.queue.shift();
    if (job === undefined) return;
    let run: Promise<void>;
    try {
      run = hashUpdate(this.h, job.pieces);
    } catch (e) {
      // refused before it was queued: nothing of it was read or closed
      run = Promise.reject(e);
      for (const s of job.spans) {
        if (!s.close) continue;
        s.close = false;
        closeSync(s.fd);
      }
    }
    this.inFlight = run.then(
      () => {
        this.heldBytes -= job.bytes;
        this.inFlight = null;
        release(job.spans, false);
        this.next();
      },
      (e: unknown) => {
        this.failure ??= errnoCode(e) === 'ENODATA' ? spanEnded(job, e) : e;
        this.inFlight = null;
        // nothing more is read: every span handed over may be closed (those sent to close, were)
        release(job.spans, false);
        for (const j of this.queue.splice(0)) release(j.spans, true);
        release(this.pending.spans, true);
        this.pending = { pieces: [], bytes: 0, spans: [] };
        this.pendingWork = 0;
      },
    );
  }
}

/** Tell each span's owner it is done with; `unsent`: they never went to the pool, so the fds the digester owns are closed here. */
function release(spans: Span[], unsent: boolean): void {
  for (const s of spans) {
    if (unsent && s.close) closeSync(s.fd);
    s.done?.();
  }
}

/** The error for a span whose file ended early (the addon names the piece). */
function spanEnded(job: Job, cause: unknown): DataCorruptError {
  const at = (cause as { piece?: unknown }).piece;
  const piece = typeof at === 'number' ? job.pieces[at] : undefined;
  const what = piece !== undefined && !(piece instanceof Uint8Array) ? `the ${piece[2]} bytes at offset ${piece[1]}` : 'a span';
  return new DataCorruptError(`the input file ended before ${what} were hashed (it changed while it was read?)`, { cause });
}
