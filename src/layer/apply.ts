/**
 * The layer applier: one OCI layer (tar, gzip or zstd, recognised by content) streamed
 * into a directory, with its digests verified on the way.
 *
 * This module owns writing a layer's entries to disk safely and the pipeline around it:
 *   source → compressed digest/size → decompress (bomb limit) → diffID → tar reader → disk.
 * Nothing is held whole in memory: every stage pulls the next chunk when the previous
 * one is written. The digests are known only at the end, so a mismatch throws after the
 * entries were written; the caller (a snapshotter) removes the half-made snapshot.
 *
 * Two targets, for the two snapshotters (`whiteoutMode`):
 * - 'overlay': `dir` is the empty upper directory of a new overlay snapshot. `.wh.NAME`
 *   becomes overlay's whiteout (char device 0:0 named NAME) and `.wh..wh..opq` sets
 *   `trusted.overlay.opaque=y` on its directory; lower layers are never looked at.
 * - 'oci-remove': `dir` is a full copy of the parent snapshot (native snapshotter).
 *   `.wh.NAME` removes NAME (recursively); `.wh..wh..opq` removes every entry of its
 *   directory that came from lower layers.
 * In both modes a whiteout only hides what lower layers hold, never what this same layer
 * wrote, whatever the order of the entries (OCI image-spec, "Whiteouts"): the applier
 * records every path the layer wrote (and the directories those live in), and a whiteout
 * or opaque marker spares them — in overlay mode a whited-out directory this layer also
 * writes becomes an opaque directory instead.
 *
 * Safety (nothing outside `dir` is created, changed, chmod'ed, chown'ed or read):
 * - names are cleaned by pathsafe.ts: absolute names, '..' components and overlong
 *   names are refused;
 * - every parent directory is opened with openat2(rootfd, parent, O_PATH|O_DIRECTORY,
 *   RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV); the last
 *   component is then created with an *at call on that directory fd and never followed
 *   (O_CREAT|O_EXCL|O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, mknodat/symlinkat/linkat/mkdirat);
 * - an existing entry is unlinked first (a directory recursively, fd-relative), never
 *   opened for writing, so a hard link or symlink planted earlier cannot redirect a write;
 * - a path whose parent goes through a symlink is refused with "path goes through
 *   symlink X", whether the symlink points in or out, was written by this layer (also
 *   one that replaced a directory) or by a lower one. This is stricter than Docker (which
 *   extracts in a chroot, so such symlinks resolve inside the root) and containerd
 *   (continuity's fs.RootPath follows them inside the root): cairn neither follows nor
 *   silently re-roots them. Layers made by a differ never write through a symlink. For
 *   layers made otherwise, `followSymlinks: 'inside'` follows symlinks that stay beneath
 *   the root by their own target (openat2 RESOLVE_BENEATH, e.g. `lib -> usr/lib`) and
 *   still refuses absolute ones and ones that climb out;
 * - hard links: the target is resolved by the same rules and must exist inside `dir`
 *   (in overlay mode: inside the upper directory, i.e. written by this same layer);
 * - the root entry (`./`) may only be a directory; its owner, mode, xattrs and times are
 *   applied to `dir` (as Docker does); a whiteout naming `.` or `..` is refused;
 * - overlayfs' own xattrs (`trusted.overlay.*`, `user.overlay.*`) in a layer are dropped.
 *
 * Other decisions: missing parent directories are created (0755, owned by this process),
 * as Docker and containerd do; AUFS bookkeeping entries (`.wh..wh.*` other than the opaque
 * marker) are ignored; a whiteout of a name that does not exist is a no-op in 'oci-remove'
 * mode and still writes the 0:0 device in 'overlay' mode (the name may be in a lower
 * layer); a hard-link entry carries no metadata of its own (it shares its target's inode).
 *
 * Metadata order per entry: create → body → chown → chmod (after chown, which clears
 * setuid/setgid) → xattrs (after chown, which clears security.capability) → times with
 * nanoseconds. Directory times are set at the very end, deepest first, because creating
 * entries inside a directory changes its mtime.
 *
 * Speed: each entry is one native call that creates it with its metadata (native/src/apply.c:
 * the same system calls, flags and order as above), and plain entries — regular files up to
 * WHOLE_FILE_MAX, directories, symlinks, devices, FIFOs — go in batches to a thread of
 * libuv's pool, which resolves each parent with the same openat2 flags, while this thread
 * decompresses, hashes and parses the next ones (see {@link Applier}). Entries are still
 * applied in the layer's order, one batch after the other; anything that is not plain waits
 * for the batches before it. A small file's body is handed over as views of the stream's
 * chunks (not copied), so a source must not reuse a chunk's memory once it has yielded it
 * (Node's streams never do).
 *
 * Most entries of a layer never become objects at all: the tar reader offers the bytes at hand
 * to the applier's plain lane ({@link Applier.plainLane}) before each header, and the native
 * scanner (scanPlain, native/src/scan.c) reads the run of ordinary entries lying there — files
 * up to WHOLE_FILE_MAX, directories, symlinks, with names that need only cleaning, no xattrs,
 * no whiteouts — exactly as the reader and pathsafe.ts would, with each body's CRC for the
 * tar-split; the run goes to the tap (`TarTap.plain`) and then to the pool (applyPlain) as one
 * batch. The scanner stops at anything else, which the reader then reads and {@link
 * Applier.apply} applies; entries of a run the pool stops at are read again from the run's
 * bytes by the reader and applied here, as a batch's are.
 *
 * A source that is a span of an uncompressed file on disk (a layer inside an archive file, a
 * tar given to import: a {@link FileSpanBytes}) is read by position: the layer's digest is the
 * span's, hashed whole in one read on the pool (`hashFile`) beside the parsing, and the body of
 * a big file never crosses into JavaScript — it is copied into its file in the kernel
 * (`copyFileRange`, see {@link Applier}) and recorded in the tar-split without a crc. The
 * source file must not change meanwhile (the caller checks).
 */
import { closeSync, fchmodSync, fchownSync, openSync, readdirSync, write as fsWrite } from 'node:fs';

import { decompressStream, type Compression } from '../compression/index.js';
import { detectCompression, MAGIC_BYTES } from '../compression/detect.js';
import { algorithmOf, type Digest } from '../digest/digest.js';
import { PoolDigester } from '../digest/pool.js';
import {
  CairnError,
  DataCorruptError,
  InvalidArgumentError,
  isCairnError,
  NotFoundError,
  UnsupportedError,
} from '../errors.js';
import {
  applyBatch,
  applyFile,
  applyNode,
  applyPlain,
  BATCH_FILE,
  constants,
  copyFileRange,
  ENTRY_META_LENGTH,
  errnoCode,
  fchmodat,
  fileMeta,
  fsetxattr,
  fstatat,
  linkat,
  mkdirat,
  mknodat,
  NODE_KIND,
  openat,
  openat2,
  PLAIN,
  PLAIN_INFO_SLOTS,
  scanPlain,
  unlinkat,
  utimensat,
  type BatchOps,
  type EntryXattrs,
  type NativeError,
  type NativeStat,
  type NodeKind,
} from '../native/index.js';
import {
  FileSpanBytes,
  isFileSpanBytes,
  TarReader,
  type FileSpan,
  type PlainRun,
  type PlainTaken,
  type TarBody,
  type TarEntry,
  type TarHeader,
  type TarReadOptions,
  type TarTap,
  type TarTime,
} from '../tar/index.js';
import { isSameOrBelow, joinKey, keyBytes, keyDisplay, quoteName, safePath, UnsafeEntryError, type SafePath } from './pathsafe.js';
import { classifyWhiteout, isReservedXattr, OVERLAY_OPAQUE_VALUE, OVERLAY_OPAQUE_XATTR, type WhiteoutKind } from './whiteout.js';

