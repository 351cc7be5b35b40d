/**
 * Streaming tar reader: a 512-byte header state machine over a ByteSource. Understands
 * ustar, old GNU, V7, GNU long names/links (`L`/`K`), PAX extended (`x`) and global (`g`)
 * headers, base-256 numbers and both checksum conventions. Bodies are streamed as views of
 * the input chunks and never buffered; the next entry is produced only after the previous
 * body was consumed or (automatically) skipped.
 *
 * End of archive: two zero blocks. Like Go's archive/tar (what Docker and containerd use),
 * EOF right after one zero block, or EOF exactly at a header boundary, is also accepted as
 * the end unless `requireEndMarker` is set. Bytes after the end marker (GNU tar pads to a
 * 10 KiB record) are read and counted (`trailingBytes`) so upstream digests see the whole
 * stream; set `drainTrailing: false` to stop reading there instead.
 *
 * Raw-bytes tap (`tap`): every byte of the input is reported once, in order, either as
 * `raw` (header blocks, PAX `x`/`g` and GNU `L`/`K` entries with their data, the padding
 * after a body, the end-of-archive blocks and everything after them) or as `body` (the
 * current entry's data, also the parts the consumer did not read and the reader skipped);
 * `entry` is called once per entry after its header bytes and before its body.
 * Concatenating raw and body bytes gives the input back exactly (what tar-split records).
 * With a tap the reader always reads the input to its end.
 *
 * Names are bytes in tar: they are decoded as UTF-8 and, when that fails, `nameBytes` /
 * `linknameBytes` carry the exact bytes (the strings then hold U+FFFD replacements).
 * Header-only types (links, dirs, devices, fifos) never have a body, whatever their size
 * field says (as Go); their `size` is reported as 0. `mode` is masked to 0o7777.
 *
 * Every malformed input is a DataCorruptError whose one-line message names the entry (or
 * the previous entry when the header itself is unreadable) and the byte offset. GNU sparse
 * files and other exotic member types are an UnsupportedError.
 */
import { Readable } from 'node:stream';
import { DataCorruptError, InvalidArgumentError, PreconditionError, UnsupportedError } from '../errors.js';
import { BLOCK, checksums, decodeName, F, fieldBytes, headerFormat, isZeroBlock, readField, readNumeric, type Field } from './fields.js';
import { parsePaxInteger, parsePaxRecords, parsePaxTime, xattrsFromPax } from './pax.js';
import { ByteSource, type ByteInput, type FileSpan, type FileSpanBytes } from './source.js';
import { DEFAULT_TAR_LIMITS, isHeaderOnlyType, type TarEntryType, type TarHeader, type TarLimits, type TarTime } from './types.js';

export interface TarReadOptions extends Partial<TarLimits> {
  /** Require the two zero blocks at the end (default false: accept EOF at a header boundary, as Go). */
  requireEndMarker?: boolean;
  /** After the end marker, read and discard the rest of the input (default true). */
  drainTrailing?: boolean;
  /** Keep each entry's raw header bytes (g/x/L/K meta headers with data, then the ustar block) in `entry.rawHeader`. */
  keepRawHeaders?: boolean;
  /** Report every byte of the input as it passes (see the module comment). Implies `drainTrailing`. */
  tap?: TarTap;
  /**
   * A fast lane for runs of ordinary entries (see {@link PlainLane}). With a tap, the tap must
   * have `plain` (the lane tells it of what it takes); not with `keepRawHeaders`.
   */
  plain?: PlainLane;
}

/**
 * Offered the unread bytes at hand before each entry's header (none of a meta header or
 * body is pending): it may take whole entries from their start, doing with them what the
 * reader's consumer would, and returns how many bytes and entries it took (0 when none: the
 * reader then reads the next entry itself). The bytes it takes are not reported to the
 * tap's raw/entry/body (the taker tells the tap through `plain`), and those entries are not
 * yielded. Not offered once a PAX global header was seen. `last`: the last entry's name,
 * for messages about what follows.
 */
