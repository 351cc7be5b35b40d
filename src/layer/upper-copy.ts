/**
 * An overlay upper directory copied into a layer directory while its layer tar is recorded,
 * in one walk (upper.ts): each entry is made in the destination from what the walk read of it
 * — the same stat and attributes its tar header is made from (headers.ts) — so the tar
 * describes exactly the files the copy holds. Whiteout devices, xattr whiteouts and the
 * attributes that make a directory opaque are copied as they are (they are the snapshot
 * format); overlay's bookkeeping attributes and sockets are left out (the caller's `keep`).
 *
 * The copy of a regular file is one call on libuv's pool (native applyCopy: created O_EXCL,
 * the bytes copied in the kernel — copy_file_range, a reflink where the file system shares
 * blocks — then owner, mode, attributes, times), up to {@link MAX_COPIES} calls at once while
 * the walk goes on; the files of each directory are read ahead into the page cache (a bounded
 * window, {@link PREFETCH_WINDOW}), so the disk serves many at once. The plain lane: a run of
 * regular files with one link and no attributes whose header is a plain ustar one (an ASCII
 * name of at most 100 bytes, owner, size and time within its octal fields) goes in calls of
 * up to {@link RUN_FILES} files or {@link RUN_BYTES} bytes (native copyPlainRun: their headers
 * written at the call, byte for byte what the tar writer writes, the files made on the pool),
 * with no JavaScript object per file; the rest go one by one. The tar is never written: a
 * {@link RecordedTar} hashes it in order on the pool — each body read back from the new file,
 * never in JavaScript — and tells the tar-split recorder of it, a body as a span of its file or
 * a run as one (recorded without a crc: a later change to a file is caught on re-emit by the
 * diffID).
 *
 * A directory's times are set once every entry made in it is done; everything is fd-relative
 * below the destination, which must be an empty directory this process alone writes to (a
 * fresh snapshot). The upper must not change meanwhile (the caller pauses the container); a
 * file replaced or resized between the walk's stat and its copy fails the copy (ESTALE). A
 * failure waits for what is in flight, closes every fd and leaves the destination half made,
 * for the caller to remove.
 */
import { closeSync } from 'node:fs';

import type { Digest } from '../digest/digest.js';
import { PreconditionError } from '../errors.js';
import {
  applyCopy,
  applyNode,
  constants,
  ENTRY_META_LENGTH,
  errnoCode,
  fsetxattr,
  linkat,
  NODE_KIND,
  type EntryXattrs,
  type NativeStat,
  copyPlainRun,
  prefetchAt,
  SCAN,
  SCAN_SLOTS,
  scannedStat,
  utimensat,
} from '../native/index.js';
import { LayerHeaders } from './headers.js';
import { inPlaceLayout, plainHeaderFits, plainPrefix, scannedName } from './plain-run.js';
import { RecordedTar, type RecordedTarSink } from './recorded-tar.js';
import { type OverlayXattrs, type UpperDir, type UpperFile, type UpperRun, walkOverlayUpper } from './upper.js';
import { joinRel, openDir, readXattrs } from './walk.js';

/** Bytes of files read ahead of the copy (the page cache they fill is the copy's next reads). */
const PREFETCH_WINDOW = 64 << 20;
/** Bytes of files read ahead by one call on the pool. */
const PREFETCH_BATCH = 8 << 20;
/**
 * Copies on the pool at once: enough to keep its threads busy, few enough that the hashing,
 * which waits its turn behind them in the pool's queue, is never far behind.
 */
const MAX_COPIES = 4;
/** A run of plain files goes to the pool in calls of at most this many files, or bytes. */
const RUN_FILES = 64;
const RUN_BYTES = 1 << 20;
const SLASH = Buffer.from('/');
const NO_XATTRS: OverlayXattrs = { raw: new Map(), visible: new Map(), opaque: false, whiteout: false };