/** How whiteouts are written: see the module comment. */
export type WhiteoutMode = 'overlay' | 'oci-remove';

export interface ApplyTarget {
  /** The directory to unpack into (must exist). */
  dir: string;
  whiteoutMode: WhiteoutMode;
}

export interface ApplyOptions {
  /** Digest of the bytes as given (the compressed blob): verified at the end. */
  expectedDigest?: Digest;
  /** Size of the bytes as given: more bytes fail at once, fewer at the end. */
  expectedSize?: number;
  /** Digest of the uncompressed tar (the diffID): verified at the end. */
  expectedDiffId?: Digest;
  /**
   * The source comes from a content store that verified these digests when the blob came in:
   * skip hashing (the result reports them as given). Unpacking a stored blob uses this.
   */
  trusted?: { digest: Digest; diffId: Digest };
  /** Most uncompressed bytes accepted (decompression bombs); default {@link DEFAULT_DECOMPRESS_LIMIT}. */
  decompressLimit?: number;
  /** What is being applied, for messages (e.g. "layer sha256:0123abcd"); default "layer". */
  what?: string;
  /**
   * Entries whose parent path goes through a symlink: 'never' (default) refuses them;
   * 'inside' follows symlinks that stay beneath the root by their own target (relative
   * ones such as Debian's `lib -> usr/lib`) and still refuses any that lead out (absolute
   * targets, '..' past the root). A compatibility escape hatch for layers not made by a
   * differ; whiteout bookkeeping is by name, so names through symlinks are not unified.
   */
  followSymlinks?: 'never' | 'inside';
  /** Sees every byte of the uncompressed tar as the reader passes it (tar-split recording: see tarsplit.ts). */
  tap?: TarTap;
}

export interface ApplyResult {
  /** sha256 (or the expected diffID's algorithm) of the uncompressed tar. */
  diffId: Digest;
  /** sha256 (or the expected digest's algorithm) of the bytes as given. */
  digest: Digest;
  /** Bytes as given (compressed). */
  size: number;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
  /** Tar entries read (whiteouts included). */
  entries: number;
  /** Compression recognised from the first bytes. */
  compression: Compression;
}

/** Default limit of uncompressed bytes per layer: 64 GiB. */
export const DEFAULT_DECOMPRESS_LIMIT = 64 * 1024 * 1024 * 1024;

/** Largest uid/gid (2^32 - 2: -1 means "unchanged" to chown). */
const MAX_ID = 0xfffffffe;
/** Linux device numbers: 12-bit major, 20-bit minor. */
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

const NOTHING_TAKEN: PlainTaken = Object.freeze({ bytes: 0, entries: 0, last: '' });

/** Parent directory fds kept open between entries. */
const DIR_CACHE_SIZE = 128;

/**
 * Files up to this size are written by one native call with their metadata (their body's
 * chunks collected as views of the tar stream's buffers, not copied); larger ones are
 * streamed chunk by chunk.
 */
const WHOLE_FILE_MAX = 4 * 1024 * 1024;

/** Big files copied from the source file at once (each holds an fd until its copy is done). */
const MAX_COPIES = 8;

/** Entries, and bytes of file bodies, in one batch handed to a thread of the pool. */
const BATCH_ENTRIES = 64;
const BATCH_BYTES = 8 * 1024 * 1024;
/** Entries, and bytes of their names and link targets, in one plain run (see {@link Applier.plainLane}). */
const PLAIN_ENTRIES = 256;
const PLAIN_NAMES = 64 * 1024;
/** Most bytes of a chunk offered to the scanner at once. */
const PLAIN_WINDOW = 64 * 1024 * 1024;

/**
 * Apply one layer from `source` to `target.dir`. Returns the digests and sizes; throws
 * UnsafeEntryError (a DataCorruptError) for an entry it refuses, DataCorruptError for
 * corrupt data, a digest or size mismatch or a decompression bomb, and leaves the
 * partial result in place for the caller to remove.
 */
export async function applyLayer(
  target: ApplyTarget,
  source: AsyncIterable<Uint8Array> | FileSpanBytes,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const what = opts.what ?? 'layer';
  if (target.whiteoutMode !== 'overlay' && target.whiteoutMode !== 'oci-remove') {
    throw new InvalidArgumentError(`${what}: unknown whiteout mode ${JSON.stringify(target.whiteoutMode as string)}`);
  }
  const expectedSize = opts.expectedSize;
  if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
    throw new InvalidArgumentError(`${what}: invalid expected size ${expectedSize}`);
  }
  if (opts.followSymlinks !== undefined && opts.followSymlinks !== 'never' && opts.followSymlinks !== 'inside') {
    throw new InvalidArgumentError(`${what}: followSymlinks must be 'never' or 'inside', not ${JSON.stringify(opts.followSymlinks as string)}`);
  }
  const limit = opts.decompressLimit ?? DEFAULT_DECOMPRESS_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidArgumentError(`${what}: invalid decompression limit ${limit}`);

  const digestAlg = opts.expectedDigest !== undefined ? algorithmOf(opts.expectedDigest) : 'sha256';
  const diffIdAlg = opts.expectedDiffId !== undefined ? algorithmOf(opts.expectedDiffId) : 'sha256';
  // Bytes from a store that verified them when they came in need not be hashed again.
  const trusted = opts.trusted;
  // An uncompressed span of a file is read by position (see the module comment).
  if (isFileSpanBytes(source) && (trusted !== undefined || diffIdAlg === digestAlg)) {
    const head = await source.read(0, MAGIC_BYTES);
    if (head.length < MAGIC_BYTES || detectCompression(head) === 'none') return applySpan(target, source, opts, what, trusted ? null : new PoolDigester(digestAlg));
  }
  // hashed on the pool while this thread parses and applies (see digest/pool.ts)
  const compressed = trusted ? null : new PoolDigester(digestAlg);
  let compressedSize = 0;
  let uncompressed: PoolDigester | null = null;
  let uncompressedBytes = 0;
  let sourceEnded = false;

  async function* hashedSource(): AsyncGenerator<Buffer, void, undefined> {
    for await (const chunk of source) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      compressedSize += b.length;
      const room = compressed?.update(b);
      if (room !== undefined) await room;
      if (expectedSize !== undefined && compressedSize > expectedSize) {
        throw new DataCorruptError(`${what}: size mismatch: more than the expected ${expectedSize} bytes`);
      }
      yield b;
    }
    sourceEnded = true;
  }

  let applier: Applier;
  try {
    applier = new Applier(target.dir, target.whiteoutMode, what, opts.followSymlinks ?? 'never');
  } catch (e) {
    await source[Symbol.asyncIterator]().return?.(); // release the unread source (destroys a Readable)
    throw e;
  }
  try {
    let compression: Compression;
    let entries = 0;
    try {
      const d = await decompressStream(hashedSource(), { limit });
      compression = d.compression;
      const stream = d.stream;
      // an uncompressed layer's diffID is its digest: hash it once when the algorithms agree
      if (!trusted && (compression !== 'none' || diffIdAlg !== digestAlg)) uncompressed = new PoolDigester(diffIdAlg);
      const tarHasher = uncompressed;
      async function* hashedTar(): AsyncGenerator<Buffer, void, undefined> {
        for await (const c of stream) {
          const b = c as Buffer;
          uncompressedBytes += b.length;
          const room = tarHasher?.update(b);
          if (room !== undefined) await room;
          yield b;
        }
      }
      entries = await applyEntries(applier, new TarReader(hashedTar(), readOptions(applier, opts)), what);
    } catch (e) {
      throw withWhat(e, what);
    }
    applier.finish();
    if (!sourceEnded) {
      throw new DataCorruptError(`${what}: data after the end of the ${compression} stream`);
    }
    if (expectedSize !== undefined && compressedSize !== expectedSize) {
      throw new DataCorruptError(`${what}: size mismatch: got ${compressedSize} bytes, expected ${expectedSize}`);
    }
    const size = compressedSize;
    if (trusted) return { diffId: trusted.diffId, digest: trusted.digest, size, uncompressedSize: uncompressedBytes, entries, compression };
    const digest = await compressed!.digest();
    const tarDigest = await uncompressed?.digest();
    if (opts.expectedDigest !== undefined && digest !== opts.expectedDigest) {
      throw new DataCorruptError(`${what}: digest mismatch: got ${digest}, expected ${opts.expectedDigest}`);
    }
    const diffId = tarDigest ?? digest;
    if (opts.expectedDiffId !== undefined && diffId !== opts.expectedDiffId) {
      throw new DataCorruptError(`${what}: diffID mismatch: got ${diffId}, expected ${opts.expectedDiffId}`);
    }
    return { diffId, digest, size, uncompressedSize: uncompressedBytes, entries, compression };
  } finally {
    await applier.close();
  }
}

