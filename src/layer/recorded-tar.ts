/**
 * A layer tar that is never written out: given entry by entry — each header as the tar writer
 * encodes it, a regular file's body as a file being made meanwhile (an open fd, once ready) —
 * its bytes are hashed in order on libuv's pool (a body read there from its file, never in
 * JavaScript: PoolDigester spans) and told to a tar-split recorder's tap as the tar reader
 * would tell them (header blocks raw, the entry, the body as a span of its file — recorded
 * without a crc, so a later change to that file is caught on re-emit by the diffID — the
 * padding raw), then dropped. The bytes are exactly those `createTarWriter` with the same
 * options writes for the same headers and bodies: the diffID is theirs.
 *
 * A run of plain files can be given at once (`addRun`): their header blocks and padding
 * already encoded in one buffer, their files made meanwhile by one call (an fd each); the
 * recorder takes the run whole (`inPlace`), and the hasher its slices and files in order.
 *
 * The entries are handled in order by one pump while the caller goes on adding: a body whose
 * file is not ready yet holds up the hashing of what follows it, not the caller. `add` makes
 * the caller wait while more than {@link MAX_PENDING} entries (or {@link MAX_PENDING_BYTES}
 * of bodies) wait, so files open and bytes in flight stay bounded. Each body's fd is closed
 * once hashed (on the pool, by the hasher that owns it then), or once the tar is aborted.
 */
import { closeSync } from 'node:fs';

import type { Digest } from '../digest/digest.js';
import { PoolDigester } from '../digest/pool.js';
import { CairnError } from '../errors.js';
import { encodeHeader, type TarHeader, type TarTap, type TarWriteHeader, type TarWriterOptions } from '../tar/index.js';
import type { InPlaceRun } from './tarsplit.js';

/** Entries waiting for the pump before `add` makes its caller wait. */
const MAX_PENDING = 64;
/** Bytes of bodies waiting for the pump before `add` makes its caller wait. */
const MAX_PENDING_BYTES = 64 << 20;

const BLOCK = 512;
const ZEROS = Buffer.alloc(2 * BLOCK);

/** Where a recorded tar is told of: a tar-split recorder's tap, and its way of taking runs of entries whose bodies are in place. */
export interface RecordedTarSink {
  readonly tap: TarTap;
  inPlace(run: InPlaceRun): void | Promise<void>;
}

/** One entry, its body's file (an open fd, read from offset 0) once it is ready. */
interface EntryItem {
  kind: 'entry';
  blocks: Buffer;
  header: TarHeader;
  size: number;
  body: Promise<number> | undefined;
}

/** A run of plain files: `run.raw` holds all but their bodies; `files`, their fds in order, once made. */
interface RunItem {
  kind: 'run';
  run: InPlaceRun;
  size: number;
  files: Promise<Int32Array> | undefined;
}

type Item = EntryItem | RunItem;

const NO_PAX: Map<string, Buffer> = new Map();

/**
 * What the tar reader would give a tap for these header blocks, in the fields a tap reads
 * (the name as exact bytes, the type, the size; the link, ids, mode, time and attributes as
 * written; no PAX records). A tap never changes it: the empty maps are shared.
 */
function tapHeader(h: TarWriteHeader, size: number): TarHeader {
  const pathRecord = h.pax?.get('path');
  const linkRecord = h.pax?.get('linkpath');
  const mtime = typeof h.mtime === 'number' ? { sec: h.mtime, nsec: 0 } : (h.mtime ?? { sec: 0, nsec: 0 });
  const header: TarHeader = {
    name: h.name,
    type: h.type ?? 'file',
    mode: (h.mode ?? 0) & 0o7777,
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    uname: h.uname ?? '',
    gname: h.gname ?? '',
    size,
    mtime,
    linkname: h.linkname ?? '',
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
    xattrs: h.xattrs === undefined ? NO_PAX : new Map([...h.xattrs].map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)])),
    pax: NO_PAX,
  };
  // the exact bytes where the text is not them (a name that is not UTF-8: a PAX record)
  if (pathRecord !== undefined) header.nameBytes = Buffer.from(pathRecord);
  if (linkRecord !== undefined) header.linknameBytes = Buffer.from(linkRecord);
  return header;
}