export interface UpperCopyOptions {
  /** Which of the upper's attributes the copy keeps, by name as stored. */
  keep: (name: string) => boolean;
  /** The xattr namespaces overlay keeps its own attributes in (as diffOverlayUpper's option). */
  overlayXattrNamespaces?: ReadonlyArray<'trusted' | 'user'>;
  /** The tar-split recorder: told of the tar as a tar reader would tell it (bodies as spans), runs of plain files at once. */
  record: RecordedTarSink;
  /** SOURCE_DATE_EPOCH for the tar's mtimes (as diffOverlayUpper's `sourceDateEpoch`); default none. */
  clampMtime?: number;
}

export interface UpperCopyResult {
  /** The sha256 of the layer tar. */
  diffId: Digest;
  /** Its bytes. */
  size: number;
}

/** A destination directory being filled: its fds and the work in flight in it. */
interface DestDir {
  /** The upper directory's own fd for the copies (the walk's is closed once it moves on). */
  src: number;
  /** The destination directory. */
  dst: number;
  /** Its times, set once everything in it is made; null for the root (its own metadata is not copied). */
  times: NativeStat | null;
  /** Copies, read-aheads and subdirectories in flight in it. */
  work: Promise<unknown>[];
  /** Its regular files with data, in visit order; those before `ahead` were read ahead. */
  files: UpperFile[];
  ahead: number;
}

const NODE_OF = { char: NODE_KIND.char, block: NODE_KIND.block, fifo: NODE_KIND.fifo } as const;

/** Wait for all of `work`; then the first failure, if any. */
async function settle(work: Promise<unknown>[]): Promise<void> {
  for (const r of await Promise.allSettled(work)) if (r.status === 'rejected') throw r.reason;
}

/** A failed copy of the file at `what`, as the differ says it when a file changes under it. */
function copyError(e: unknown, what: string): unknown {
  const code = errnoCode(e);
  if (code === 'ESTALE' || code === 'ENODATA') return new PreconditionError(`${what} was replaced or changed size while the layer was being copied`, { cause: e });
  return e;
}