/**
 * Every entry of `reader` through `applier`, then what is still on the pool; returns the count.
 * On a failure the entries before it are applied first (and an error of theirs comes first).
 */
async function applyEntries(applier: Applier, reader: TarReader, what: string): Promise<number> {
  let entries = 0;
  try {
    for await (const entry of reader) {
      entries++;
      await applier.apply(entry);
    }
    await applier.drain();
    await applier.settleFiles();
    return entries + applier.plainEntries;
  } catch (e) {
    try {
      await applier.drain();
    } catch (e2) {
      throw withWhat(e2, what);
    }
    throw withWhat(e, what);
  }
}

/**
 * The tar reader's options: the tap, and the applier's plain lane where nothing needs each
 * entry on its own (a tap that takes plain runs or none; no symlinks followed, whose check
 * the tap makes entry by entry).
 */
function readOptions(applier: Applier, opts: ApplyOptions): TarReadOptions {
  const tap = opts.tap;
  const lane = (opts.followSymlinks ?? 'never') === 'never' && (tap === undefined || tap.plain !== undefined);
  return { ...(tap ? { tap } : {}), ...(lane ? { plain: (view: Buffer) => applier.plainLane(view, tap ?? null) } : {}) };
}

/** applyLayer of an uncompressed span of a file, read by position; `hasher` null when trusted. */
async function applySpan(target: ApplyTarget, source: FileSpanBytes, opts: ApplyOptions, what: string, hasher: PoolDigester | null): Promise<ApplyResult> {
  const size = source.length;
  if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
    throw new DataCorruptError(`${what}: size mismatch: got ${size} bytes, expected ${opts.expectedSize}`);
  }
  const limit = opts.decompressLimit ?? DEFAULT_DECOMPRESS_LIMIT;
  if (size > limit) throw new DataCorruptError(`${what}: decompression limit of ${limit} bytes exceeded`);
  const applier = new Applier(target.dir, target.whiteoutMode, what, opts.followSymlinks ?? 'never');
  try {
    // The layer's digest is the digest of the span: hashed whole, in one read on the pool, beside
    // the parsing (the file must not change meanwhile: the caller checks it did not).
    hasher?.updateFile(source.fd, source.offset, source.length);
    const entries = await applyEntries(applier, new TarReader(source, readOptions(applier, opts)), what);
    applier.finish();
    if (opts.trusted) return { diffId: opts.trusted.diffId, digest: opts.trusted.digest, size, uncompressedSize: size, entries, compression: 'none' };
    const digest = await hasher!.digest();
    if (opts.expectedDigest !== undefined && digest !== opts.expectedDigest) {
      throw new DataCorruptError(`${what}: digest mismatch: got ${digest}, expected ${opts.expectedDigest}`);
    }
    if (opts.expectedDiffId !== undefined && digest !== opts.expectedDiffId) {
      throw new DataCorruptError(`${what}: diffID mismatch: got ${digest}, expected ${opts.expectedDiffId}`);
    }
    return { diffId: digest, digest, size, uncompressedSize: size, entries, compression: 'none' };
  } finally {
    await applier.close();
  }
}

/** Prefix a lower module's one-line error with what is being applied (keeping its class). */
function withWhat(e: unknown, what: string): unknown {
  if (!(e instanceof CairnError) || e instanceof UnsafeEntryError || e.message.startsWith(`${what}: `)) return e;
  const msg = `${what}: ${e.message}`;
  if (e instanceof DataCorruptError) return new DataCorruptError(msg, { cause: e });
  if (e instanceof UnsupportedError) return new UnsupportedError(msg, { cause: e });
  return e;
}

/** Native flag values, read once (the addon's constants are lazy getters). */
interface Flags {
  O_RDONLY: number;
  O_WRONLY: number;
  O_CREAT: number;
  O_EXCL: number;
  O_NOFOLLOW: number;
  O_DIRECTORY: number;
  O_PATH: number;
  AT_SYMLINK_NOFOLLOW: number;
  AT_REMOVEDIR: number;
  RESOLVE: number;
  RESOLVE_FOLLOW: number;
  S_IFMT: number;
  S_IFDIR: number;
  S_IFCHR: number;
  S_IFBLK: number;
  S_IFIFO: number;
}

let flagsCache: Flags | undefined;
function flags(): Flags {
  if (flagsCache !== undefined) return flagsCache;
  const c = constants;
  flagsCache = {
    O_RDONLY: c.O_RDONLY,
    O_WRONLY: c.O_WRONLY,
    O_CREAT: c.O_CREAT,
    O_EXCL: c.O_EXCL,
    O_NOFOLLOW: c.O_NOFOLLOW,
    O_DIRECTORY: c.O_DIRECTORY,
    O_PATH: c.O_PATH,
    AT_SYMLINK_NOFOLLOW: c.AT_SYMLINK_NOFOLLOW,
    AT_REMOVEDIR: c.AT_REMOVEDIR,
    RESOLVE: c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS | c.RESOLVE_NO_MAGICLINKS | c.RESOLVE_NO_XDEV,
    RESOLVE_FOLLOW: c.RESOLVE_BENEATH | c.RESOLVE_NO_MAGICLINKS | c.RESOLVE_NO_XDEV,
    S_IFMT: c.S_IFMT,
    S_IFDIR: c.S_IFDIR,
    S_IFCHR: c.S_IFCHR,
    S_IFBLK: c.S_IFBLK,
    S_IFIFO: c.S_IFIFO,
  };
  return flagsCache;
}

/**
 * 'new': created by this layer (its whole content is this layer's);
 * 'merged': existed before and this layer wrote into or over it (a directory).
 */
type Touch = 'new' | 'merged';

interface DirTimes {
  depth: number;
  atime: TarTime;
  mtime: TarTime;
}

/** An entry handed to the pool: what applying it here instead takes. */
interface Queued {
  p: SafePath;
  h: TarHeader;
  kind: NodeKind | typeof BATCH_FILE;
  /** A file's body (views of the tar stream's chunks). */
  chunks: Buffer | Buffer[] | null;
}

/** Entries applied together on a thread of the pool (native applyBatch). */
class Batch {
  readonly ops: BatchOps = [];
  readonly queued: Queued[] = [];
  readonly meta = new Float64Array(BATCH_ENTRIES * ENTRY_META_LENGTH);
  readonly results = new Int32Array(BATCH_ENTRIES);
  bytes = 0;
  /** Set once handed to the pool: resolves to the number of entries done. */
  running: Promise<number> | null = null;
}

/** A run of entries the native scanner read where they lie (see {@link Applier.plainLane}), applied on the pool. */
class PlainBatch implements PlainRun {
  readonly info = new Int32Array(PLAIN_ENTRIES * PLAIN_INFO_SLOTS);
  readonly meta = new Float64Array(PLAIN_ENTRIES * ENTRY_META_LENGTH);
  readonly names = Buffer.allocUnsafe(PLAIN_NAMES);
  readonly results = new Int32Array(PLAIN_ENTRIES);
  /** The bytes the entries lie in (a view of the tar stream's chunk, never reused by it). */
  buf: Buffer = Buffer.alloc(0);
  count = 0;
  running: Promise<number> | null = null;