function closeAll(fds: Int32Array): void {
  for (const fd of fds) closeSync(fd);
}

export class RecordedTar {
  private readonly hasher = new PoolDigester('sha256');
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  /** The pump's run, while it runs (it stops when the queue is empty; `add` starts it again). */
  private pumping: Promise<void> | null = null;
  /** Told when the pump took an item (room for `add`). */
  private wake: (() => void) | null = null;
  private failure: unknown;
  private finished = false;

  private readonly tap: TarTap;

  constructor(
    private readonly sink: RecordedTarSink,
    private readonly opts: Pick<TarWriterOptions, 'clampMtime' | 'paxNanoseconds'> = {},
  ) {
    this.tap = sink.tap;
  }

  /**
   * Add entry `header` (encoded as the tar writer encodes it). A regular file with data
   * comes with `body`: its file, an open fd resolving once the file holds its `size` bytes,
   * read from offset 0 and closed here — also when this throws (the tar failed already).
   * Resolves when there is room for the next entry.
   */
  async add(header: TarWriteHeader, body?: Promise<number>): Promise<void> {
    // a body that fails is the pump's to report, in its turn
    body?.catch(() => undefined);
    let item: EntryItem;
    try {
      if (this.failure !== undefined) throw this.failure;
      if (this.finished) throw new CairnError('internal', 'recorded tar: add() after finish()');
      const { blocks, size } = encodeHeader(header, this.opts);
      if ((size > 0) !== (body !== undefined)) {
        throw new CairnError('internal', `recorded tar: ${JSON.stringify(header.name)} of ${size} bytes ${size > 0 ? 'has no body' : 'has a body'}`);
      }
      item = { kind: 'entry', blocks, header: tapHeader(header, size), size, body };
    } catch (e) {
      // refused: the body's file is still this tar's to close, once it is ready
      body?.then(closeSync, () => undefined);
      throw e;
    }
    return this.queued(item);
  }

  /**
   * Add a run of plain regular files (see {@link InPlaceRun}), their header blocks and padding
   * in `run.raw` (encoded as the tar writer encodes them), their files `files`: one fd each, in
   * order, once made, read from offset 0 and closed here — also when this throws.
   */
  addRun(run: InPlaceRun, files: Promise<Int32Array>): Promise<void> {
    files.catch(() => undefined); // the pump's to report, in its turn
    if (this.failure !== undefined || this.finished) {
      files.then(closeAll, () => undefined);
      throw this.failure ?? new CairnError('internal', 'recorded tar: addRun() after finish()');
    }
    let size = 0;
    for (const n of run.sizes) size += n;
    return this.queued({ kind: 'run', run, size, files });
  }

  /** Queue `item`; resolves when there is room for the next. */
  private async queued(item: Item): Promise<void> {
    this.queue.push(item);
    this.queuedBytes += item.size;
    this.kick();
    while (this.failure === undefined && (this.queue.length > MAX_PENDING || this.queuedBytes > MAX_PENDING_BYTES)) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** End the archive (two zero blocks): the diffID and size of the tar once every entry was hashed. */
  async finish(): Promise<{ diffId: Digest; size: number }> {
    if (this.failure !== undefined) throw this.failure;
    this.finished = true;
    await this.idle();
    if (this.failure !== undefined) throw this.failure;
    await this.raw(ZEROS);
    const diffId = await this.hasher.digest();
    return { diffId, size: this.hasher.size };
  }

  /**
   * Give up (the caller failed): the entries not yet handled are dropped, their files closed
   * once ready, and this waits until nothing is read from any of them any more.
   */
  async abort(reason: unknown): Promise<void> {
    this.failure ??= reason;
    this.wakeUp();
    await this.idle();
    await this.drop();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async raw(b: Buffer): Promise<void> {
    const t = this.tap.raw(b);
    if (t !== undefined) await t;
    const h = this.hasher.update(b);
    if (h !== undefined) await h;
  }

  /** Start the pump unless it runs. */
  private kick(): void {
    if (this.pumping !== null) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      // An entry queued after the pump's last look but before this ran found it still running
      // and did not start another: take it up now (else finish would end the tar without it).
      if (this.queue.length > 0 && this.failure === undefined) this.kick();
    });
  }