/** Copy upper directory `upperDir` into the empty directory `destDir` and record its layer tar (see the module comment). */
export async function copyUpperRecorded(upperDir: string, destDir: string, opts: UpperCopyOptions): Promise<UpperCopyResult> {
  const headers = new LayerHeaders(upperDir);
  const tar = new RecordedTar(opts.record, opts.clampMtime !== undefined ? { clampMtime: opts.clampMtime } : {});
  const meta = new Float64Array(ENTRY_META_LENGTH);
  /** The directories being filled, innermost last. */
  const stack: DestDir[] = [];
  /** A directory made by `entry`, taken up by `enter` when the walk goes into it. */
  let next: { dst: number; times: NativeStat } | null = null;
  /** The first copy of every multiply-linked inode: its destination path, and when it is made. */
  const links = new Map<string, { rel: Buffer; made: Promise<unknown> }>();
  let destRoot = -1;
  /** Copies started and not yet done; the walk waits for a slot when MAX_COPIES are. */
  let inFlight = 0;
  let copySlot: (() => void) | null = null;
  const freeSlot = (): void => {
    inFlight--;
    const wake = copySlot;
    copySlot = null;
    wake?.();
  };
  /** Wait for a free copy slot and take it (given back by freeSlot when the copy settles). */
  const takeSlot = async (): Promise<void> => {
    while (inFlight >= MAX_COPIES) await new Promise<void>((resolve) => (copySlot = resolve));
    inFlight++;
  };
  let rootDone: Promise<void> | null = null;
  /** Bytes read ahead, and bytes whose copy started: the difference stays under PREFETCH_WINDOW. */
  let prefetched = 0;
  let copied = 0;

  const top = (): DestDir => stack[stack.length - 1]!;
  const kept = (raw: Map<string, Buffer>): EntryXattrs => {
    let out: EntryXattrs = null;
    for (const [k, v] of raw) if (opts.keep(k)) (out ??= []).push(k, v);
    return out;
  };
  /** The entry metadata the native calls take (copied by them at the call: one array serves all). */
  const metaOf = (st: NativeStat): Float64Array => {
    meta[0] = st.uid;
    meta[1] = st.gid;
    meta[2] = st.mode & 0o7777;
    meta[3] = st.atimeSec;
    meta[4] = st.atimeNsec;
    meta[5] = st.mtimeSec;
    meta[6] = st.mtimeNsec;
    meta[7] = st.rdevMajor;
    meta[8] = st.rdevMinor;
    return meta;
  };
  const made = (rel: Buffer, r: number): void => {
    if (r !== 0) throw new PreconditionError(`${headers.what(rel)}: the destination ${destDir} already holds that name`);
  };
  /** Read ahead the next files of `d`, a batch at a time, while less than PREFETCH_WINDOW bytes are read ahead of the copy. */
  const readAhead = (d: DestDir): void => {
    while (d.ahead < d.files.length && prefetched - copied <= PREFETCH_WINDOW - PREFETCH_BATCH) {
      const names: Buffer[] = [];
      const lengths: number[] = [];
      let batch = 0;
      while (d.ahead < d.files.length && batch < PREFETCH_BATCH && prefetched - copied < PREFETCH_WINDOW) {
        const f = d.files[d.ahead++]!;
        const n = Math.min(f.size, PREFETCH_WINDOW);
        names.push(f.name);
        lengths.push(n);
        batch += n;
        prefetched += n;
      }
      d.work.push(prefetchAt(d.src, names, Float64Array.from(lengths)));
    }
  };
  const closeDir = (d: DestDir): void => {
    if (d.src >= 0) closeSync(d.src);
    if (d.dst !== destRoot) closeSync(d.dst);
  };
  /** After a failure: the directories still open, once their work is done; a directory made but not entered. */
  const closeAll = async (): Promise<void> => {
    if (next !== null) closeSync(next.dst);
    next = null;
    for (const d of stack.splice(0).reverse()) {
      await Promise.allSettled(d.work);
      closeDir(d);
    }
  };

  const visitor = {
    enter(dir: UpperDir, files: UpperFile[]): void {
      const target = next ?? { dst: destRoot, times: null };
      next = null;
      const d: DestDir = { src: -1, dst: target.dst, times: target.times, work: [], files, ahead: 0 };
      stack.push(d);
      d.src = openDir(dir.fd, '.');
      readAhead(d);
    },
    async entry(dir: UpperDir, name: Buffer, rel: Buffer, st: NativeStat, x: OverlayXattrs): Promise<void> {
      const d = top();
      const { header, link } = headers.entry(dir.fd, name, rel, st, x.visible);
      const xattrs = kept(x.raw);
      switch (header.type) {
        case 'dir':
          made(rel, applyNode(d.dst, name, NODE_KIND.dir, metaOf(st), xattrs));
          next = { dst: openDir(d.dst, name), times: st };
          break;
        case 'hardlink': {
          const first = links.get(`${st.dev}:${st.ino}`)!;
          await first.made;
          linkat(destRoot, first.rel, d.dst, name);
          break;
        }
        case 'file': {
          const what = headers.what(rel);
          await takeSlot();
          const job = applyCopy(d.src, name, st.ino, st.size, d.dst, name, metaOf(st), xattrs).catch((e: unknown) => Promise.reject(copyError(e, what)));
          job.then(freeSlot, freeSlot);
          copied += st.size;
          readAhead(d);
          const done = st.size === 0 ? job.then(closeSync) : job;
          done.catch(() => undefined); // reported by the directory's settle (and the tar's)
          d.work.push(done);
          if (st.nlink > 1) links.set(`${st.dev}:${st.ino}`, { rel, made: done });
          await tar.add(header, st.size === 0 ? undefined : job);
          return;
        }
        case 'symlink':
          made(rel, applyNode(d.dst, name, NODE_KIND.symlink, metaOf(st), xattrs, link));
          break;
        default:
          made(rel, applyNode(d.dst, name, NODE_OF[header.type as keyof typeof NODE_OF], metaOf(st), xattrs));
      }
      if (header.type !== 'dir' && header.type !== 'hardlink' && st.nlink > 1) links.set(`${st.dev}:${st.ino}`, { rel, made: Promise.resolve() });
      await tar.add(header);
    },
    async files(dir: UpperDir, run: UpperRun): Promise<void> {
      const d = top();
      const { names, info } = run;
      const prefix = dir.rel.length === 0 ? dir.rel : Buffer.concat([dir.rel, SLASH]);
      const parentKey = dir.rel.toString('latin1');
      const clamp = opts.clampMtime;
      const plain = plainPrefix(prefix);
      let batch: number[] = [];
      let bytes = 0;
      const send = async (): Promise<void> => {
        if (batch.length === 0) return;
        const idx = batch;
        batch = [];
        bytes = 0;
        const layout = inPlaceLayout(names, info, idx, parentKey);
        copied += layout.bodyBytes;
        const raw = Buffer.allocUnsafe(layout.rawBytes); // every byte written by copyPlainRun
        await takeSlot();
        let files: Promise<Int32Array>;
        try {
          files = copyPlainRun(d.src, d.dst, prefix, names, info, Int32Array.from(idx), clamp ?? -1, raw);
        } catch (e) {
          freeSlot();
          throw e;
        }
        files = files.catch((e: unknown) => {
          const at = (e as { index?: unknown }).index;
          const i = typeof at === 'number' ? idx[at] : undefined;
          return Promise.reject(copyError(e, headers.what(i === undefined ? dir.rel : Buffer.concat([prefix, scannedName(names, info, i)]))));
        });
        files.then(freeSlot, freeSlot);
        d.work.push(files);
        readAhead(d);
        const { sizes, headerEnds, keys } = layout;
        await tar.addRun({ raw, headerEnds, sizes, keys, parentKey }, files);
      };
      for (const i of run.idx) {
        if (!plain || !plainHeaderFits(names, info, i, prefix.length, clamp)) {
          await send();
          const name = scannedName(names, info, i);
          await visitor.entry(dir, name, Buffer.concat([prefix, name]), scannedStat(info, i), NO_XATTRS);
          continue;
        }
        batch.push(i);
        bytes += info[i * SCAN_SLOTS + SCAN.size]!;
        if (batch.length >= RUN_FILES || bytes >= RUN_BYTES) await send();
      }
      await send();
    },
    async whiteout(dir: UpperDir, name: Buffer, st: NativeStat, x: OverlayXattrs | null): Promise<void> {
      const d = top();
      if (x === null) {
        // a 0:0 device: its own attributes, if any, are copied with it
        made(joinRel(dir.rel, name), applyNode(d.dst, name, NODE_KIND.char, metaOf(st), kept(readXattrs(dir.fd, name))));
      } else {
        // an xattr whiteout: an empty file carrying the marker
        const what = headers.what(joinRel(dir.rel, name));
        const job = applyCopy(d.src, name, st.ino, 0, d.dst, name, metaOf(st), kept(x.raw)).then(closeSync, (e: unknown) => Promise.reject(copyError(e, what)));
        job.catch(() => undefined); // reported by the directory's settle
        d.work.push(job);
      }
      await tar.add(headers.whiteout(dir.rel, name));
    },
    async opaque(rel: Buffer): Promise<void> {
      await tar.add(headers.opaque(rel));
    },
    leave(): void {
      const d = stack.pop()!;
      const times = d.times;
      const finished = settle(d.work).then(() => {
        if (times !== null) utimensat(d.dst, null, times.atimeSec, times.atimeNsec, times.mtimeSec, times.mtimeNsec);
      });
      const closed = finished.finally(() => closeDir(d));
      closed.catch(() => undefined); // reported by the parent's settle, or below for the root
      if (stack.length > 0) top().work.push(closed);
      else rootDone = closed;
    },
  };

  try {
    destRoot = openDir(constants.AT_FDCWD, destDir, true);
    const root = await walkOverlayUpper(upperDir, opts.overlayXattrNamespaces !== undefined ? { overlayXattrNamespaces: opts.overlayXattrNamespaces } : {}, visitor);
    await rootDone;
    // The root's own attributes that make a layer (an opaque root); its other metadata is the snapshot's.
    for (const [k, v] of root.raw) if (opts.keep(k)) fsetxattr(destRoot, k, v);
    return await tar.finish();
  } catch (e) {
    // Nothing may use an fd once this returns: the directories still open wait for their work first.
    await closeAll();
    if (rootDone !== null) await Promise.allSettled([rootDone]);
    await tar.abort(e);
    throw e;
  } finally {
    if (destRoot >= 0) closeSync(destRoot);
  }
}