  /** Entry i's cleaned path. */
  path(i: number): SafePath {
    const o = i * PLAIN_INFO_SLOTS;
    const off = this.info[o + PLAIN.keyOff]!;
    const key = this.names.toString('latin1', off, off + this.info[o + PLAIN.keyLen]!);
    const base = this.info[o + PLAIN.baseOff]!;
    return { key, parentKey: base === 0 ? '' : key.slice(0, base - 1), baseKey: base === 0 ? key : key.slice(base), depth: this.info[o + PLAIN.depth]! };
  }
}

/**
 * Applies entries in order to a directory; holds the fds and the per-layer bookkeeping.
 *
 * Plain entries (regular files up to WHOLE_FILE_MAX, directories, symlinks, devices,
 * FIFOs) are gathered into batches that a thread of libuv's pool applies (native
 * applyBatch: the same calls, flags and openat2 resolution as here), one batch at a time
 * and in order, while this thread parses the next ones. A batch stops at the first entry
 * it cannot complete (a parent that does not resolve, a name that exists, a failed call);
 * that entry and the rest of its batch are then applied here, by the code below, which
 * removes, creates missing directories, follows symlinks where allowed and words the
 * errors. The bookkeeping of a batch's entries is done here when it completes, in order.
 * Everything else (the root entry, whiteouts, hard links, large files) waits until the
 * batches before it are done, so it sees what they wrote.
 */
class Applier {
  private readonly f: Flags;
  private readonly rootFd: number;
  /** Open O_PATH fds of parent directories, by key (insertion order = age). */
  private readonly dirs = new Map<string, number>();
  /** Paths this layer wrote, and every directory they lie in. */
  private readonly touched = new Map<string, Touch>();
  /** Overlay whiteout devices this layer made. */
  private readonly whiteouts = new Set<string>();
  /** Times of directories, applied at the end. */
  private readonly dirTimes = new Map<string, DirTimes>();
  private lastMarked: string | null = null;
  /** Fds resolved through a symlink (followSymlinks 'inside'): closed before the next entry, never cached. */
  private readonly transient: number[] = [];
  /** Set by walk() when it followed a symlink. */
  private viaSymlink = false;
  /** The entry being applied, for messages. */
  private entry = '';
  /** The current entry's owner, mode, times and device number, for the whole-entry native calls. */
  private readonly meta = new Float64Array(ENTRY_META_LENGTH);
  /** The batch being gathered, and the one on the pool. */
  private gathering = new Batch();
  private running: Batch | PlainBatch | null = null;
  /** Entries taken by the plain lane (never yielded by the reader). */
  plainEntries = 0;
  /** A plain run's arrays the last offer did not use. */
  private spare: PlainBatch | null = null;
  /** A batch's entry failed: nothing after it is applied. */
  private broken = false;
  /** Big files being copied from the source file (see copyInBackground), and the first failure. */
  private readonly copies = new Set<Promise<void>>();
  private copyFailure: unknown;

  constructor(
    dir: string,
    private readonly mode: WhiteoutMode,
    private readonly what: string,
    private readonly follow: 'never' | 'inside' = 'never',
  ) {
    this.f = flags();
    try {
      this.rootFd = openSync(dir, this.f.O_RDONLY | this.f.O_DIRECTORY);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT') throw new NotFoundError(`${what}: target directory ${dir} does not exist`, { cause: e });
      if (code === 'ENOTDIR') throw new InvalidArgumentError(`${what}: target ${dir} is not a directory`, { cause: e });
      throw new CairnError('internal', `${what}: cannot open target directory ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Close every fd, once the pool's work (which uses the root fd) is over. */
  async close(): Promise<void> {
    const r = this.running;
    this.running = null;
    if (r?.running) await r.running;
    while (this.copies.size > 0) await Promise.allSettled([...this.copies]);
    for (const fd of this.transient.splice(0)) closeSync(fd);
    for (const fd of this.dirs.values()) closeSync(fd);
    this.dirs.clear();
    closeSync(this.rootFd);
  }

  // ---------------------------------------------------------------------------
  // errors

  private unsafe(reason: string, cause?: unknown): UnsafeEntryError {
    return new UnsafeEntryError(this.what, this.entry, reason, cause === undefined ? undefined : { cause });
  }

  private corrupt(reason: string, cause?: unknown): DataCorruptError {
    return new DataCorruptError(`${this.what}: entry ${quoteName(this.entry)}: ${reason}`, cause === undefined ? undefined : { cause });
  }

  /** A failed system call that the layer's content does not explain. */
  private sysError(e: unknown): unknown {
    if (isCairnError(e) || errnoCode(e) === undefined) return e;
    return new CairnError('internal', `${this.what}: entry ${quoteName(this.entry)}: ${(e as Error).message}`, { cause: e });
  }

  // ---------------------------------------------------------------------------
  // entries

  async apply(entry: TarEntry): Promise<void> {
    const h = entry.header;
    this.entry = h.name;
    const p = safePath(h.nameBytes ?? Buffer.from(h.name, 'utf8'), this.what, h.name);
    if (h.uid > MAX_ID || h.gid > MAX_ID) throw this.corrupt(`owner ${h.uid}:${h.gid} is out of range`);
    if ((h.type === 'char' || h.type === 'block') && (h.devmajor > MAX_MAJOR || h.devminor > MAX_MINOR)) {
      throw this.corrupt(`device number ${h.devmajor}:${h.devminor} is out of range`);
    }
    const wh = p.key === '' ? null : classifyWhiteout(p.baseKey);
    if (p.key !== '' && wh === null) {
      const kind = this.batchKind(h);
      if (kind !== null) {
        await this.enqueue(p, h, kind, kind === BATCH_FILE ? await this.bodyOf(entry.body) : null);
        return;
      }
    }
    await this.drain();
    this.entry = h.name;
    this.trimCache();
    try {
      if (p.key === '') {
        this.root(h);
        return;
      }
      if (wh !== null) {
        this.whiteout(p, wh);
        return;
      }
      switch (h.type) {
        case 'file':
          await this.file(p, h, entry.body);
          return;
        case 'dir':
          this.directory(p, h);
          return;
        case 'symlink':
          this.symlink(p, h);
          return;
        case 'hardlink':
          this.hardlink(p, h);
          return;
        case 'char':
        case 'block':
        case 'fifo':
          this.node(p, h);
          return;
        default:
          throw this.corrupt(`unsupported entry type ${JSON.stringify(h.type as string)}`);
      }
    } catch (e) {
      throw this.sysError(e);
    }
  }

  /** The root entry ('./'): only a directory; its metadata goes to the target directory itself. */
  private root(h: TarHeader): void {
    if (h.type !== 'dir') throw this.unsafe(`a ${h.type} cannot replace the root directory`);
    fchownSync(this.rootFd, h.uid, h.gid);
    fchmodSync(this.rootFd, h.mode);
    this.setXattrs(this.rootFd, h);
    this.dirTimes.set('', { depth: 0, atime: h.atime ?? h.mtime, mtime: h.mtime });
  }

  /** A small file's whole body: usually one view of the current chunk, else several. */
  private async bodyOf(body: TarBody): Promise<Buffer | Buffer[] | null> {
    let chunks: Buffer | Buffer[] | null = null;
    while (body.consumed < body.size) {
      const c = await body.read();
      if (c === null) break;
      chunks = chunks === null ? c : Array.isArray(chunks) ? (chunks.push(c), chunks) : [chunks, c];
    }
    return chunks;
  }

  /** A file whose whole body is at hand: one native call. */
  private wholeFile(p: SafePath, h: TarHeader, chunks: Buffer | Buffer[] | null): void {
    const pfd = this.parent(p);
    const base = keyBytes(p.baseKey);
    const xattrs = this.xattrList(h);
    this.setMeta(h, this.meta, 0);
    try {
      if (!applyFile(pfd, base, chunks, this.meta, xattrs)) {
        this.clear(pfd, p);
        if (!applyFile(pfd, base, chunks, this.meta, xattrs)) throw this.stillThere();
      }
    } catch (e) {
      throw this.xattrError(e);
    }
    this.touch(p, 'new');
  }

  /** A file too large to hold: streamed into the file chunk by chunk. */
  private async file(p: SafePath, h: TarHeader, body: TarBody): Promise<void> {
    if (body.size <= WHOLE_FILE_MAX) {
      this.wholeFile(p, h, await this.bodyOf(body));
      return;
    }
    const pfd = this.parent(p);
    const base = keyBytes(p.baseKey);
    const xattrs = this.xattrList(h);
    const f = this.f;
    const open = (): number => openat(pfd, base, f.O_WRONLY | f.O_CREAT | f.O_EXCL | f.O_NOFOLLOW, 0o600);
    let fd: number;
    try {
      fd = open();
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
      this.clear(pfd, p);
      fd = open();
    }
    this.touch(p, 'new');
    let span: FileSpan | null;
    try {
      span = await body.span();
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (span !== null) {
      this.copyInBackground(fd, span, h, xattrs);
      if (this.copies.size >= MAX_COPIES) await Promise.race(this.copies).catch(() => undefined); // failures: settleFiles
      return;
    }
    try {
      // Written at explicit offsets on the thread pool, a few chunks in flight, so that the
      // main thread reads, hashes and parses the next chunk while the disk takes this one.
      const inFlight = new Set<Promise<void>>();
      let pos = 0;
      try {
        for (;;) {
          const chunk = await body.read();
          if (chunk === null) break;
          const job = pwriteAll(fd, chunk, pos).finally(() => inFlight.delete(job));
          job.catch(() => undefined); // awaited below
          inFlight.add(job);
          pos += chunk.length;
          if (inFlight.size >= 4) await Promise.race(inFlight);
        }
      } finally {
        const settled = await Promise.allSettled(inFlight);
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      this.setMeta(h, this.meta, 0);
      fileMeta(fd, this.meta, xattrs);
    } catch (e) {
      throw this.xattrError(e);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A big file's body that is a span of the source file: copied in the kernel on the pool,
   * then its owner, mode, xattrs and times set and its fd closed, while this thread goes on
   * with the next entries. Nothing later needs its bytes in place: a later entry that replaces
   * or links it works on names, and the copy goes to this inode whatever happens to its name.
   * {@link settleFiles} waits for every copy (a failure is reported there, naming its entry).
   */
  private copyInBackground(fd: number, span: FileSpan, h: TarHeader, xattrs: EntryXattrs): void {
    const entry = this.entry;
    const meta = new Float64Array(ENTRY_META_LENGTH);
    this.setMeta(h, meta, 0);
    const job = copyFileRange(span.fd, span.offset, span.length, fd)
      .then(() => fileMeta(fd, meta, xattrs))
      .catch((e: unknown) => {
        this.entry = entry;
        if (errnoCode(e) === 'ENODATA') throw this.corrupt(`the layer's file ended inside the body (it changed while it was read?)`);
        throw this.sysError(this.xattrError(e));
      })
      .finally(() => {
        closeSync(fd);
        this.copies.delete(job);
      });
    job.catch((e: unknown) => void (this.copyFailure ??= e)); // reported by settleFiles
    this.copies.add(job);
  }

