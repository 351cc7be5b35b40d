/**
 * Deterministic streaming tar writer. TarWriter is a Readable of tar bytes; entries are
 * pushed with `await add(header, body)` (which waits for the consumer: backpressure) and
 * the archive is closed with `await finish()` (two zero blocks, no record padding).
 *
 * Encoding rules (the same input always gives the same bytes):
 * - POSIX ustar header; a PAX `x` header is added only when a value does not fit ustar:
 *   name/linkname too long or non-ASCII (a name is first split into prefix/name at a '/'),
 *   uid/gid/size/mtime out of octal range or negative, uname/gname > 32 bytes or non-ASCII,
 *   xattrs (`SCHILY.xattr.<name>` raw bytes), atime/ctime when given, a fractional mtime
 *   when `paxNanoseconds` is set, device numbers > 2097151 (`SCHILY.devmajor/devminor`),
 *   and any extra `pax` records the caller supplies. Records are sorted by key.
 * - The PAX header itself is named `<dir>/PaxHeaders.0/<base>` (as Go), with mode, ids and
 *   mtime zero. Fields covered by PAX hold 0 / an ASCII-truncated fallback in the ustar block.
 * - mode is written as mode & 0o7777; numbers as zero-padded octal + NUL; checksum as
 *   6 digits + NUL + space. No atime/ctime unless given; `clampMtime` (SOURCE_DATE_EPOCH
 *   semantics) replaces any later mtime by the epoch.
 * A body whose length differs from `header.size` fails the add with InvalidArgumentError
 * and destroys the stream (the bytes already emitted cannot be taken back).
 * Body chunks are pushed without copying: do not reuse a chunk's memory after yielding it.
 */
import { Readable } from 'node:stream';
import { CairnError, InvalidArgumentError, PreconditionError } from '../errors.js';
import { BLOCK, F, maxOctal, writeChecksum, writeOctal, type Field } from './fields.js';
import { formatPaxRecords, formatPaxTime, SCHILY_XATTR } from './pax.js';
import type { TarEntryType, TarTime } from './types.js';

export interface TarWriteHeader {
  name: string;
  /** Default 'file'. */
  type?: TarEntryType;
  /** Permission bits incl. setuid/setgid/sticky; default 0o644 (0o755 for dirs). */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Body length; required for files with a streamed body, derived from a Buffer body otherwise. Ignored (0) for other types. */
  size?: number;
  /** Seconds since the epoch or { sec, nsec }; default 0. */
  mtime?: number | TarTime;
  atime?: TarTime;
  ctime?: TarTime;
  linkname?: string;
  /** Exact name bytes (e.g. a non-UTF-8 name from TarHeader.nameBytes); overrides the encoding of `name`. */
  nameBytes?: Uint8Array;
  /** Exact link name bytes; overrides the encoding of `linkname`. */
  linknameBytes?: Uint8Array;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Uint8Array>;
  /** Additional PAX records written verbatim (override computed ones with the same key). */
  pax?: Map<string, Uint8Array | string>;
}

export interface TarWriterOptions {
  /** SOURCE_DATE_EPOCH: entries with a later mtime get exactly this mtime (seconds). */
  clampMtime?: number;
  /** Keep sub-second mtimes by writing a PAX `mtime` record (default false: nanoseconds are dropped). */
  paxNanoseconds?: boolean;
  /** Readable buffer size in bytes (default 64 KiB). */
  highWaterMark?: number;
}

export type TarBodyInput = Uint8Array | AsyncIterable<Uint8Array>;

const TYPEFLAG: Record<TarEntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
};
const MAX_ID = maxOctal(8); // 2097151
const MAX_SIZE = maxOctal(12); // 8 GiB - 1

function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x01-\x7f]*$/.test(s);
}

function isAsciiBytes(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! === 0 || b[i]! > 0x7f) return false;
  return true;
}

