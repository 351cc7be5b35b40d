/**
 * tar-split: keep a layer as its unpacked files plus a record of its tar, and re-emit the
 * exact original uncompressed tar (same bytes, same diffID) from the two.
 *
 * This module owns the record: what it holds, its encoding, recording it while a layer is
 * applied (`TarSplitRecorder`, fed by the tar reader's tap through `ApplyOptions.tap`),
 * streaming the tar back out of a layer directory (`reassembleTar`), and the tar's headers
 * alone, its bodies as zeros (`tarSkeleton`). It is the idea of
 * Docker's `tar-split.json.gz` and containers/storage's `<id>.tar-split.gz`, in a binary form.
 *
 * Format, version 1 — a gzip stream whose content is:
 *
 *     magic    "CTSPLIT" 0x01                        (8 bytes: name, version)
 *     records  tag (1 byte) + fields, in tar order:
 *       0x01 RAW   len:varint  bytes[len]            bytes of the tar as they were (1 <= len <= 1 MiB)
 *       0x02 FILE  size:varint  plen:varint  path[plen]  crc32:u32be
 *                                                   the body of a regular file: `size` (> 0) bytes
 *                                                   read from `path` below the layer directory
 *       0x03 END   tarSize:varint  entries:varint    last record; nothing follows it
 *       0x04 FILE  size:varint  plen:varint  path[plen]    (no crc32)
 *                                                   a body copied whole from the layer's file
 *                                                   by the kernel, never read by the recorder
 *
 * varint: unsigned LEB128 (7 bits per byte, low first, at most 8 bytes: < 2^53).
 * RAW holds everything that is not a regular file's body on disk: header blocks, PAX and
 * GNU long-name entries with their data, padding, the end-of-archive blocks and any bytes
 * after them, and the bodies that the applier does not write where their name says
 * (a whiteout `.wh.NAME` with a body: whiteouts become devices, xattrs or removals, so
 * every byte of a whiteout entry is RAW and the reassembler never reads one from disk).
 * FILE's path is the entry name cleaned exactly as the applier cleans it (pathsafe.ts),
 * as raw bytes; crc32 (zlib's) of the body names a file whose content changed. A body
 * taken whole as a span of a file is recorded without one — a big body of an archive file
 * the applier copies in the kernel, or every body of a container's layer copied into its
 * snapshot (upper-copy.ts: each body told as a span of its new file, or a run of plain files
 * at once, `inPlace`, their bytes but the bodies in one buffer): reading it
 * again only for a checksum would cost a fifth of a load's work on the pool, and a change to
 * that file is still caught on re-emit, by the diffID (the message then names the layer, not
 * the file).
 *
 * Reproducibility: the recorder reports whether the files will still hold every FILE body
 * once the layer is applied. Not when a regular file's path appears again later in the layer
 * (a duplicate, or any later entry at that path), when a directory holding recorded files is
 * replaced by a non-directory, or when, with `followSymlinks: 'inside'`, an entry went
 * through a symlink (its bytes are not at its name). Then the caller keeps the blob.
 *
 * Memory: the recorder holds a 64 KiB buffer of RAW bytes and a 256 KiB one of encoded records
 * (zlib compresses each write in its thread pool: small writes are gathered), the set of recorded file paths
 * and the set of their parent directories (for the rules above); the reassembler one chunk
 * of a file (1 MiB) or of the record at a time.
 */