  /** Wait for the big files still being copied; the first failure is thrown. */
  async settleFiles(): Promise<void> {
    while (this.copies.size > 0) await Promise.allSettled([...this.copies]);
    if (this.copyFailure !== undefined) throw this.copyFailure;
  }

  private directory(p: SafePath, h: TarHeader): void {
    const pfd = this.parent(p);
    const base = keyBytes(p.baseKey);
    // mkdirat (an existing directory is kept: 'merged'), owner, mode, xattrs; times at the end
    let opaque = false;
    let r = this.create(pfd, base, NODE_KIND.dir, h);
    if (r < 0) {
      // something else is there. overlay: a directory this layer whited out and now writes hides the lower one
      opaque = this.mode === 'overlay' && this.whiteouts.has(p.key);
      this.clear(pfd, p);
      r = this.create(pfd, base, NODE_KIND.dir, h);
      if (r < 0) throw this.stillThere();
    }
    const prev = this.touched.get(p.key);
    this.touch(p, prev === 'new' || r === 0 ? 'new' : 'merged');
    if (opaque) this.setOpaque(pfd, base);
    this.dirTimes.set(p.key, { depth: p.depth, atime: h.atime ?? h.mtime, mtime: h.mtime });
  }

  private symlink(p: SafePath, h: TarHeader): void {
    const target = h.linknameBytes ?? h.linkname;
    if (target.length === 0) throw this.corrupt('symlink with an empty target');
    const pfd = this.parent(p);
    const base = keyBytes(p.baseKey);
    if (this.create(pfd, base, NODE_KIND.symlink, h, target) < 0) {
      this.clear(pfd, p);
      if (this.create(pfd, base, NODE_KIND.symlink, h, target) < 0) throw this.stillThere();
    }
    this.touch(p, 'new');
  }

  private hardlink(p: SafePath, h: TarHeader): void {
    const t = safePath(h.linknameBytes ?? Buffer.from(h.linkname, 'utf8'), this.what, this.entry, 'hard link target');
    if (t.key === '') throw this.unsafe('hard link to the root directory');
    if (t.key === p.key) throw this.corrupt('hard link to itself');
    if (isSameOrBelow(t.key, p.key)) throw this.corrupt(`hard link to ${quoteName(keyDisplay(t.key))}, below the entry itself`);
    const pfd = this.parent(p);
    const tfd = this.lookup(t.parentKey, false);
    const where = this.mode === 'overlay' ? ' in this layer' : '';
    if (tfd === null) throw this.corrupt(`hard link target ${quoteName(keyDisplay(t.key))} does not exist${where}`);
    const tbase = keyBytes(t.baseKey);
    const base = keyBytes(p.baseKey);
    const link = (): void => linkat(tfd, tbase, pfd, base, 0);
    try {
      try {
        link();
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
        const st = fstatat(tfd, tbase, this.f.AT_SYMLINK_NOFOLLOW); // ENOENT: the target is missing, say so below
        const cur = fstatat(pfd, base, this.f.AT_SYMLINK_NOFOLLOW);
        if (cur.ino === st.ino && cur.dev === st.dev) {
          this.touch(p, 'new'); // already this very file
          return;
        }
        this.clear(pfd, p, cur);
        link();
      }
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT') throw this.corrupt(`hard link target ${quoteName(keyDisplay(t.key))} does not exist${where}`, e);
      if (code === 'EPERM') throw this.corrupt(`hard link target ${quoteName(keyDisplay(t.key))} is a directory`, e);
      throw e;
    }
    this.touch(p, 'new');
  }

  /** Character and block devices, FIFOs. */
  private node(p: SafePath, h: TarHeader): void {
    const kind = h.type === 'char' ? NODE_KIND.char : h.type === 'block' ? NODE_KIND.block : NODE_KIND.fifo;
    const pfd = this.parent(p);
    const base = keyBytes(p.baseKey);
    if (this.create(pfd, base, kind, h) < 0) {
      this.clear(pfd, p);
      if (this.create(pfd, base, kind, h) < 0) throw this.stillThere();
    }
    this.touch(p, 'new');
  }

  /** applyNode with this entry's metadata: 0 created, 1 an existing directory kept, -1 something else is there. */
  private create(pfd: number, base: Buffer, kind: NodeKind, h: TarHeader, target?: string | Buffer): number {
    this.setMeta(h, this.meta, 0);
    try {
      return applyNode(pfd, base, kind, this.meta, this.xattrList(h), target);
    } catch (e) {
      throw this.xattrError(e);
    }
  }

