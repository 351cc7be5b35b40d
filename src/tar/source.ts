/**
 * A pull-based byte cursor over an async iterable of chunks (a Readable works too). It
 * hands out zero-copy subarray views of the incoming chunks, copies only when a small
 * fixed-size read (a 512-byte header, a PAX block) straddles chunks, and counts the
 * absolute position. It never holds more than the current chunk. An optional tap sees
 * every byte handed out or skipped, in order (the tar reader's raw-bytes tap).
 */
import { read as fsRead } from 'node:fs';
import type { Readable } from 'node:stream';
import { DataCorruptError, InvalidArgumentError } from '../errors.js';

/** Bytes: a Readable, an async iterable of chunks, a plain iterable such as an array of Buffers, or one Uint8Array. */
export type ByteInput = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Readable | Uint8Array;

/** `length` bytes of the open file `fd` from `offset`. */
export interface FileSpan {
  readonly fd: number;
  readonly offset: number;
  readonly length: number;
}

/** Reads of a file span: large, few round trips to the pool. */
const SPAN_READ = 1 << 20;
/** The first read after a stretch taken by position: most likely headers, then another big body. */
const SPAN_READ_AFTER_SKIP = 64 << 10;

/**
 * A span of an open file as bytes: iterating it reads them (positional reads on the pool),
 * and a consumer that knows spans can instead take whole stretches of it by position, never
 * reading them into JavaScript (see {@link ByteSource.takeSpan}). The file is the caller's
 * to keep open while the bytes are used.
 */
export class FileSpanBytes implements AsyncIterable<Uint8Array>, FileSpan {
  /**
   * `onRead`: told how far into the span its reader has come (bytes read or taken by
   * position), as it goes — a copy's progress.
   */
  constructor(
    readonly fd: number,
    readonly offset: number,
    readonly length: number,
    readonly onRead?: (done: number) => void,
  ) {}

  /** Up to `n` bytes from `at` (relative to the span), fewer only where the span or the file ends. */
  async read(at: number, n: number): Promise<Buffer> {
    const want = Math.max(0, Math.min(n, this.length - at));
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const k = await preadInto(this.fd, buf, got, want - got, this.offset + at + got);
      if (k === 0) break;
      got += k;
    }
    return got === want ? buf : buf.subarray(0, got);
  }

  /** The bytes in order, the next read in flight while the last chunk is used. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    let at = 0;
    let next = this.length > 0 ? this.read(0, SPAN_READ) : null;
    try {
      while (next !== null) {
        const b = await next;
        if (b.length === 0) throw spanEnded(this);
        at += b.length;
        this.onRead?.(at);
        next = at < this.length ? this.read(at, SPAN_READ) : null;
        yield b;
      }
    } finally {
      next?.catch(() => undefined); // a read left in flight by a consumer that stopped: its result is not wanted
    }
  }
}

export function isFileSpanBytes(x: unknown): x is FileSpanBytes {
  return x instanceof FileSpanBytes;
}

function spanEnded(s: FileSpan): DataCorruptError {
  return new DataCorruptError(`the input file ended before the ${s.length} bytes at offset ${s.offset} were read (it changed while it was read?)`);
}

function preadInto(fd: number, buf: Buffer, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

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

/** Sees the stretches of a file span taken by position ({@link ByteSource.takeSpan}), in order with the tapped bytes. */
export type SpanTap = (span: FileSpan, inBody: boolean) => void | Promise<void>;

export class ByteSource {
  private readonly it: AsyncIterator<unknown> | null;
  /** The input when it is a span of a file: read by position, stretches of it taken whole. */
  private readonly file: FileSpanBytes | null;
  private buf: Buffer = EMPTY;
  private off = 0;
  private done = false;
  /** Absolute number of bytes handed out (or skipped) so far. */
  position = 0;
  /** Reported with each tapped chunk: whether it belongs to an entry's body. */
  inBody = false;
  private readonly tap: ByteTap | null;
  private readonly spanTap: SpanTap | null;
  /** Position of the end of `buf` (a file span's next read starts there). */
  private bufEnd = 0;
  /** Size of a file span's next read: small after a stretch taken by position, doubling up to SPAN_READ. */
  private readSize = SPAN_READ;
  /** The next read of a file span, started while the current chunk is parsed. */
  private ahead: { at: number; read: Promise<Buffer> } | null = null;

