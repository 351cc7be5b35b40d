/**
 * A pull-based byte cursor over an async iterable of chunks (a Readable works too). It
 * hands out zero-copy subarray views of the incoming chunks, copies only when a small
 * fixed-size read (a 512-byte header, a PAX block) straddles chunks, and counts the
 * absolute position. It never holds more than the current chunk. An optional tap sees
 * every byte handed out or skipped, in order (the tar reader's raw-bytes tap).
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';

/** Bytes: a Readable, an async iterable of chunks, a plain iterable such as an array of Buffers, or one Uint8Array. */
export type ByteInput = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable | Uint8Array;

/** The async iterator behind any ByteInput. */
export function byteIterator(input: ByteInput): AsyncIterator<unknown> {
  if (input instanceof Uint8Array) return byteIterator([input]);
  const ai = (input as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
  if (typeof ai === 'function') return ai.call(input) as AsyncIterator<unknown>;
  const si = (input as Partial<Iterable<unknown>>)[Symbol.iterator];
  if (typeof si === 'function') {
    const sync = si.call(input) as Iterator<unknown>;
    return {
      next: async () => sync.next(),
      return: async () => sync.return?.() ?? { done: true, value: undefined },
    };
  }
  throw new InvalidArgumentError('expected a stream or iterable of byte chunks');
}

const EMPTY = Buffer.alloc(0);

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new InvalidArgumentError(`tar: source yielded ${typeof chunk}, expected bytes (Uint8Array)`);
}

/**
 * Sees every byte a ByteSource hands out or skips, in order, once: `inBody` is the
 * source's flag at that moment (set by the tar reader around entry bodies). A returned
 * promise is awaited before the bytes go on (backpressure). `bytes` is a view: copy to keep.
 */
export type ByteTap = (bytes: Buffer, inBody: boolean) => void | Promise<void>;

export class ByteSource {
  private readonly it: AsyncIterator<unknown>;
  private buf: Buffer = EMPTY;
  private off = 0;
  private done = false;
  /** Absolute number of bytes handed out (or skipped) so far. */
  position = 0;
  /** Reported with each tapped chunk: whether it belongs to an entry's body. */
  inBody = false;
  private readonly tap: ByteTap | null;

  constructor(input: ByteInput, tap: ByteTap | null = null) {
    this.it = byteIterator(input);
    this.tap = tap;
  }

  /** Make unread bytes available; false at end of input. */
  private async fill(): Promise<boolean> {
    while (this.off >= this.buf.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        this.buf = EMPTY;
        this.off = 0;
        return false;
      }
      this.buf = toBuffer(r.value);
      this.off = 0;
    }
    return true;
  }

  /** Up to `max` bytes as a view of the current chunk; null at end of input. */
  async read(max: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    const n = Math.min(max, this.buf.length - this.off);
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    this.position += n;
    if (this.tap !== null) {
      const r = this.tap(out, this.inBody);
      if (r !== undefined) await r;
    }
    return out;
  }

  /**
   * Exactly `n` bytes (a view when they lie in one chunk, else a copy). Returns a shorter
   * buffer if the input ends first (possibly empty).
   */
  async readExact(n: number): Promise<Buffer> {
    if (!(await this.fill())) return EMPTY;
    if (this.buf.length - this.off >= n) {
      const out = this.buf.subarray(this.off, this.off + n);
      this.off += n;
      this.position += n;
      if (this.tap !== null) {
        const r = this.tap(out, this.inBody);
        if (r !== undefined) await r;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const c = await this.read(n - got);
      if (c === null) return out.subarray(0, got);
      out.set(c, got);
      got += c.length;
    }
    return out;
  }

  /** Discard up to `n` bytes; returns how many were discarded (less only at end of input). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.read(left);
      if (c === null) break;
      left -= c.length;
    }
    return n - left;
  }

  /** Discard everything that is left; returns the byte count. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const c = await this.read(Number.MAX_SAFE_INTEGER);
      if (c === null) return total;
      total += c.length;
    }
  }

  /** Stop reading: lets the underlying iterator clean up (destroys a Readable). */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.buf = EMPTY;
    await this.it.return?.();
  }
}