  /** Write a header's metadata at `off` in `m`, for the whole-entry native calls. */
  private setMeta(h: TarHeader, m: Float64Array, off: number): void {
    const at = h.atime ?? h.mtime;
    m[off] = h.uid;
    m[off + 1] = h.gid;
    m[off + 2] = h.mode & 0o7777;
    m[off + 3] = at.sec;
    m[off + 4] = at.nsec;
    m[off + 5] = h.mtime.sec;
    m[off + 6] = h.mtime.nsec;
    m[off + 7] = h.devmajor;
    m[off + 8] = h.devminor;
  }

  // ---------------------------------------------------------------------------
  // batches on the pool

  /** The batch kind of an entry the pool may apply, or null for one applied here. */
  private batchKind(h: TarHeader): NodeKind | typeof BATCH_FILE | null {
    switch (h.type) {
      case 'file':
        return h.size <= WHOLE_FILE_MAX ? BATCH_FILE : null;
      case 'dir':
        return NODE_KIND.dir;
      case 'symlink':
        return (h.linknameBytes ?? h.linkname).length > 0 ? NODE_KIND.symlink : null;
      case 'char':
        return NODE_KIND.char;
      case 'block':
        return NODE_KIND.block;
      case 'fifo':
        return NODE_KIND.fifo;
      default:
        return null;
    }
  }

  private async enqueue(p: SafePath, h: TarHeader, kind: NodeKind | typeof BATCH_FILE, chunks: Buffer | Buffer[] | null): Promise<void> {
    const b = this.gathering;
    const i = b.queued.length;
    const body = kind === BATCH_FILE ? chunks : kind === NODE_KIND.symlink ? (h.linknameBytes ?? h.linkname) : null;
    b.ops.push(kind, keyBytes(p.parentKey), keyBytes(p.baseKey), body, this.xattrList(h));
    this.setMeta(h, b.meta, i * ENTRY_META_LENGTH);
    b.queued.push({ p, h, kind, chunks });
    b.bytes += kind === BATCH_FILE ? h.size : 0;
    if (b.queued.length >= BATCH_ENTRIES || b.bytes >= BATCH_BYTES) await this.submit();
  }

  /** Hand the gathered batch to the pool, once the one before it is done. */
  private async submit(): Promise<void> {
    await this.settle();
    const b = this.gathering;
    if (this.broken || b.queued.length === 0) return;
    this.gathering = new Batch();
    b.running = applyBatch(this.rootFd, this.f.RESOLVE, b.queued.length, b.ops, b.meta, b.results);
    this.running = b;
  }

  /**
   * The tar reader's plain lane: the entries at the start of `view` that the native scanner
   * reads where they lie (ordinary files, directories and symlinks whose names need no more
   * than cleaning: see scanPlain) are told to the tap and applied on the pool as one run,
   * without a header object, a body object or a promise each. Whatever the scanner stops at
   * is left to the reader, and to {@link apply}.
   */
  async plainLane(view: Buffer, tap: TarTap | null): Promise<PlainTaken> {
    if (this.broken) return NOTHING_TAKEN;
    // a run's arrays are the pool's until it completes; unused ones wait for the next offer
    const run = this.spare ?? new PlainBatch();
    this.spare = null;
    // a huge chunk (a whole layer given as one Buffer) is taken a window at a time: offsets are int32
    if (view.length > PLAIN_WINDOW) view = view.subarray(0, PLAIN_WINDOW);
    const n = scanPlain(view, 0, view.length, PLAIN_ENTRIES, WHOLE_FILE_MAX, run.info, run.meta, run.names);
    if (n === 0) {
      this.spare = run;
      return NOTHING_TAKEN;
    }
    run.buf = view;
    run.count = n;
    if (tap?.plain !== undefined) {
      const r = tap.plain(run);
      if (r !== undefined) await r;
    }
    await this.submit(); // what was gathered before comes first
    await this.settle();
    if (this.broken) throw new CairnError('internal', `${this.what}: a plain run after a failed batch`);
    run.running = applyPlain(this.rootFd, this.f.RESOLVE, n, run.info, run.meta, run.names, view, run.results);
    this.running = run;
    this.plainEntries += n;
    const last = (n - 1) * PLAIN_INFO_SLOTS;
    return { bytes: run.info[last + PLAIN.end]!, entries: n, last: keyDisplay(run.path(n - 1).key) };
  }

  /** Bookkeeping of a plain run's entry the pool applied (`r`: 0 created, 1 an existing directory kept). */
  private appliedPlain(b: PlainBatch, i: number, r: number): void {
    const p = b.path(i);
    if (b.info[i * PLAIN_INFO_SLOTS + PLAIN.kind] !== NODE_KIND.dir) {
      this.touch(p, 'new');
      return;
    }
    const prev = this.touched.get(p.key);
    this.touch(p, prev === 'new' || r === 0 ? 'new' : 'merged');
    const m = b.meta;
    const o = i * ENTRY_META_LENGTH;
    this.dirTimes.set(p.key, { depth: p.depth, atime: { sec: m[o + 3]!, nsec: m[o + 4]! }, mtime: { sec: m[o + 5]!, nsec: m[o + 6]! } });
  }

  /**
   * The entries of a plain run from `from` on, which the pool stopped at: read again from the
   * run's bytes by the tar reader (so that they are what it would have made of them) and
   * applied here, in order.
   */
  private async applyPlainHere(b: PlainBatch, from: number): Promise<void> {
    const start = b.info[from * PLAIN_INFO_SLOTS + PLAIN.headerOff]!;
    const end = b.info[(b.count - 1) * PLAIN_INFO_SLOTS + PLAIN.end]!;
    for await (const entry of new TarReader([b.buf.subarray(start, end)])) {
      const h = entry.header;
      const p = safePath(h.nameBytes ?? Buffer.from(h.name, 'utf8'), this.what, h.name);
      const kind = this.batchKind(h);
      if (kind === null) throw new CairnError('internal', `${this.what}: entry ${quoteName(h.name)} of a plain run is not a plain entry`);
      this.applyHere({ p, h, kind, chunks: kind === BATCH_FILE ? await this.bodyOf(entry.body) : null });
    }
  }

  /** Wait for the batch on the pool; do the bookkeeping of what it applied, and apply the rest here. */
  private async settle(): Promise<void> {
    const b = this.running;
    if (b === null || b.running === null) return;
    try {
      const done = await b.running;
      this.running = null;
      if (b instanceof PlainBatch) {
        for (let i = 0; i < done; i++) this.appliedPlain(b, i, b.results[i]!);
        if (done < b.count) await this.applyPlainHere(b, done);
        return;
      }
      for (let i = 0; i < b.queued.length; i++) {
        const q = b.queued[i]!;
        if (i < done) this.applied(q, b.results[i]!);
        else this.applyHere(q);
      }
    } catch (e) {
      this.running = null;
      this.broken = true;
      throw e;
    }
  }

  /** Apply every entry gathered so far. */
  async drain(): Promise<void> {
    await this.submit();
    await this.settle();
  }

  /** Bookkeeping of an entry the pool applied (`r`: 0 created, 1 an existing directory kept). */
  private applied(q: Queued, r: number): void {
    if (q.kind !== NODE_KIND.dir) {
      this.touch(q.p, 'new');
      return;
    }
    const h = q.h;
    const prev = this.touched.get(q.p.key);
    this.touch(q.p, prev === 'new' || r === 0 ? 'new' : 'merged');
    this.dirTimes.set(q.p.key, { depth: q.p.depth, atime: h.atime ?? h.mtime, mtime: h.mtime });
  }