export type PlainLane = (view: Buffer) => Promise<PlainTaken> | PlainTaken;
export interface PlainTaken {
  bytes: number;
  entries: number;
  last: string;
}

/** A run of entries a {@link PlainLane} took, as the native scanner read them (native/src/scan.c). */
export interface PlainRun {
  /** The bytes the entries lie in; offsets in `info` are into it. */
  readonly buf: Buffer;
  /** PLAIN_INFO_SLOTS numbers per entry (src/native/index.ts, PLAIN). */
  readonly info: Int32Array;
  /** The cleaned keys and link targets `info` points into. */
  readonly names: Buffer;
  readonly count: number;
}

/**
 * Sees every byte of a tar stream in order. Each call may return a promise, awaited
 * before reading goes on. `bytes` are views of the input: copy what must outlive the call.
 */
export interface TarTap {
  /** Bytes that are not an entry's body: headers, extension entries, padding, end blocks, trailing bytes. */
  raw(bytes: Buffer): void | Promise<void>;
  /** An entry's header was read (its bytes went to `raw`); its body, `header.size` bytes, comes next. */
  entry(header: TarHeader): void | Promise<void>;
  /** Bytes of the current entry's body, in order (all `header.size` of them, read or skipped). */
  body(bytes: Buffer): void | Promise<void>;
  /**
   * Body bytes taken by position from the input's file instead of read (the input is a
   * {@link FileSpanBytes}): a tap without this method makes the reader read them as bytes.
   */
  bodySpan?(span: FileSpan): void | Promise<void>;
  /** Entries a {@link PlainLane} took, in order with the rest: told instead of raw, entry and body for them. */
  plain?(run: PlainRun): void | Promise<void>;
}

export interface TarEntry {
  header: TarHeader;
  /** Offset of the first header block belonging to this entry (including preceding g/x/L/K meta headers). */
  headerOffset: number;
  /** Offset of the first body byte (= end of this entry's header blocks). */
  dataOffset: number;
  /** Raw header bytes [headerOffset, dataOffset), only with `keepRawHeaders`. */
  rawHeader?: Buffer;
  body: TarBody;
}

export interface TarSummary {
  entries: number;
  /** Offset where the end-of-archive marker (or EOF) begins. */
  endOffset: number;
  /** Bytes after the end marker that were read and discarded (0 with `drainTrailing: false`). */
  trailingBytes: number;
  /** Total bytes consumed from the input. */
  bytesRead: number;
  /** Records of PAX global headers seen, merged in order. */
  globalPax: Map<string, Buffer>;
}

const SLASH = Buffer.from('/');

function q(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);
}