function toTime(t: number | TarTime | undefined, what: string): TarTime {
  if (t === undefined) return { sec: 0, nsec: 0 };
  if (typeof t === 'number') {
    if (!Number.isSafeInteger(t)) throw new InvalidArgumentError(`tar writer: ${what} ${t} is not an integer number of seconds`);
    return { sec: t, nsec: 0 };
  }
  if (!Number.isSafeInteger(t.sec) || !Number.isInteger(t.nsec) || t.nsec < 0 || t.nsec >= 1e9) {
    throw new InvalidArgumentError(`tar writer: invalid ${what} ${JSON.stringify(t)}`);
  }
  return t;
}

/** Split a long ASCII name into ustar prefix (<=155) and name (<=100) at the last possible '/' (Go's splitUSTARPath). */
function splitUstarName(b: Buffer): [Buffer, Buffer] | null {
  if (b.length <= 100) return [Buffer.alloc(0), b];
  let length = b.length;
  if (length > 156) length = 156;
  else if (b[length - 1] === 0x2f) length--;
  const i = b.subarray(0, length).lastIndexOf(0x2f);
  const nlen = b.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return null;
  return [b.subarray(0, i), b.subarray(i + 1)];
}

/** The ustar field content when the real value lives in PAX: ASCII bytes only, truncated (as Go). */
function asciiFallback(s: string | Uint8Array, len: number): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.from(b.filter((x) => x > 0 && x < 0x80).subarray(0, len));
}

function putString(block: Buffer, f: Field, b: Uint8Array): void {
  const [off, len] = F[f];
  block.set(b.subarray(0, len), off);
}

function putNumber(block: Buffer, f: Field, v: number): void {
  const [off, len] = F[f];
  writeOctal(block, off, len, v);
}

interface Encoded {
  blocks: Buffer; // PAX header + data (if any) + ustar header
  size: number;
}