  /** An entry the pool stopped at (or one after it): applied here. */
  private applyHere(q: Queued): void {
    this.entry = q.h.name;
    this.trimCache();
    try {
      if (q.kind === BATCH_FILE) this.wholeFile(q.p, q.h, q.chunks);
      else if (q.kind === NODE_KIND.dir) this.directory(q.p, q.h);
      else if (q.kind === NODE_KIND.symlink) this.symlink(q.p, q.h);
      else this.node(q.p, q.h);
    } catch (e) {
      throw this.sysError(e);
    }
  }

  /** The entry's xattrs for the native calls (overlayfs' own dropped), or null when none. */
  private xattrList(h: TarHeader): EntryXattrs {
    if (h.xattrs.size === 0) return null;
    const out: Array<string | Uint8Array> = [];
    for (const [name, value] of h.xattrs) if (!isReservedXattr(name)) out.push(name, value);
    return out.length === 0 ? null : out;
  }

  /** A name removed a moment ago exists again: something else writes in this directory. */
  private stillThere(): CairnError {
    return new CairnError('internal', `${this.what}: entry ${quoteName(this.entry)}: exists again right after it was removed`);
  }

  // ---------------------------------------------------------------------------
  // whiteouts

  private whiteout(p: SafePath, wh: WhiteoutKind): void {
    if (wh.kind === 'meta') return; // AUFS bookkeeping, never content
    if (wh.kind === 'opaque') {
      this.opaque(p);
      return;
    }
    const name = wh.target;
    if (name === '' || name === '.' || name === '..') {
      throw this.unsafe(name === '' ? 'whiteout without a name' : `whiteout names ${name === '.' ? 'its own directory' : 'the parent directory'}`);
    }
    const key = joinKey(p.parentKey, name);
    const base = keyBytes(name);
    const mine = this.touched.get(key);
    if (this.mode === 'overlay') {
      const pfd = this.lookup(p.parentKey, true)!;
      this.markAncestors(p.parentKey);
      if (mine !== undefined) {
        // this layer writes `name` too: it already hides the lower one; a directory must also not merge with it
        let st: NativeStat | null = null;
        try {
          st = fstatat(pfd, base, this.f.AT_SYMLINK_NOFOLLOW);
        } catch (e) {
          if (errnoCode(e) !== 'ENOENT') throw e; // replaced and removed since: whiteout as usual
        }
        if (st !== null) {
          if (this.isDir(st)) this.setOpaque(pfd, base);
          return;
        }
      }
      if (this.whiteouts.has(key)) return;
      try {
        mknodat(pfd, base, this.f.S_IFCHR, 0, 0);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
        this.clear(pfd, { key, parentKey: p.parentKey, baseKey: name, depth: p.depth });
        mknodat(pfd, base, this.f.S_IFCHR, 0, 0);
      }
      this.whiteouts.add(key);
      return;
    }
    // oci-remove
    if (mine === 'new') return; // wholly this layer's
    const pfd = this.lookup(p.parentKey, false);
    if (pfd === null) return; // nothing there to remove
    let st: NativeStat;
    try {
      st = fstatat(pfd, base, this.f.AT_SYMLINK_NOFOLLOW);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return; // already absent: a whiteout of nothing is allowed
      throw e;
    }
    if (mine === 'merged') {
      // a lower directory this layer wrote into: remove only what lower layers put there
      if (this.isDir(st)) this.emptyDir(pfd, base, key, true);
      return;
    }
    this.clear(pfd, { key, parentKey: p.parentKey, baseKey: name, depth: p.depth }, st);
  }

  /** `.wh..wh..opq` in directory p.parentKey. */
  private opaque(p: SafePath): void {
    const dirKey = p.parentKey;
    const dfd = this.lookup(dirKey, true)!;
    this.markAncestors(dirKey);
    if (this.mode === 'overlay') {
      fsetxattr(dfd, OVERLAY_OPAQUE_XATTR, OVERLAY_OPAQUE_VALUE, 0);
      return;
    }
    if (dirKey !== '' && this.touched.get(dirKey) === 'new') return; // nothing from lower layers in it
    this.emptyDirFd(dfd, dirKey, true);
  }

  private setOpaque(pfd: number, base: Buffer): void {
    const fd = openat(pfd, base, this.f.O_PATH | this.f.O_NOFOLLOW | this.f.O_DIRECTORY);
    try {
      fsetxattr(fd, OVERLAY_OPAQUE_XATTR, OVERLAY_OPAQUE_VALUE, 0);
    } finally {
      closeSync(fd);
    }
  }

  // ---------------------------------------------------------------------------
  // metadata

  /** Set the entry's xattrs on `fd` (the root directory). */
  private setXattrs(fd: number, h: TarHeader): void {
    for (const [name, value] of h.xattrs) {
      if (isReservedXattr(name)) continue;
      try {
        fsetxattr(fd, name, value, 0);
      } catch (e) {
        throw this.xattrError(e);
      }
    }
  }

  /**
   * The error for a refused extended attribute (a native error from fsetxattr, naming the
   * attribute as its path); any other error unchanged. (On a symlink, device or FIFO the
   * native call skips user.* attributes the kernel refuses with EPERM: Linux allows them
   * only on regular files and directories, and Docker skips the same EPERM.)
   */
  private xattrError(e: unknown): unknown {
    const code = errnoCode(e);
    if (code === undefined || (e as NativeError).syscall !== 'fsetxattr') return e;
    const name = (e as NativeError).path ?? '';
    if (code === 'ENOTSUP') return new UnsupportedError(`${this.what}: entry ${quoteName(this.entry)}: the file system does not support extended attribute ${name}`, { cause: e });
    if (code === 'EINVAL' || code === 'EPERM' || code === 'ERANGE' || code === 'E2BIG') {
      return this.corrupt(`cannot set extended attribute ${name}: ${code}`, e);
    }
    return e;
  }

  /** Directory times, deepest first (children change their parent's mtime). */
  finish(): void {
    const all = [...this.dirTimes.entries()].sort((a, b) => b[1].depth - a[1].depth);
    for (const [key, t] of all) {
      this.entry = keyDisplay(key);
      this.trimCache();
      try {
        if (key === '') {
          utimensat(this.rootFd, null, t.atime.sec, t.atime.nsec, t.mtime.sec, t.mtime.nsec, 0);
          continue;
        }
        const slash = key.lastIndexOf('/');
        const pfd = this.lookup(slash < 0 ? '' : key.slice(0, slash), false);
        if (pfd === null) continue; // removed by a later entry
        utimensat(pfd, keyBytes(key.slice(slash + 1)), t.atime.sec, t.atime.nsec, t.mtime.sec, t.mtime.nsec, this.f.AT_SYMLINK_NOFOLLOW);
      } catch (e) {
        throw this.sysError(e);
      }
    }
  }

  // ---------------------------------------------------------------------------
  // bookkeeping

  private isDir(st: NativeStat): boolean {
    return (st.mode & this.f.S_IFMT) === this.f.S_IFDIR;
  }

  /** Record that this layer wrote `p` (and so lives in each of its ancestors). */
  private touch(p: SafePath, kind: Touch): void {
    this.touched.set(p.key, kind);
    this.markAncestors(p.parentKey);
  }

  private markAncestors(key: string): void {
    if (key === this.lastMarked) return;
    this.lastMarked = key;
    let k = key;
    while (k !== '') {
      if (!this.touched.has(k)) this.touched.set(k, 'merged');
      const slash = k.lastIndexOf('/');
      k = slash < 0 ? '' : k.slice(0, slash);
    }
  }

  /** Close the oldest cached directory fds (only between entries: fds in use stay valid). */
  private trimCache(): void {
    if (this.transient.length > 0) for (const fd of this.transient.splice(0)) closeSync(fd);
    if (this.dirs.size <= DIR_CACHE_SIZE) return;
    for (const [k, fd] of this.dirs) {
      this.dirs.delete(k);
      closeSync(fd);
      if (this.dirs.size <= DIR_CACHE_SIZE / 2) break;
    }
  }