function corrupt(msg: string): DataCorruptError {
  return new DataCorruptError(`tar: ${msg}`);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * The body of one entry: an async iterable of zero-copy Buffer views, or a Readable via
 * `stream()`. Single pass. Reading after the reader moved on is a PreconditionError.
 */
export class TarBody implements AsyncIterable<Buffer> {
  readonly size: number;
  private remaining: number;
  private detached = false;
  private inflight: Promise<Buffer | null> | null = null;
  private readable: Readable | null = null;
  private iterating = false;

  constructor(
    private readonly src: ByteSource,
    size: number,
    private readonly entryName: string,
    private readonly dataOffset: number,
  ) {
    this.size = size;
    this.remaining = size;
  }

  /** Bytes of the body delivered so far. */
  get consumed(): number {
    return this.size - this.remaining;
  }

  /** Next chunk of the body, or null when it is complete. */
  async read(): Promise<Buffer | null> {
    if (this.detached) throw new PreconditionError(`tar: body of ${q(this.entryName)} read after the reader moved past it`);
    if (this.inflight) throw new PreconditionError(`tar: concurrent reads of the body of ${q(this.entryName)}`);
    if (this.remaining === 0) return null;
    this.src.inBody = true;
    const p = this.src.read(this.remaining);
    this.inflight = p;
    let c: Buffer | null;
    try {
      c = await p;
    } finally {
      this.inflight = null;
      this.src.inBody = false;
    }
    if (c === null) throw this.truncated();
    this.remaining -= c.length;
    return c;
  }

  /**
   * The rest of the body as a span of the input's file, taken by position without reading it
   * (the taps see it as a span), or null when the input is not a file span that allows it.
   */
  async span(): Promise<FileSpan | null> {
    if (this.detached) throw new PreconditionError(`tar: body of ${q(this.entryName)} read after the reader moved past it`);
    if (this.inflight) throw new PreconditionError(`tar: concurrent reads of the body of ${q(this.entryName)}`);
    if (this.remaining === 0 || !this.src.canSpan) return null;
    this.src.inBody = true;
    let s: FileSpan;
    try {
      s = await this.src.takeSpan(this.remaining);
    } finally {
      this.src.inBody = false;
    }
    this.remaining -= s.length;
    if (this.remaining > 0) throw this.truncated();
    return s;
  }

  private truncated(): DataCorruptError {
    return corrupt(
      `truncated archive: entry ${q(this.entryName)} declares ${this.size} bytes at offset ${this.dataOffset} but the data ends after ${this.size - this.remaining}`,
    );
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    if (this.iterating || this.readable) throw new PreconditionError(`tar: body of ${q(this.entryName)} can be consumed only once`);
    this.iterating = true;
    for (;;) {
      const c = await this.read();
      if (c === null) return;
      yield c;
    }
  }

  /** The body as a Readable (created once; destroyed without error if the reader moves on first). */
  stream(): Readable {
    if (this.readable) return this.readable;
    if (this.iterating) throw new PreconditionError(`tar: body of ${q(this.entryName)} can be consumed only once`);
    const r = new Readable({
      read: () => {
        this.read().then(
          (c) => r.push(c),
          // once the reader moved on, the error reaches the consumer through the reader instead
          (e: unknown) => r.destroy(this.detached ? undefined : e instanceof Error ? e : new Error(String(e))),
        );
      },
    });
    this.readable = r;
    return r;
  }

  /** Collect the whole body; refuses bodies larger than `max` bytes (default 16 MiB) — for small files only. */
  async bytes(max = 16 * 1024 * 1024): Promise<Buffer> {
    if (this.size > max) throw new PreconditionError(`tar: body of ${q(this.entryName)} is ${this.size} bytes, more than ${max} to buffer`);
    const out = Buffer.allocUnsafe(this.size);
    let p = 0;
    for await (const c of this) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }

  /** Called by the reader before it reads the next header: skip what the consumer left, then the padding. */
  async finish(): Promise<void> {
    this.detached = true; // before awaiting: an in-flight stream() read that fails now ends its stream quietly
    if (this.inflight) await this.inflight; // a rejected in-flight read fails the reader too
    if (this.readable && !this.readable.readableEnded) this.readable.destroy();
    if (this.remaining > 0) {
      this.src.inBody = true;
      let n: number;
      try {
        n = await this.src.skip(this.remaining);
      } finally {
        this.src.inBody = false;
      }
      this.remaining -= n;
      if (this.remaining > 0) throw this.truncated();
    }
    const pad = padding(this.size);
    if (pad > 0) {
      const got = await this.src.skip(pad);
      // As Go's archive/tar: input that ends exactly where the last entry's data ends (no
      // padding at all) is a complete archive — umoci 0.4 writes its layers so. A partial
      // padding block is truncation.
      if (got > 0 && got < pad) throw corrupt(`truncated archive: EOF in the padding after entry ${q(this.entryName)}`);
    }
  }

  /** Mark unusable without reading (reader is shutting down). */
  detach(): void {
    this.detached = true;
    if (this.readable && !this.readable.readableEnded) this.readable.destroy();
  }
}

const TYPEFLAGS: Record<number, TarEntryType> = {
  0x30: 'file', // '0'
  0x00: 'file', // '\0' (old V7)
  0x37: 'file', // '7' contiguous file
  0x31: 'hardlink',
  0x32: 'symlink',
  0x33: 'char',
  0x34: 'block',
  0x35: 'dir',
  0x36: 'fifo',
};

function typeflagName(tf: number): string {
  return tf >= 0x20 && tf < 0x7f ? `'${String.fromCharCode(tf)}'` : `0x${tf.toString(16).padStart(2, '0')}`;
}

/** Say so when the input is compressed (a common mistake: feeding a .tar.gz to the tar reader). */
function notTarHint(block: Uint8Array): string {
  if (block[0] === 0x1f && block[1] === 0x8b) return ' (input is gzip-compressed, not a tar archive)';
  if (block[0] === 0x28 && block[1] === 0xb5 && block[2] === 0x2f && block[3] === 0xfd) return ' (input is zstd-compressed, not a tar archive)';
  return '';
}

class TarParser {
  readonly src: ByteSource;
  private readonly limits: TarLimits;
  private readonly opts: TarReadOptions;
  readonly globalPax = new Map<string, Buffer>();
  private lastName: string | null = null;
  entries = 0;
  endOffset = -1;
  trailingBytes = 0;
  private current: TarBody | null = null;
  private readonly tap: TarTap | null;
  private readonly plain: PlainLane | null;

  constructor(input: ByteInput | FileSpanBytes, opts: TarReadOptions) {
    const tap = opts.tap ?? null;
    if (tap !== null && opts.drainTrailing === false) {
      throw new InvalidArgumentError('tar: a tap reads the input to its end: drainTrailing cannot be false');
    }
    this.tap = tap;
    this.plain = opts.plain ?? null;
    if (this.plain !== null && ((tap !== null && tap.plain === undefined) || opts.keepRawHeaders)) {
      throw new InvalidArgumentError('tar: a plain lane needs a tap that takes plain runs, and no raw headers kept');
    }
    this.src = new ByteSource(
      input,
      tap === null ? null : (b, inBody) => (inBody ? tap.body(b) : tap.raw(b)),
      // spans only where the tap sees them (a body; nothing else is taken by position)
      tap === null ? (): void => undefined : tap.bodySpan === undefined ? null : (s) => tap.bodySpan!(s),
    );
    this.opts = opts;
    this.limits = {
      maxPaxSize: opts.maxPaxSize ?? DEFAULT_TAR_LIMITS.maxPaxSize,
      maxNameLength: opts.maxNameLength ?? DEFAULT_TAR_LIMITS.maxNameLength,
    };
  }

  private after(): string {
    return this.lastName === null ? '' : ` (after entry ${q(this.lastName)})`;
  }

  async finishCurrent(): Promise<void> {
    const b = this.current;
    this.current = null;
    if (b) await b.finish();
  }

  close(): Promise<void> {
    this.current?.detach();
    this.current = null;
    return this.src.close();
  }

  private async end(at: number): Promise<null> {
    this.endOffset = at;
    if (this.opts.drainTrailing ?? true) this.trailingBytes = await this.src.drain();
    else await this.src.close();
    return null;
  }

  /** Read meta-header data (GNU long name or PAX), with padding. */
  private async readMetaData(size: number, what: string, off: number, raw: Buffer[] | null): Promise<Buffer> {
    const padded = size + padding(size);
    const data = await this.src.readExact(padded);
    if (data.length < padded) throw corrupt(`truncated archive: EOF inside the ${what} at offset ${off}${this.after()}`);
    if (raw) raw.push(Buffer.from(data));
    return data.subarray(0, size);
  }

  async next(): Promise<TarEntry | null> {
    await this.finishCurrent();
    if (this.plain !== null) await this.offerPlain(this.plain);
    let headerOffset = -1;
    let longName: Uint8Array | null = null;
    let longLink: Uint8Array | null = null;
    let local: Map<string, Buffer> | null = null;
    let pendingMeta: string | null = null;
    const raw: Buffer[] | null = this.opts.keepRawHeaders ? [] : null;

    for (;;) {
      const off = this.src.position;
      const block = await this.src.readExact(BLOCK);
      if (block.length === 0) {
        if (pendingMeta) throw corrupt(`truncated archive: EOF after a ${pendingMeta} header${this.after()}`);
        if (this.opts.requireEndMarker) throw corrupt(`truncated archive: EOF at offset ${off} without the end-of-archive marker${this.after()}`);
        return this.end(off);
      }
      if (block.length < BLOCK) throw corrupt(`truncated archive: EOF inside a header at offset ${off}${this.after()}${off === 0 ? notTarHint(block) : ''}`);

      if (isZeroBlock(block)) {
        if (pendingMeta) throw corrupt(`${pendingMeta} header not followed by an entry at offset ${off}${this.after()}`);
        const second = await this.src.readExact(BLOCK);
        if (second.length === 0 && this.opts.requireEndMarker) {
          throw corrupt(`truncated archive: EOF after a single zero block at offset ${off}`);
        }
        if (second.length > 0 && !isZeroBlock(second.length === BLOCK ? second : Buffer.concat([second, Buffer.alloc(BLOCK - second.length)]))) {
          throw corrupt(`zero block followed by data at offset ${off + BLOCK}${this.after()}`);
        }
        return this.end(off);
      }

      if (headerOffset < 0) headerOffset = off;
      this.verifyChecksum(block, off);
      if (raw) raw.push(Buffer.from(block));

      const tf = block[156]!;
      if (tf === 0x4c || tf === 0x4b) {
        // 'L' GNU long name, 'K' GNU long link name
        const what = tf === 0x4c ? 'GNU long name' : 'GNU long link name';
        const size = this.numeric(block, 'size', '(GNU long name header)', off);
        if (size > this.limits.maxNameLength + 1) {
          throw corrupt(`${what} of ${size} bytes at offset ${off} exceeds the limit of ${this.limits.maxNameLength}${this.after()}`);
        }
        const data = await this.readMetaData(size, what, off, raw);
        const s = fieldBytes(data, 0, data.length);
        if (tf === 0x4c) longName = s;
        else longLink = s;
        pendingMeta = what;
        continue;
      }
      if (tf === 0x78 || tf === 0x67) {
        // 'x' PAX extended header, 'g' PAX global header
        const global = tf === 0x67;
        const what = global ? 'PAX global header' : 'PAX header';
        const size = this.numeric(block, 'size', `(${what})`, off);
        if (size > this.limits.maxPaxSize) {
          throw corrupt(`${what} of ${size} bytes at offset ${off} exceeds the limit of ${this.limits.maxPaxSize}${this.after()}`);
        }
        const data = await this.readMetaData(size, what, off, raw);
        try {
          if (global) parsePaxRecords(data, this.globalPax);
          else local = parsePaxRecords(data, local ?? new Map());
        } catch (e) {
          throw corrupt(`${(e as Error).message} in the ${what} at offset ${off}${this.after()}`);
        }
        if (!global) pendingMeta = 'PAX';
        continue;
      }

      const entry = this.buildEntry(block, off, headerOffset, longName, longLink, local, raw);
      if (this.tap !== null) await this.tap.entry(entry.header);
      this.entries++;
      this.lastName = entry.header.name;
      this.current = entry.body;
      return entry;
    }
  }

  /** Let the plain lane take the entries it can, from the bytes at hand (see {@link PlainLane}). */
  private async offerPlain(lane: PlainLane): Promise<void> {
    while (this.globalPax.size === 0) {
      const view = await this.src.peek();
      if (view === null || view.length < 2 * BLOCK) return;
      const t = await lane(view);
      if (t.bytes === 0) return;
      this.src.consumeUntapped(t.bytes);
      this.entries += t.entries;
      this.lastName = t.last;
    }
  }

  private verifyChecksum(block: Buffer, off: number): void {
    const stored = readNumeric(block, 'chksum');
    const { unsigned, signed } = checksums(block);
    if (stored === unsigned || stored === signed) return;
    const hint = off === 0 ? notTarHint(block) || ' (not a tar archive?)' : '';
    const name = readField(block, 'name').replace(/[^\x20-\x7e]/g, '?');
    throw corrupt(`header checksum mismatch at offset ${off} (name field ${q(name)})${this.after()}${hint}`);
  }

  private numeric(block: Buffer, f: Field, name: string, off: number): number {
    const v = readNumeric(block, f);
    if (v === null) throw corrupt(`invalid numeric field ${f} in the header of ${name.startsWith('(') ? name : q(name)} at offset ${off}`);
    return v;
  }

  private buildEntry(
    block: Buffer,
    off: number,
    headerOffset: number,
    longName: Uint8Array | null,
    longLink: Uint8Array | null,
    local: Map<string, Buffer> | null,
    raw: Buffer[] | null,
  ): TarEntry {
    const format = headerFormat(block);
    const tf = block[156]!;
    // Names are tracked as bytes through the precedence chain (PAX > GNU L/K > ustar) and decoded once.
    let nameRaw: Uint8Array = fieldBytes(block, F.name[0], F.name[1]);
    if (format === 'ustar') {
      const prefix = fieldBytes(block, F.prefix[0], F.prefix[1]);
      if (prefix.length > 0) nameRaw = Buffer.concat([prefix, SLASH, nameRaw]);
    }
    if (longName !== null) nameRaw = longName;
    const pax = new Map<string, Buffer>(this.globalPax);
    if (local) for (const [k, v] of local) pax.set(k, v);
    const paxStr = (k: string): string | null => {
      const v = pax.get(k);
      return v === undefined || v.length === 0 ? null : v.toString('utf8');
    };
    const pathRec = pax.get('path');
    if (pathRec !== undefined && pathRec.length > 0) nameRaw = pathRec;
    const decodedName = decodeName(nameRaw);
    const name = decodedName.s;

    let type = TYPEFLAGS[tf];
    if (type === undefined) {
      if (tf === 0x53) throw new UnsupportedError(`tar: GNU sparse file ${q(name)} at offset ${off} is not supported`);
      throw new UnsupportedError(`tar: entry ${q(name)} at offset ${off} has unsupported type ${typeflagName(tf)}`);
    }
    if (tf === 0 && name.endsWith('/')) type = 'dir';
    for (const k of pax.keys()) {
      if (k.startsWith('GNU.sparse.')) throw new UnsupportedError(`tar: GNU sparse file ${q(name)} at offset ${off} is not supported`);
    }

    const num = (f: Field): number => this.numeric(block, f, name, off);
    const paxNum = (k: string): number | null => {
      const v = pax.get(k);
      if (v === undefined || v.length === 0) return null;
      const n = parsePaxInteger(v);
      if (n === null) throw corrupt(`invalid PAX ${k} value ${q(v.toString('latin1'))} for entry ${q(name)} at offset ${off}`);
      return n;
    };
    const paxTime = (k: string): TarTime | null => {
      const v = pax.get(k);
      if (v === undefined || v.length === 0) return null;
      const t = parsePaxTime(v);
      if (t === null) throw corrupt(`invalid PAX ${k} value ${q(v.toString('latin1'))} for entry ${q(name)} at offset ${off}`);
      return t;
    };
    const nonNegative = (f: string, v: number): number => {
      if (v < 0) throw corrupt(`negative ${f} ${v} in the header of ${q(name)} at offset ${off}`);
      return v;
    };

    const mode = num('mode');
    const uid = paxNum('uid') ?? nonNegative('uid', num('uid'));
    const gid = paxNum('gid') ?? nonNegative('gid', num('gid'));
    const declaredSize = paxNum('size') ?? nonNegative('size', num('size'));
    const mtime = paxTime('mtime') ?? { sec: num('mtime'), nsec: 0 };
    let atime = paxTime('atime') ?? undefined;
    let ctime = paxTime('ctime') ?? undefined;
    if (format === 'gnu') {
      if (atime === undefined) {
        const a = readNumeric(block, 'gnuAtime');
        if (a) atime = { sec: a, nsec: 0 };
      }
      if (ctime === undefined) {
        const c = readNumeric(block, 'gnuCtime');
        if (c) ctime = { sec: c, nsec: 0 };
      }
    }
    let linkRaw: Uint8Array = fieldBytes(block, F.linkname[0], F.linkname[1]);
    if (longLink !== null) linkRaw = longLink;
    const linkRec = pax.get('linkpath');
    if (linkRec !== undefined && linkRec.length > 0) linkRaw = linkRec;
    const decodedLink = decodeName(linkRaw);
    const linkname = decodedLink.s;

    let devmajor = 0;
    let devminor = 0;
    if (type === 'char' || type === 'block') {
      devmajor = paxNum('SCHILY.devmajor') ?? (format === 'v7' ? 0 : nonNegative('devmajor', num('devmajor')));
      devminor = paxNum('SCHILY.devminor') ?? (format === 'v7' ? 0 : nonNegative('devminor', num('devminor')));
    }

    for (const [what, s, b] of [['name', name, nameRaw], ['link name', linkname, linkRaw]] as const) {
      if (b.length > this.limits.maxNameLength) {
        throw corrupt(`${what} of ${b.length} bytes at offset ${off} exceeds the limit of ${this.limits.maxNameLength}`);
      }
      if (b.includes(0)) throw corrupt(`${what} ${q(s)} at offset ${off} contains a NUL byte`);
    }

    let xattrs: Map<string, Buffer>;
    try {
      xattrs = xattrsFromPax(pax);
    } catch (e) {
      throw corrupt(`${(e as Error).message} for entry ${q(name)} at offset ${off}`);
    }

    const size = isHeaderOnlyType(type) ? 0 : declaredSize;
    const header: TarHeader = {
      name,
      type,
      mode: mode & 0o7777,
      uid,
      gid,
      uname: paxStr('uname') ?? readField(block, 'uname'),
      gname: paxStr('gname') ?? readField(block, 'gname'),
      size,
      mtime,
      linkname,
      devmajor,
      devminor,
      xattrs,
      pax,
    };
    if (decodedName.raw) header.nameBytes = decodedName.raw;
    if (decodedLink.raw) header.linknameBytes = decodedLink.raw;
    if (atime) header.atime = atime;
    if (ctime) header.ctime = ctime;
    const dataOffset = off + BLOCK;
    const entry: TarEntry = { header, headerOffset, dataOffset, body: new TarBody(this.src, size, name, dataOffset) };
    if (raw) entry.rawHeader = Buffer.concat(raw);
    return entry;
  }
}

/**
 * Read a tar stream entry by entry. The generator's return value (visible when driving it
 * with `next()`) is a TarSummary; `TarReader` exposes the same numbers for `for await` use.
 */
export function readTar(source: ByteInput | FileSpanBytes, opts: TarReadOptions = {}): AsyncGenerator<TarEntry, TarSummary, undefined> {
  return new TarReader(source, opts).entries();
}

/** A reader object: iterate it (once) and afterwards inspect `summary`. */
export class TarReader implements AsyncIterable<TarEntry> {
  private readonly parser: TarParser;
  private started = false;
  private done = false;

  constructor(source: ByteInput | FileSpanBytes, opts: TarReadOptions = {}) {
    this.parser = new TarParser(source, opts);
  }

  /** Bytes consumed from the input so far. */
  get bytesRead(): number {
    return this.parser.src.position;
  }

  get globalPax(): Map<string, Buffer> {
    return this.parser.globalPax;
  }

  /** Counters; final once iteration completed. */
  get summary(): TarSummary {
    return {
      entries: this.parser.entries,
      endOffset: this.parser.endOffset,
      trailingBytes: this.parser.trailingBytes,
      bytesRead: this.parser.src.position,
      globalPax: this.parser.globalPax,
    };
  }

  /** True when the end of the archive was reached. */
  get complete(): boolean {
    return this.done;
  }

  async *entries(): AsyncGenerator<TarEntry, TarSummary, undefined> {
    if (this.started) throw new PreconditionError('tar: a TarReader can be iterated only once');
    this.started = true;
    try {
      for (;;) {
        const e = await this.parser.next();
        if (e === null) break;
        yield e;
      }
      this.done = true;
      return this.summary;
    } finally {
      await this.parser.close();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<TarEntry, TarSummary, undefined> {
    return this.entries();
  }
}