/** Build the header blocks for one entry. Exported for tests and for callers that only need bytes. */
export function encodeHeader(h: TarWriteHeader, opts: TarWriterOptions = {}): Encoded {
  const type = h.type ?? 'file';
  if (!(type in TYPEFLAG)) throw new InvalidArgumentError(`tar writer: unknown entry type ${JSON.stringify(type)}`);
  const name = h.name;
  const linkname = h.linkname ?? '';
  const nameBytes = h.nameBytes ? Buffer.from(h.nameBytes) : Buffer.from(name, 'utf8');
  const linkBytes = h.linknameBytes ? Buffer.from(h.linknameBytes) : Buffer.from(linkname, 'utf8');
  if (nameBytes.length === 0) throw new InvalidArgumentError('tar writer: entry name is empty');
  if (nameBytes.includes(0) || linkBytes.includes(0)) throw new InvalidArgumentError(`tar writer: NUL byte in the name or link name of ${JSON.stringify(name)}`);
  if ((type === 'symlink' || type === 'hardlink') && linkBytes.length === 0) throw new InvalidArgumentError(`tar writer: ${type} ${JSON.stringify(name)} has no link name`);
  const mode = (h.mode ?? (type === 'dir' ? 0o755 : 0o644)) & 0o7777;
  const uid = h.uid ?? 0;
  const gid = h.gid ?? 0;
  const size = type === 'file' ? (h.size ?? 0) : 0;
  for (const [k, v] of [['uid', uid], ['gid', gid], ['size', size], ['devmajor', h.devmajor ?? 0], ['devminor', h.devminor ?? 0]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`tar writer: invalid ${k} ${v} for ${JSON.stringify(name)}`);
  }
  let mtime = toTime(h.mtime, 'mtime');
  if (opts.clampMtime !== undefined && (mtime.sec > opts.clampMtime || (mtime.sec === opts.clampMtime && mtime.nsec > 0))) {
    mtime = { sec: opts.clampMtime, nsec: 0 };
  }
  if (!opts.paxNanoseconds && mtime.nsec !== 0) mtime = { sec: mtime.sec, nsec: 0 };

  const pax = new Map<string, Uint8Array | string>();
  const block = Buffer.alloc(BLOCK);

  // name / prefix
  const split = isAsciiBytes(nameBytes) ? splitUstarName(nameBytes) : null;
  if (split) {
    putString(block, 'name', split[1]);
    putString(block, 'prefix', split[0]);
  } else {
    pax.set('path', nameBytes);
    putString(block, 'name', asciiFallback(nameBytes, 100));
  }
  if (linkBytes.length > 100 || !isAsciiBytes(linkBytes)) {
    pax.set('linkpath', linkBytes);
    putString(block, 'linkname', asciiFallback(linkBytes, 100));
  } else {
    putString(block, 'linkname', linkBytes);
  }

  putNumber(block, 'mode', mode);
  const numField = (f: Field, v: number, key: string): void => {
    if (v > maxOctal(F[f][1])) {
      pax.set(key, String(v));
      putNumber(block, f, 0);
    } else putNumber(block, f, v);
  };
  numField('uid', uid, 'uid');
  numField('gid', gid, 'gid');
  numField('size', size, 'size');
  if (mtime.sec < 0 || mtime.sec > MAX_SIZE || mtime.nsec !== 0) {
    pax.set('mtime', formatPaxTime(mtime));
    putNumber(block, 'mtime', mtime.sec < 0 || mtime.sec > MAX_SIZE ? 0 : mtime.sec);
  } else putNumber(block, 'mtime', mtime.sec);
  if (h.atime) pax.set('atime', formatPaxTime(toTime(h.atime, 'atime')));
  if (h.ctime) pax.set('ctime', formatPaxTime(toTime(h.ctime, 'ctime')));

  block[156] = TYPEFLAG[type];
  block.write('ustar\x0000', 257, 'latin1');
  for (const f of ['uname', 'gname'] as const) {
    const s = (f === 'uname' ? h.uname : h.gname) ?? '';
    const b = Buffer.from(s, 'utf8');
    if (b.length > 32 || !isAscii(s)) {
      pax.set(f, s);
      putString(block, f, asciiFallback(s, 32));
    } else putString(block, f, b);
  }
  const isDev = type === 'char' || type === 'block';
  const dmaj = isDev ? (h.devmajor ?? 0) : 0;
  const dmin = isDev ? (h.devminor ?? 0) : 0;
  if (dmaj > MAX_ID) pax.set('SCHILY.devmajor', String(dmaj));
  putNumber(block, 'devmajor', dmaj > MAX_ID ? 0 : dmaj);
  if (dmin > MAX_ID) pax.set('SCHILY.devminor', String(dmin));
  putNumber(block, 'devminor', dmin > MAX_ID ? 0 : dmin);

  if (h.xattrs) {
    for (const [k, v] of h.xattrs) {
      if (!k || k.includes('=') || k.includes('\0') || k.includes('\n')) throw new InvalidArgumentError(`tar writer: invalid xattr name ${JSON.stringify(k)} on ${JSON.stringify(name)}`);
      pax.set(SCHILY_XATTR + k, v);
    }
  }
  if (h.pax) for (const [k, v] of h.pax) pax.set(k, v);
  writeChecksum(block);

  if (pax.size === 0) return { blocks: block, size };
  let data: Buffer;
  try {
    data = formatPaxRecords(pax);
  } catch (e) {
    throw new InvalidArgumentError(`tar writer: ${(e as Error).message} on ${JSON.stringify(name)}`);
  }
  const ph = Buffer.alloc(BLOCK);
  putString(ph, 'name', paxHeaderName(nameBytes.toString('latin1')));
  putNumber(ph, 'mode', 0);
  putNumber(ph, 'uid', 0);
  putNumber(ph, 'gid', 0);
  if (data.length > MAX_SIZE) throw new InvalidArgumentError(`tar writer: PAX header of ${JSON.stringify(name)} too large`);
  putNumber(ph, 'size', data.length);
  putNumber(ph, 'mtime', 0);
  ph[156] = 0x78; // 'x'
  ph.write('ustar\x0000', 257, 'latin1');
  putNumber(ph, 'devmajor', 0);
  putNumber(ph, 'devminor', 0);
  writeChecksum(ph);
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return { blocks: Buffer.concat([ph, data, Buffer.alloc(pad), block]), size };
}