  /** Drop cached fds and pending times at or below `key` (it was removed). */
  private forget(key: string): void {
    for (const [k, fd] of this.dirs) {
      if (isSameOrBelow(k, key)) {
        this.dirs.delete(k);
        closeSync(fd);
      }
    }
    // dirTimes only holds paths this layer wrote, and `touched` holds every ancestor of those:
    // an untouched key has nothing pending below it (the common case: whiteouts of lower files)
    if (this.touched.has(key)) {
      for (const k of this.dirTimes.keys()) if (isSameOrBelow(k, key)) this.dirTimes.delete(k);
    }
    if (this.lastMarked !== null && isSameOrBelow(this.lastMarked, key)) this.lastMarked = null;
  }

  // ---------------------------------------------------------------------------
  // path resolution

  /** The parent directory of an entry being written, created if missing. */
  private parent(p: SafePath): number {
    return this.lookup(p.parentKey, true)!;
  }

  /**
   * An O_PATH fd of directory `key` (the root for ''), cached. Never follows a symlink,
   * never leaves the root. Missing directories are created (mode 0755, owner of this
   * process) when `create` is set, else null is returned.
   */
  private lookup(key: string, create: boolean): number | null {
    if (key === '') return this.rootFd;
    const hit = this.dirs.get(key);
    if (hit !== undefined) return hit;
    const f = this.f;
    let fd: number;
    try {
      fd = openat2(this.rootFd, keyBytes(key), f.O_PATH | f.O_DIRECTORY, 0, f.RESOLVE);
    } catch (e) {
      const code = errnoCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP' && code !== 'EXDEV') throw e;
      this.viaSymlink = false;
      const r = this.walk(key, create);
      if (r === null) return null;
      if (this.viaSymlink) {
        // not cached: the name is not the directory's own, so removing the real path would not forget it
        this.transient.push(r);
        return r;
      }
      fd = r;
    }
    this.dirs.set(key, fd);
    return fd;
  }

  /**
   * Resolve directory `key` from the root following symlinks that stay beneath it
   * (followSymlinks 'inside'); a symlink that leads out (absolute, or '..' past the root)
   * is refused.
   */
  private followInside(key: string): number {
    const f = this.f;
    try {
      const fd = openat2(this.rootFd, keyBytes(key), f.O_PATH | f.O_DIRECTORY, 0, f.RESOLVE_FOLLOW);
      this.viaSymlink = true;
      return fd;
    } catch (e) {
      const code = errnoCode(e);
      const what = `path goes through symlink ${quoteName(keyDisplay(key))}`;
      if (code === 'EXDEV') throw this.unsafe(`${what}, which leads outside the root`, e);
      if (code === 'ELOOP') throw this.unsafe(`${what}: too many levels of symbolic links`, e);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw this.corrupt(`${what}, which does not lead to a directory`, e);
      throw e;
    }
  }

  /** Slow path of lookup: component by component, to create what is missing and to say exactly what is wrong. */
  private walk(key: string, create: boolean): number | null {
    const f = this.f;
    const parts = key.split('/');
    let cur = this.rootFd;
    let curKey = '';
    try {
      for (const part of parts) {
        const nextKey = joinKey(curKey, part);
        const name = keyBytes(part);
        const open = (): number => openat2(cur, name, f.O_PATH | f.O_DIRECTORY, 0, f.RESOLVE);
        let next: number;
        try {
          next = open();
        } catch (e) {
          const code = errnoCode(e);
          if (code === 'ELOOP') {
            if (this.follow !== 'inside') throw this.unsafe(`path goes through symlink ${quoteName(keyDisplay(nextKey))}`, e);
            next = this.followInside(nextKey);
            if (cur !== this.rootFd) closeSync(cur);
            cur = next;
            curKey = nextKey;
            continue;
          }
          if (code === 'EXDEV') throw this.unsafe(`path crosses a mount point at ${quoteName(keyDisplay(nextKey))}`, e);
          if (code === 'ENOENT') {
            if (!create) {
              if (cur !== this.rootFd) closeSync(cur);
              return null;
            }
            mkdirat(cur, name, 0o755);
            fchmodat(cur, name, 0o755, 0);
            this.touched.set(nextKey, 'new');
          } else if (code === 'ENOTDIR') {
            if (!create) {
              if (cur !== this.rootFd) closeSync(cur);
              return null;
            }
            if (this.mode !== 'overlay' || !this.whiteouts.has(nextKey)) {
              throw this.corrupt(`${quoteName(keyDisplay(nextKey))} is not a directory`, e);
            }
            // a directory this layer whited out (overlay) and now writes into: an opaque directory
            unlinkat(cur, name, 0);
            this.whiteouts.delete(nextKey);
            mkdirat(cur, name, 0o755);
            fchmodat(cur, name, 0o755, 0);
            this.touched.set(nextKey, 'new');
            next = open();
            try {
              fsetxattr(next, OVERLAY_OPAQUE_XATTR, OVERLAY_OPAQUE_VALUE, 0);
            } catch (e2) {
              closeSync(next);
              throw e2;
            }
            if (cur !== this.rootFd) closeSync(cur);
            cur = next;
            curKey = nextKey;
            continue;
          } else {
            throw e;
          }
          next = open();
        }
        if (cur !== this.rootFd) closeSync(cur);
        cur = next;
        curKey = nextKey;
      }
    } catch (e) {
      if (cur !== this.rootFd) closeSync(cur);
      throw e;
    }
    return cur;
  }

  // ---------------------------------------------------------------------------
  // removal (fd-relative, never following symlinks)

  /** Remove whatever is at p (a directory recursively) so a new entry can take its place. */
  private clear(pfd: number, p: SafePath, st?: NativeStat): void {
    const base = keyBytes(p.baseKey);
    const s = st ?? fstatat(pfd, base, this.f.AT_SYMLINK_NOFOLLOW);
    if (this.isDir(s)) {
      this.emptyDir(pfd, base, p.key, false);
      unlinkat(pfd, base, this.f.AT_REMOVEDIR);
      this.forget(p.key);
    } else {
      unlinkat(pfd, base, 0);
    }
    this.whiteouts.delete(p.key);
  }

  private emptyDir(pfd: number, base: Buffer, key: string, keepTouched: boolean): void {
    const fd = openat(pfd, base, this.f.O_RDONLY | this.f.O_DIRECTORY | this.f.O_NOFOLLOW);
    try {
      this.emptyDirFd(fd, key, keepTouched);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Remove the entries of the directory open as `fd`. With `keepTouched`, entries this
   * layer wrote stay, and directories it wrote into are emptied of the rest recursively.
   */
  private emptyDirFd(fd: number, key: string, keepTouched: boolean): void {
    const names = readdirSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' });
    for (const n of names) {
      const childKey = joinKey(key, n.toString('latin1'));
      const st = fstatat(fd, n, this.f.AT_SYMLINK_NOFOLLOW);
      const dir = this.isDir(st);
      if (keepTouched) {
        const t = this.touched.get(childKey);
        if (t !== undefined) {
          if (dir && t === 'merged') this.emptyDir(fd, n, childKey, true);
          continue;
        }
      }
      if (dir) {
        this.emptyDir(fd, n, childKey, false);
        unlinkat(fd, n, this.f.AT_REMOVEDIR);
        if (keepTouched) this.forget(childKey); // else the caller forgets the whole tree at once
      } else {
        unlinkat(fd, n, 0);
      }
    }
  }
}

/** pwrite(2) of all of `chunk` at `pos`, on the thread pool (looping over short writes). */
function pwriteAll(fd: number, chunk: Uint8Array, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      if (off >= chunk.length) return resolve();
      fsWrite(fd, chunk, off, chunk.length - off, pos + off, (err, n) => (err ? reject(err) : step(off + n)));
    };
    step(0);
  });
}