  /** Until the pump stopped with nothing left to do (or after a failure). */
  private async idle(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
  }

  /** Handle the queued entries in order until none is left or one fails. */
  private async pump(): Promise<void> {
    await Promise.resolve(); // `kick` has recorded this run before it takes anything
    for (;;) {
      if (this.failure !== undefined) return;
      const item = this.queue.shift();
      if (item === undefined) return;
      this.queuedBytes -= item.size;
      this.wakeUp();
      try {
        await this.handle(item);
      } catch (e) {
        this.failure ??= e;
        this.wakeUp();
        this.queue.unshift(item); // its file, if it was not handed over, is closed by drop()
      }
    }
  }

  /** One entry: header, entry, body (its fd handed to the hasher, which closes it), padding. */
  private async handle(item: Item): Promise<void> {
    if (item.kind === 'run') return this.handleRun(item);
    await this.raw(item.blocks);
    const e = this.tap.entry(item.header);
    if (e !== undefined) await e;
    const body = item.body;
    if (body === undefined) return;
    const fd = await body;
    item.body = undefined; // the fd is this function's now
    try {
      if (this.tap.bodySpan === undefined) throw new CairnError('internal', 'recorded tar: the tap does not take bodies as spans of files');
      const s = this.tap.bodySpan({ fd, offset: 0, length: item.size });
      if (s !== undefined) await s;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.hasher.updateFileAndClose(fd, 0, item.size);
    const pad = (BLOCK - (item.size % BLOCK)) % BLOCK;
    if (pad > 0) await this.raw(ZEROS.subarray(0, pad));
  }

  /** A run: the recorder takes it whole; the hasher, the raw bytes and each file in their order. */
  private async handleRun(item: RunItem): Promise<void> {
    const { run } = item;
    const r = this.sink.inPlace(run);
    if (r !== undefined) await r;
    const fds = await item.files!;
    item.files = undefined; // the fds are this function's now
    let at = 0;
    let next = 0; // the fds before it are handed over (the hasher's, even if that throws) or closed
    try {
      for (let k = 0; k < fds.length; k++) {
        const h = this.hasher.update(run.raw.subarray(at, run.headerEnds[k]));
        if (h !== undefined) await h;
        at = run.headerEnds[k]!;
        next = k + 1;
        if (run.sizes[k]! > 0) this.hasher.updateFileAndClose(fds[k]!, 0, run.sizes[k]!);
        else closeSync(fds[k]!);
      }
    } finally {
      for (let k = next; k < fds.length; k++) closeSync(fds[k]!);
    }
    if (at < run.raw.length) {
      const h = this.hasher.update(run.raw.subarray(at));
      if (h !== undefined) await h;
    }
  }

  /** After a failure: close the files of the entries left, once ready; wait for the hasher to stop reading. */
  private async drop(): Promise<void> {
    const left = this.queue.splice(0);
    this.queuedBytes = 0;
    await Promise.allSettled(left.map((i) => (i.kind === 'entry' ? i.body?.then(closeSync) : i.files?.then(closeAll))));
    // The digest settles once nothing is in flight (its spans' fds are closed by then); its
    // own failure, if any, is the one already being reported or a consequence of it.
    await this.hasher.digest().then(
      () => undefined,
      () => undefined,
    );
  }
}