  /**
   * `spanTap`: with a tap, stretches of a file span are taken by position only when a span
   * tap sees them too; without one, the bytes are read and tapped as usual.
   */
  constructor(input: ByteInput | FileSpanBytes, tap: ByteTap | null = null, spanTap: SpanTap | null = null) {
    this.file = isFileSpanBytes(input) ? input : null;
    this.it = this.file === null ? byteIterator(input) : null;
    this.tap = tap;
    this.spanTap = spanTap;
  }

  /** Whether {@link takeSpan} takes bytes by position (the input is a file span and any tap sees spans). */
  get canSpan(): boolean {
    return this.file !== null && (this.tap === null || this.spanTap !== null);
  }

  /**
   * The next `n` bytes (fewer where the input ends) as a span of the input's file, without
   * reading them: the position moves past them and the span tap sees them. Only when
   * {@link canSpan}.
   */
  async takeSpan(n: number): Promise<FileSpan> {
    const f = this.file;
    if (f === null || !this.canSpan) throw new InvalidArgumentError('tar: takeSpan on a source that cannot take spans');
    const k = Math.max(0, Math.min(n, f.length - this.position));
    const span: FileSpan = { fd: f.fd, offset: f.offset + this.position, length: k };
    const buffered = this.buf.length - this.off;
    if (k < buffered) {
      this.off += k;
    } else {
      this.buf = EMPTY;
      this.off = 0;
      this.bufEnd = this.position + k;
      this.readSize = SPAN_READ_AFTER_SKIP;
    }
    this.position += k;
    f.onRead?.(this.position);
    if (k > 0 && this.spanTap !== null) {
      const r = this.spanTap(span, this.inBody);
      if (r !== undefined) await r;
    }
    return span;
  }

  /** Make unread bytes available; false at end of input. */
  private async fill(): Promise<boolean> {
    while (this.off >= this.buf.length) {
      if (this.done) return false;
      if (this.file !== null) {
        if (this.bufEnd >= this.file.length) {
          this.done = true;
          return false;
        }
        // the read started ahead when it is of the bytes wanted now, else a new one
        const ahead = this.ahead;
        this.ahead = null;
        const b = await (ahead !== null && ahead.at === this.bufEnd ? ahead.read : this.file.read(this.bufEnd, this.readSize));
        if (b.length === 0) throw spanEnded(this.file);
        this.readSize = Math.min(SPAN_READ, this.readSize * 2);
        this.buf = b;
        this.off = 0;
        this.bufEnd += b.length;
        this.file.onRead?.(this.bufEnd);
        if (this.bufEnd < this.file.length) {
          const read = this.file.read(this.bufEnd, this.readSize);
          read.catch(() => undefined); // awaited when used; a read overtaken by a span is dropped
          this.ahead = { at: this.bufEnd, read };
        }
        continue;
      }
      const r = await this.it!.next();
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

  /**
   * The unread bytes of the current chunk (the next chunk when none are left), as a view,
   * without consuming them; null at end of input. See {@link consumeUntapped}.
   */
  async peek(): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    return this.buf.subarray(this.off);
  }

  /**
   * Consume the first `n` bytes of what {@link peek} returned, without showing them to the
   * tap: the caller accounts for them itself.
   */
  consumeUntapped(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.buf.length - this.off) {
      throw new InvalidArgumentError(`tar: cannot consume ${n} bytes of the ${this.buf.length - this.off} at hand`);
    }
    this.off += n;
    this.position += n;
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

  /** Discard up to `n` bytes; returns how many were discarded (less only at end of input). Body bytes of a file span are skipped by position. */
  async skip(n: number): Promise<number> {
    if (this.inBody && this.canSpan) return (await this.takeSpan(n)).length;
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
    await this.it?.return?.();
  }
}