import { closeSync, fstatSync, openSync, read as readCb, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { crc32, createGunzip, createGzip, type Gzip } from 'node:zlib';

import { algorithmOf, type Digest } from '../digest/digest.js';
import { PoolDigester } from '../digest/pool.js';
import { CairnError, DataCorruptError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { BATCH_FILE, constants, crc32Chunk, crc32Combine, errnoCode, NODE_KIND, openat2, PLAIN, PLAIN_INFO_SLOTS, prefetchAt } from '../native/index.js';
import { ByteSource, FileSpanBytes, type FileSpan, type PlainRun, type TarHeader, type TarTap } from '../tar/index.js';
import { keyBytes, keyDisplay, PATH_MAX, quoteName, safePath } from './pathsafe.js';
import { classifyWhiteout } from './whiteout.js';

/** First bytes of a record: "CTSPLIT" and the format version. */
export const TARSPLIT_MAGIC: Buffer = Buffer.from('CTSPLIT\x01', 'latin1');
/** The format version this module writes and reads. */
export const TARSPLIT_VERSION = 1;

const TAG_RAW = 0x01;
const TAG_FILE = 0x02;
const TAG_END = 0x03;
const TAG_FILE_UNCHECKED = 0x04;
/** RAW bytes are buffered up to this size before a record is written. */
const RAW_BUFFER = 64 * 1024;
/** Encoded records are gathered up to this size before they go to the gzip stream. */
const OUT_BUFFER = 256 * 1024;
/** Largest RAW record accepted when reading. */
const MAX_RAW = 1024 * 1024;
/** Kinds in a plain run's info (native/src/scan.c). */
const PLAIN_FILE = BATCH_FILE;
const PLAIN_DIR = NODE_KIND.dir;
/** Chunk size for reading file bodies. */
const READ_CHUNK = 1024 * 1024;
/** Body chunks at least this big get their crc32 computed on the pool while the next ones are parsed. */
const POOL_CRC_MIN = 256 * 1024;

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/**
 * Where a record goes: consumes the gzip'd bytes to their end, e.g.
 * `(s) => pipeline(s, createWriteStream(path))`; a rejection fails the recording.
 */
export type TarSplitSink = (record: AsyncIterable<Buffer>) => Promise<unknown>;

export interface TarSplitRecorderOptions {
  /** What is recorded, for messages (e.g. "layer sha256:0123…"); default "layer". */
  what?: string;
  /**
   * The applier's `followSymlinks`. With 'inside', `dir` is required: after each entry is
   * applied the recorder checks that its parent directory is reached without a symlink.
   */
  followSymlinks?: 'never' | 'inside';
  /** The directory the layer is applied into (as given to applyLayer). */
  dir?: string;
  /** gzip level of the record, 1..9 (default 1: the record is mostly tar headers, and level 6 costs ~7x the time for ~20% less). */
  level?: number;
}

export interface TarSplitResult {
  /** Whether reassembleTar can re-emit the tar from the layer directory and this record. */
  reproducible: boolean;
  /** Why not (one line), when not reproducible. */
  reason?: string;
  /** Bytes of the tar seen (its uncompressed size). */
  tarSize: number;
  /** Tar entries seen. */
  entries: number;
  /** Regular-file bodies referenced (FILE records). */
  files: number;
  /** Bytes of those bodies (what the record does not hold). */
  fileBytes: number;
}

/**
 * Entries whose bodies already lie in the layer directory at their names (the recorded copy of
 * an upper: upper-copy.ts), told at once. `raw` holds every byte of them but the bodies: entry
 * k's header blocks end at `headerEnds[k]`, its body (`sizes[k]` bytes, not in `raw`) belongs
 * right there, and its padding follows it in `raw`. Each is a regular file at `keys[k]` (its
 * cleaned key, as pathsafe.ts makes it), directly in directory `parentKey`.
 */
export interface InPlaceRun {
  raw: Buffer;
  headerEnds: readonly number[];
  sizes: readonly number[];
  keys: readonly string[];
  parentKey: string;
}

/**
 * Records a layer's tar-split while the layer is applied: pass `recorder.tap` as
 * `ApplyOptions.tap`, then call `finish()` once applyLayer has succeeded (or `abort()`
 * when it failed: the sink then sees an error and must discard what it wrote).
 */
export class TarSplitRecorder {
  /** Feed this to the tar reader (ApplyOptions.tap). */
  readonly tap: TarTap;
  private readonly what: string;
  private readonly gz: Gzip;
  private readonly sinkDone: Promise<unknown>;
  private sinkError: unknown = undefined;
  private sinkSettled = false;
  /** RAW bytes not yet encoded. */
  private readonly acc: Buffer = Buffer.allocUnsafe(RAW_BUFFER);
  private accLen = 0;
  /** Encoded bytes not yet handed to the gzip stream. */
  private out: Buffer = Buffer.allocUnsafe(OUT_BUFFER);
  private outLen = 0;
  private tarSize = 0;
  private entries = 0;
  private files = 0;
  private fileBytes = 0;
  /** The body being passed: referenced (a file on disk) or inline (RAW). */
  private bodyKey: string | null = null;
  private bodyLeft = 0;
  private bodySize = 0;
  private crc = 0;
  /** The current body was taken whole as a span: recorded without a crc. */
  private unchecked = false;
  /** Pieces of the current body after `crc`, in order: big chunks' crcs come from the pool. */
  private crcParts: { crc: number | Promise<number>; len: number }[] = [];
  /** Paths of recorded file bodies, and every directory they lie in. */
  private readonly recorded = new Set<string>();
  private readonly recordedDirs = new Set<string>();
  private reason: string | null = null;
  /** followSymlinks 'inside': the root fd, the parent to check after the current entry, the last parent found symlink-free. */
  private rootFd: number | null = null;
  private rootClosed = false;
  private checkParent: string | null = null;
  private cleanParent: string | null = null;
  private state: 'recording' | 'finished' | 'aborted' = 'recording';

  constructor(sink: TarSplitSink, opts: TarSplitRecorderOptions = {}) {
    this.what = opts.what ?? 'layer';
    const follow = opts.followSymlinks ?? 'never';
    if (follow !== 'never' && follow !== 'inside') {
      throw new InvalidArgumentError(`${this.what}: followSymlinks must be 'never' or 'inside', not ${JSON.stringify(follow as string)}`);
    }
    const level = opts.level ?? 1;
    if (!Number.isInteger(level) || level < 1 || level > 9) throw new InvalidArgumentError(`${this.what}: tar-split gzip level must be 1..9, not ${level}`);
    if (follow === 'inside' && opts.dir === undefined) {
      throw new InvalidArgumentError(`${this.what}: recording a tar-split with followSymlinks 'inside' needs the layer directory`);
    }
    this.gz = createGzip({ level });
    const gz = this.gz;
    // a failure of the stream (the sink's, or an abort) is kept and thrown by the next write or finish()
    gz.on('error', (e: Error) => {
      if (this.sinkError === undefined) this.sinkError = e;
    });
    this.outLen = TARSPLIT_MAGIC.copy(this.out);
    this.sinkDone = (async () => sink(gz))().then(
      (v) => {
        this.sinkSettled = true;
        // a sink that returns before the record ended would leave the recorder waiting for a drain
        if (!gz.writableFinished) this.fail(new CairnError('internal', `${this.what}: the tar-split sink stopped reading before the record ended`));
        return v;
      },
      (e: unknown) => {
        this.sinkSettled = true;
        this.fail(e);
        throw e;
      },
    );
    this.sinkDone.catch(() => undefined); // reported by finish() or the next write
    if (follow === 'inside') {
      try {
        this.rootFd = openSync(opts.dir!, constants.O_RDONLY | constants.O_DIRECTORY);
      } catch (e) {
        this.fail(e);
        throw e;
      }
    }
    this.tap = {
      raw: (b) => this.raw(b),
      entry: (h) => this.entry(h),
      body: (b) => this.body(b),
      bodySpan: (sp) => this.bodySpan(sp),
      ...(follow === 'never' ? { plain: (run: PlainRun) => this.plain(run) } : {}),
    };
  }

  private fail(e: unknown): void {
    if (this.sinkError === undefined) this.sinkError = e;
    if (!this.gz.destroyed) this.gz.destroy(e instanceof Error ? e : new Error(String(e)));
  }

  private notReproducible(reason: string): void {
    if (this.reason === null) this.reason = reason;
  }

  /** Hand the encoded bytes gathered so far to the gzip stream, waiting when it asks to. */
  private push(): void | Promise<void> {
    if (this.sinkError !== undefined) throw this.sinkError;
    if (this.state !== 'recording') throw new CairnError('internal', `${this.what}: tar-split recorder used after it was ${this.state}`);
    if (this.outLen === 0) return;
    const data = this.out.subarray(0, this.outLen);
    this.out = Buffer.allocUnsafe(OUT_BUFFER); // the gzip stream keeps `data` until it has compressed it
    this.outLen = 0;
    if (this.gz.write(data)) return;
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.gz.off('drain', done);
        this.gz.off('close', done);
        if (this.sinkError !== undefined) reject(this.sinkError);
        else resolve();
      };
      this.gz.on('drain', done);
      this.gz.on('close', done);
    });
  }

  /**
   * Append encoded bytes (at most RAW_BUFFER + a few bytes at once). zlib compresses each
   * write in its thread pool, so small writes are gathered into OUT_BUFFER first.
   */
  private emit(...parts: Buffer[]): void | Promise<void> {
    let n = 0;
    for (const b of parts) n += b.length;
    if (this.outLen + n > OUT_BUFFER) {
      const p = this.push();
      if (p !== undefined) return p.then(() => this.emit(...parts));
    }
    for (const b of parts) {
      b.copy(this.out, this.outLen);
      this.outLen += b.length;
    }
  }

  private flushRaw(): void | Promise<void> {
    if (this.accLen === 0) return;
    const len = this.accLen;
    this.accLen = 0;
    return this.emit(Buffer.from([TAG_RAW]), varint(len), this.acc.subarray(0, len)); // copied: acc is free again
  }

  private async addRawSlow(b: Buffer): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const n = Math.min(b.length - off, RAW_BUFFER - this.accLen);
      b.copy(this.acc, this.accLen, off, off + n);
      this.accLen += n;
      off += n;
      if (this.accLen === RAW_BUFFER) await this.flushRaw();
    }
  }

  private addRaw(b: Buffer): void | Promise<void> {
    if (this.accLen + b.length < RAW_BUFFER) {
      b.copy(this.acc, this.accLen);
      this.accLen += b.length;
      return;
    }
    return this.addRawSlow(b);
  }

  private raw(b: Buffer): void | Promise<void> {
    this.tarSize += b.length;
    return this.addRaw(b);
  }

  private body(b: Buffer): void | Promise<void> {
    this.tarSize += b.length;
    if (this.bodyKey === null) return this.addRaw(b);
    if (b.length >= POOL_CRC_MIN) {
      // a big chunk's crc32 on the pool (the chunk is a view of the stream: never changed), joined at the file's end
      const crc = crc32Chunk(b);
      crc.catch(() => undefined); // awaited at the file's end; an aborted recording never awaits it
      this.crcParts.push({ crc, len: b.length });
    } else if (this.crcParts.length > 0) {
      this.crcParts.push({ crc: crc32(b), len: b.length });
    } else {
      this.crc = crc32(b, this.crc);
    }
    this.bodyLeft -= b.length;
    if (this.bodyLeft > 0) return;
    return this.crcParts.length > 0 ? this.joinCrc().then(() => this.endFile()) : this.endFile();
  }

  /**
   * Body bytes taken by position from the layer's file: a whole body is recorded without a crc
   * (see the module comment); the rest of one begun as bytes is read and goes on as bytes.
   */
  private bodySpan(sp: FileSpan): void | Promise<void> {
    if (this.bodyKey !== null && sp.length === this.bodySize && this.bodyLeft === this.bodySize) {
      this.tarSize += sp.length;
      this.bodyLeft = 0;
      this.unchecked = true;
      return this.endFile();
    }
    return this.spanAsBytes(sp);
  }

  /** A span read and recorded as the body bytes it holds. */
  private async spanAsBytes(sp: FileSpan): Promise<void> {
    for await (const c of new FileSpanBytes(sp.fd, sp.offset, sp.length)) await this.body(c as Buffer);
  }

  private async joinCrc(): Promise<void> {
    const parts = this.crcParts;
    this.crcParts = [];
    let crc = this.crc >>> 0;
    for (const p of parts) crc = crc32Combine(crc, await p.crc, p.len);
    this.crc = crc;
  }

  private endFile(): void | Promise<void> {
    const key = this.bodyKey!;
    this.bodyKey = null;
    const path = keyBytes(key);
    let record: Buffer[];
    if (this.unchecked) {
      this.unchecked = false;
      record = [Buffer.from([TAG_FILE_UNCHECKED]), varint(this.bodySize), varint(path.length), path];
    } else {
      const crc = Buffer.allocUnsafe(4);
      crc.writeUInt32BE(this.crc >>> 0);
      record = [Buffer.from([TAG_FILE]), varint(this.bodySize), varint(path.length), path, crc];
    }
    const p = this.flushRaw();
    if (p !== undefined) return p.then(() => this.emit(...record));
    return this.emit(...record);
  }

  private entry(h: TarHeader): void {
    this.entries++;
    this.verifyPrevious();
    const p = safePath(h.nameBytes ?? Buffer.from(h.name, 'utf8'), this.what, h.name);
    const whiteout = p.key !== '' && classifyWhiteout(p.baseKey) !== null;
    if (this.rootFd !== null) {
      this.checkParent = p.parentKey;
      if (h.type !== 'dir' || whiteout) this.cleanParent = null; // may replace a directory on the cached path
    }
    if (whiteout || p.key === '') {
      // a whiteout only hides lower layers' files, never this layer's (apply.ts): nothing recorded changes
      this.bodyKey = null;
      return;
    }
    this.checkReplaced(p.key, h.type === 'file', h.type === 'dir');
    if (h.type !== 'file' || h.size === 0) {
      this.bodyKey = null;
      return;
    }
    this.beginFile(p.key, p.parentKey, h.size);
    this.bodyLeft = h.size;
    this.crc = 0;
    this.crcParts = [];
  }

  /** An entry at `key`: the record is not reproducible if it replaces a recorded file or a directory holding some. */
  private checkReplaced(key: string, file: boolean, dir: boolean): void {
    if (this.recorded.has(key)) {
      this.notReproducible(file ? `file ${quoteName(keyDisplay(key))} appears twice in the layer` : `file ${quoteName(keyDisplay(key))} is replaced by a later entry`);
    } else if (!dir && this.recordedDirs.has(key)) {
      this.notReproducible(`directory ${quoteName(keyDisplay(key))}, which holds files of the layer, is replaced by a later entry`);
    }
  }

  /** A regular file's body of `size` (> 0) bytes comes next: it will be a FILE record for `key`. */
  private beginFile(key: string, parentKey: string, size: number): void {
    this.bodyKey = key;
    this.bodySize = size;
    this.unchecked = false;
    this.files++;
    this.fileBytes += size;
    this.recorded.add(key);
    for (let k = parentKey; k !== '' && !this.recordedDirs.has(k); ) {
      this.recordedDirs.add(k);
      const slash = k.lastIndexOf('/');
      k = slash < 0 ? '' : k.slice(0, slash);
    }
  }

  /**
   * A run of entries the applier's plain lane took whole (ordinary files, directories and
   * symlinks; names that need only cleaning; the bodies' CRCs already computed by the scanner):
   * recorded as entry, raw and body would record them one by one.
   */
  private async plain(run: PlainRun): Promise<void> {
    const { info, names, buf } = run;
    for (let i = 0; i < run.count; i++) {
      const o = i * PLAIN_INFO_SLOTS;
      const data = info[o + PLAIN.dataOff]!;
      const size = info[o + PLAIN.size]!;
      const end = info[o + PLAIN.end]!;
      this.entries++;
      const keyOff = info[o + PLAIN.keyOff]!;
      const key = names.toString('latin1', keyOff, keyOff + info[o + PLAIN.keyLen]!);
      const kind = info[o + PLAIN.kind]!;
      const file = kind === PLAIN_FILE;
      this.checkReplaced(key, file, kind === PLAIN_DIR);
      let r = this.raw(buf.subarray(info[o + PLAIN.headerOff]!, data));
      if (r !== undefined) await r;
      if (!file || size === 0) continue;
      const base = info[o + PLAIN.baseOff]!;
      this.beginFile(key, base === 0 ? '' : key.slice(0, base - 1), size);
      this.tarSize += size;
      this.crc = info[o + PLAIN.crc]! >>> 0;
      r = this.endFile();
      if (r !== undefined) await r;
      if (end > data + size) {
        r = this.raw(buf.subarray(data + size, end));
        if (r !== undefined) await r;
      }
    }
  }

  /**
   * A run of entries whose bodies are in place (see {@link InPlaceRun}): recorded as entry, raw
   * and a whole body taken as a span would record them one by one — the bodies without a crc.
   * Not with followSymlinks 'inside' (nothing here was applied through the tap).
   */
  async inPlace(run: InPlaceRun): Promise<void> {
    if (this.rootFd !== null) throw new CairnError('internal', `${this.what}: entries in place are not recorded with followSymlinks 'inside'`);
    let at = 0;
    for (let k = 0; k < run.keys.length; k++) {
      const key = run.keys[k]!;
      const size = run.sizes[k]!;
      this.entries++;
      this.checkReplaced(key, true, false);
      let r = this.raw(run.raw.subarray(at, run.headerEnds[k]!));
      if (r !== undefined) await r;
      at = run.headerEnds[k]!;
      if (size === 0) continue;
      this.beginFile(key, run.parentKey, size);
      this.tarSize += size;
      this.unchecked = true;
      r = this.endFile();
      if (r !== undefined) await r;
    }
    if (at < run.raw.length) {
      const r = this.raw(run.raw.subarray(at));
      if (r !== undefined) await r;
    }
  }

  /** followSymlinks 'inside': the previous entry (applied by now) must not have gone through a symlink. */
  private verifyPrevious(): void {
    const parent = this.checkParent;
    this.checkParent = null;
    if (this.rootFd === null || parent === null || parent === '' || parent === this.cleanParent || this.reason !== null) return;
    const c = constants;
    let fd: number;
    try {
      fd = openat2(this.rootFd, keyBytes(parent), c.O_PATH | c.O_DIRECTORY, 0, c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS | c.RESOLVE_NO_MAGICLINKS | c.RESOLVE_NO_XDEV);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ELOOP' || code === 'EXDEV') {
        this.notReproducible(`${quoteName(keyDisplay(parent))} goes through a symlink, so entries below it were not written at their names`);
        return;
      }
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // nothing was written there (a whiteout of nothing)
      throw e;
    }
    closeSync(fd);
    this.cleanParent = parent;
  }

  /**
   * After applyLayer succeeded: end the record (waits for the sink to finish) and say
   * whether the layer can be re-emitted from its files.
   */
  async finish(): Promise<TarSplitResult> {
    if (this.state !== 'recording') throw new CairnError('internal', `${this.what}: tar-split recorder finished after it was ${this.state}`);
    try {
      if (this.bodyKey !== null) throw new CairnError('internal', `${this.what}: tar-split recorder finished in the middle of a file body`);
      this.verifyPrevious();
      await this.flushRaw();
      await this.emit(Buffer.from([TAG_END]), varint(this.tarSize), varint(this.entries));
      await this.push();
      this.state = 'finished';
      this.gz.end();
      await this.sinkDone;
      if (this.sinkError !== undefined) throw this.sinkError;
    } catch (e) {
      this.abort(e);
      throw e;
    } finally {
      this.closeRoot();
    }
    const r: TarSplitResult = { reproducible: this.reason === null, tarSize: this.tarSize, entries: this.entries, files: this.files, fileBytes: this.fileBytes };
    if (this.reason !== null) r.reason = this.reason;
    return r;
  }

  /** Give up (the apply failed): the sink's stream ends with an error. Safe to call more than once. */
  abort(reason?: unknown): void {
    this.closeRoot();
    if (this.state === 'aborted') return;
    this.state = 'aborted';
    if (!this.sinkSettled) this.fail(reason ?? new CairnError('internal', `${this.what}: tar-split recording aborted`));
  }

  private closeRoot(): void {
    if (this.rootFd === null || this.rootClosed) return;
    this.rootClosed = true;
    closeSync(this.rootFd);
  }
}