function paxHeaderName(name: string): Buffer {
  const trimmed = name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const dir = slash >= 0 ? trimmed.slice(0, slash) : '.';
  const base = slash >= 0 ? trimmed.slice(slash + 1) : trimmed;
  return asciiFallback(`${dir}/PaxHeaders.0/${base}`, 100);
}

/**
 * A Readable stream of tar bytes. Drive it with sequential `add()` calls and one
 * `finish()`; somebody must be reading the stream or `add()` waits (backpressure).
 */
export class TarWriter extends Readable {
  private readonly opts: TarWriterOptions;
  private waiting: (() => void) | null = null;
  private queue: Promise<void> = Promise.resolve();
  private finished = false;
  private failure: Error | null = null;
  /** Tar bytes produced so far. */
  bytesWritten = 0;

  constructor(opts: TarWriterOptions = {}) {
    super({ highWaterMark: opts.highWaterMark ?? 64 * 1024 });
    this.opts = opts;
  }

  override _read(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.failure ??= err ?? new PreconditionError('tar writer: stream destroyed');
    const w = this.waiting;
    this.waiting = null;
    w?.();
    cb(err);
  }

  private async pushBytes(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.bytesWritten += chunk.length;
    if (!this.push(chunk)) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
      if (this.failure) throw this.failure;
    }
  }

  /** Append one entry. Calls are serialised; the promise settles when its bytes were handed to the stream. */
  add(header: TarWriteHeader, body?: TarBodyInput): Promise<void> {
    const p = this.queue.then(() => this.doAdd(header, body));
    this.queue = p.catch(() => undefined); // the caller of add() sees the error; later adds check `failure`
    return p;
  }

  private async doAdd(h: TarWriteHeader, body: TarBodyInput | undefined): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.finished) throw new PreconditionError('tar writer: add() after finish()');
    const type = h.type ?? 'file';
    let header = h;
    if (type === 'file' && body instanceof Uint8Array && h.size === undefined) header = { ...h, size: body.length };
    if (type === 'file' && h.size === undefined && body !== undefined && !(body instanceof Uint8Array)) {
      throw new InvalidArgumentError(`tar writer: size of ${JSON.stringify(h.name)} is required with a streamed body`);
    }
    const { blocks, size } = encodeHeader(header, this.opts);
    try {
      await this.pushBytes(blocks);
      let n = 0;
      if (body instanceof Uint8Array) {
        n = body.length;
        if (n !== size) throw this.sizeError(h.name, size, n);
        if (n > 0) await this.pushBytes(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      } else if (body !== undefined) {
        for await (const c of body) {
          n += c.length;
          if (n > size) throw this.sizeError(h.name, size, n, true);
          if (c.length > 0) await this.pushBytes(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
        }
      }
      if (n !== size) throw this.sizeError(h.name, size, n);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad > 0) await this.pushBytes(Buffer.alloc(pad));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      if (!this.failure) {
        this.failure = err;
        this.destroy(err);
      }
      throw err;
    }
  }

  private sizeError(name: string, want: number, got: number, atLeast = false): CairnError {
    return new InvalidArgumentError(`tar writer: body of ${JSON.stringify(name)} is ${atLeast ? 'at least ' : ''}${got} bytes but the header says ${want}`);
  }

  /** Write the end-of-archive marker (two zero blocks) and end the stream. */
  finish(): Promise<void> {
    const p = this.queue.then(async () => {
      if (this.failure) throw this.failure;
      if (this.finished) throw new PreconditionError('tar writer: finish() called twice');
      this.finished = true;
      await this.pushBytes(Buffer.alloc(2 * BLOCK));
      this.push(null);
    });
    this.queue = p.catch(() => undefined);
    return p;
  }
}

/** Convenience: a TarWriter with these options. */
export function createTarWriter(opts: TarWriterOptions = {}): TarWriter {
  return new TarWriter(opts);
}