export interface ReassembleOptions {
  /** The layer's diffID: the whole re-emitted stream is checked against it at the end. */
  expectedDiffId: Digest;
  /** What is re-emitted, for messages; default "layer <diffID>". */
  what?: string;
}

/**
 * Stream the original tar of a layer from its tar-split record (the gzip'd bytes a
 * TarSplitRecorder wrote) and the layer directory it was applied into (`root`). Every
 * file is opened beneath `root` without following any symlink and checked (regular,
 * size, crc32); the whole stream is hashed and checked against `expectedDiffId` at the
 * end. Any mismatch is a DataCorruptError naming the layer and, when known, the file.
 */
export async function* reassembleTar(
  record: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  root: string,
  opts: ReassembleOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const what = opts.what ?? `layer ${opts.expectedDiffId}`;
  const mismatch = `${what}: re-emitted tar does not match its diffID`;
  // hashed on the pool while this thread reads the next files (digest/pool.ts)
  const hasher = new PoolDigester(algorithmOf(opts.expectedDiffId));
  const c = constants;
  let rootFd: number;
  try {
    rootFd = openSync(root, c.O_RDONLY | c.O_DIRECTORY);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${what}: layer directory ${root} does not exist`, { cause: e });
    throw e;
  }
  const ahead = new ReadAhead(rootFd);
  try {
    for await (const part of ahead.parts(recordParts(record, what))) {
      const chunks = part.file === undefined ? [part.raw] : fileBody(rootFd, part.file.path, part.file.size, part.file.crc, mismatch);
      for await (const chunk of chunks) {
        const room = hasher.update(chunk);
        if (room !== undefined) await room;
        yield chunk;
      }
    }
    const got = await hasher.digest();
    if (got !== opts.expectedDiffId) throw new DataCorruptError(`${mismatch} (got ${got})`);
  } finally {
    // no hint may still use the directory's fd when it is closed (a reused fd number)
    await ahead.settled();
    closeSync(rootFd);
  }
}

/** Small files a re-emission hints ahead of the one it reads, the bytes they may hold, and the parts of the record held meanwhile. */
const AHEAD_FILES = 128;
const AHEAD_BYTES = 16 << 20;
const AHEAD_PARTS = 1024;

/**
 * The record's parts with the small files among the next ones read into the page cache on the
 * pool (prefetchAt) while this thread reads the current one: fileBody reads a small file
 * synchronously, which on a cold cache would wait on the disk for every file in turn (6,676
 * files of a Debian root: ~0.7 s). Big files are read ahead by fileBody itself.
 */
class ReadAhead {
  private readonly hints: Array<Promise<void>> = [];

  constructor(private readonly rootFd: number) {}

  async *parts(src: AsyncIterable<RecordPart>): AsyncGenerator<RecordPart, void, undefined> {
    const it = src[Symbol.asyncIterator]();
    const queue: RecordPart[] = [];
    let files = 0;
    let bytes = 0;
    let ended = false;
    let hintFrom = 0;
    try {
      for (;;) {
        while (!ended && files < AHEAD_FILES && bytes < AHEAD_BYTES && queue.length < AHEAD_PARTS) {
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          queue.push(r.value);
          if (r.value.file !== undefined && r.value.file.size <= READ_CHUNK) {
            files++;
            bytes += r.value.file.size;
          }
        }
        // hint what joined the queue, in batches (a pool round trip each)
        if (hintFrom < queue.length && (ended || queue.length - hintFrom >= AHEAD_FILES / 4 || hintFrom === 0)) {
          this.hint(queue.slice(hintFrom));
          hintFrom = queue.length;
        }
        const part = queue.shift();
        if (part === undefined) return;
        if (hintFrom > 0) hintFrom--;
        if (part.file !== undefined && part.file.size <= READ_CHUNK) {
          files--;
          bytes -= part.file.size;
        }
        yield part;
      }
    } finally {
      if (!ended) await it.return?.();
    }
  }

  private hint(parts: RecordPart[]): void {
    const small = parts.filter((p) => p.file !== undefined && p.file.size <= READ_CHUNK);
    if (small.length === 0) return;
    const p = prefetchAt(this.rootFd, small.map((x) => x.file!.path), Float64Array.from(small, (x) => x.file!.size));
    this.hints.push(p);
    // settled ones are dropped as they go, so the list stays short
    const drop = (): void => {
      const i = this.hints.indexOf(p);
      if (i >= 0) this.hints.splice(i, 1);
    };
    p.then(drop, drop);
  }

  /**
   * Every hint done. A hint only fails when the pool cannot run it (a name that cannot be read
   * is passed over): the reads it would have sped up happen all the same, so that is no error.
   */
  async settled(): Promise<void> {
    await Promise.allSettled(this.hints);
  }
}

/** Zeros standing for the bodies of {@link tarSkeleton}. */
const ZEROS = Buffer.alloc(READ_CHUNK);

/**
 * A layer's tar from its tar-split record alone, every regular file's body as zeros: the same
 * headers, names, sizes and link targets at the same offsets, no file read (what the layer's tar
 * says it holds, e.g. for its size: image/size.ts). Not checked against the diffID.
 */
export async function* tarSkeleton(record: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, what = 'layer'): AsyncGenerator<Buffer, void, undefined> {
  for await (const part of recordParts(record, what)) {
    if (part.file === undefined) {
      yield part.raw;
      continue;
    }
    for (let left = part.file.size; left > 0; left -= ZEROS.length) yield left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left);
  }
}

/** A piece of a record: tar bytes it holds (`raw`), or the body of a file it names. */
type RecordPart = { raw: Buffer; file?: undefined } | { raw?: undefined; file: { size: number; path: Buffer; crc: number | null } };

/** The pieces of a tar-split record in order, its framing checked (the END record's size against the pieces'). */
async function* recordParts(record: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, what: string): AsyncGenerator<RecordPart, void, undefined> {
  const gunzip = createGunzip();
  // errors reach the reader below through gunzip (pipeline destroys it with them)
  const feed = pipeline(record, gunzip);
  feed.catch(() => undefined);
  const src = new ByteSource(gunzip);
  const corrupt = (detail: string, cause?: unknown): DataCorruptError =>
    new DataCorruptError(`${what}: tar-split record is corrupt: ${detail}`, cause === undefined ? undefined : { cause });

  const readRecord = async (n: number, field: string): Promise<Buffer> => {
    try {
      const b = await src.readExact(n);
      if (b.length < n) throw corrupt(`it ends inside ${field}`);
      return b;
    } catch (e) {
      // zlib's data errors (Z_DATA_ERROR, Z_BUF_ERROR: not gzip, truncated) are a corrupt record;
      // anything else (the record's own source failing) goes up as it is
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('Z_')) throw corrupt((e as Error).message.split('\n')[0]!, e);
      throw e;
    }
  };
  const readVarint = async (field: string): Promise<number> => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = (await readRecord(1, field))[0]!;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      mul *= 0x80;
    }
    throw corrupt(`invalid number in ${field}`);
  };

  let emitted = 0;
  try {
    if (!(await readRecord(TARSPLIT_MAGIC.length, 'its header')).equals(TARSPLIT_MAGIC)) {
      throw corrupt(`not a tar-split record of version ${TARSPLIT_VERSION}`);
    }
    for (;;) {
      const tag = (await readRecord(1, 'a record tag'))[0]!;
      if (tag === TAG_RAW) {
        const len = await readVarint('a raw segment');
        if (len === 0 || len > MAX_RAW) throw corrupt(`raw segment of ${len} bytes`);
        let left = len;
        while (left > 0) {
          const chunk = await readRecord(Math.min(left, 64 * 1024), 'a raw segment');
          left -= chunk.length;
          emitted += chunk.length;
          yield { raw: chunk };
        }
      } else if (tag === TAG_FILE || tag === TAG_FILE_UNCHECKED) {
        const size = await readVarint('a file reference');
        const plen = await readVarint('a file reference');
        if (size === 0 || plen === 0 || plen > PATH_MAX) throw corrupt(`file reference of ${size} bytes with a path of ${plen} bytes`);
        const path = Buffer.from(await readRecord(plen, 'a file reference'));
        const crc = tag === TAG_FILE ? (await readRecord(4, 'a file reference')).readUInt32BE(0) : null;
        emitted += size;
        yield { file: { size, path, crc } };
      } else if (tag === TAG_END) {
        const tarSize = await readVarint('the end record');
        await readVarint('the end record');
        if (tarSize !== emitted) throw corrupt(`it describes ${tarSize} bytes of tar but holds ${emitted}`);
        if ((await src.read(1)) !== null) throw corrupt('data after the end record');
        break;
      } else {
        throw corrupt(`unknown record tag 0x${tag.toString(16).padStart(2, '0')}`);
      }
    }
  } finally {
    gunzip.destroy();
    await src.close();
  }
}

/** Reads of one big file in flight at once, each on a thread of the pool: the disk works ahead of the reader. */
const READS_AHEAD = 4;

/**
 * One FILE record's body, read in chunks below the root; its crc32 (when recorded) is checked
 * before its last chunk is given out. A file of one chunk is read synchronously (one pool round trip would cost
 * more than the read); a bigger one with several reads in flight, so that a cold file streams
 * at the disk's speed rather than one synchronous read at a time.
 */
async function* fileBody(rootFd: number, path: Buffer, size: number, crc: number | null, mismatch: string): AsyncGenerator<Buffer, void, undefined> {
  const c = constants;
  const name = quoteName(path.toString('utf8'));
  let fd: number;
  try {
    fd = openat2(rootFd, path, c.O_RDONLY | c.O_NOFOLLOW | c.O_NONBLOCK | c.O_NOCTTY, 0, c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS | c.RESOLVE_NO_MAGICLINKS | c.RESOLVE_NO_XDEV);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new DataCorruptError(`${mismatch}: file ${name} is missing`, { cause: e });
    if (code === 'ELOOP') throw new DataCorruptError(`${mismatch}: file ${name} is a symlink or lies below one`, { cause: e });
    if (code === 'EXDEV') throw new DataCorruptError(`${mismatch}: file ${name} is not beneath the layer directory (a mount point or '..' on its path)`, { cause: e });
    if (code === 'ENXIO' || code === 'ENODEV' || code === 'EISDIR') throw new DataCorruptError(`${mismatch}: file ${name} is no longer a regular file`, { cause: e });
    throw e;
  }
  const reads: Promise<{ buf: Buffer; crc: number }>[] = [];
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new DataCorruptError(`${mismatch}: file ${name} is no longer a regular file`);
    if (st.size !== size) throw new DataCorruptError(`${mismatch}: file ${name} changed since it was unpacked (${st.size} bytes, expected ${size})`);
    const short = (at: number) => new DataCorruptError(`${mismatch}: file ${name} changed since it was unpacked (it ends after ${at} of ${size} bytes)`);
    if (size <= READ_CHUNK) {
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, buf, got, size - got, got);
        if (n === 0) throw short(got);
        got += n;
      }
      if (crc !== null && crc32(buf) >>> 0 !== crc) throw new DataCorruptError(`${mismatch}: file ${name} changed since it was unpacked`);
      yield buf;
      return;
    }
    let next = 0;
    const start = (): void => {
      const pos = next;
      const len = Math.min(READ_CHUNK, size - pos);
      next += len;
      // read, then its crc32, both on the pool: this thread only joins the crcs
      const p = new Promise<Buffer>((resolve, reject) => {
        const buf = Buffer.allocUnsafe(len);
        readCb(fd, buf, 0, len, pos, (e, n) => (e ? reject(e) : n === len ? resolve(buf) : reject(short(pos + n))));
      }).then(async (buf) => ({ buf, crc: crc === null ? 0 : await crc32Chunk(buf) }));
      p.catch(() => undefined); // awaited in order below; one failing early is not unhandled
      reads.push(p);
    };
    while (reads.length < READS_AHEAD && next < size) start();
    let sum = 0;
    let done = 0;
    while (reads.length > 0) {
      const { buf: chunk, crc: chunkCrc } = await reads[0]!;
      reads.shift();
      if (next < size) start();
      done += chunk.length;
      if (crc !== null) sum = crc32Combine(sum, chunkCrc, chunk.length);
      if (crc !== null && done === size && sum >>> 0 !== crc) throw new DataCorruptError(`${mismatch}: file ${name} changed since it was unpacked`);
      yield chunk;
    }
  } finally {
    await Promise.allSettled(reads); // no read is left using the fd
    closeSync(fd);
  }
}
