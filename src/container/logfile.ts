/**
 * A container's log as conmon writes it, read back for `logs`: this module owns the k8s-file
 * format (CRI's: one record per line, `TIME STREAM TAG MESSAGE`, TIME RFC 3339 with
 * nanoseconds and the writer's zone offset, STREAM `stdout` or `stderr`, TAG `F` for a record
 * that ends a line — its newline not written — or `P` for a piece of a longer one), reading it
 * as lines (`readLog`: pieces joined per stream, `--tail` read from the file's end,
 * `--since`/`--until`, `--follow` until the container stopped) and printing lines as
 * `docker logs` does (`writeLogLines`, `-t`).
 *
 * Memory is bounded: the file is read in 64 KiB chunks (backwards for the tail), a record may
 * not exceed 1 MiB, and a line joined from pieces is handed out in parts of at most
 * `maxLineBytes` (default 1 MiB) marked `partial`.
 *
 * conmon with `--log-size-max` starts the file again, empty, through a rename: a follower sees
 * another inode (or a shorter file) and reads the new file from its start. The file stays when
 * the container exits; whoever removes the container removes it.
 */
import { once } from 'node:events';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataCorruptError, errnoCode } from '../errors.js';
import { formatLogTime, parseRfc3339Nano } from './logtime.js';

export type LogStream = 'stdout' | 'stderr';

/** One record of a k8s-file log. */
export interface LogRecord {
  /** Nanoseconds since the epoch. */
  unixNano: bigint;
  stream: LogStream;
  /** `P`: a piece of a line that goes on in the next record of this stream. */
  partial: boolean;
  /** The text, without the record's newline. */
  message: Buffer;
}

/** A line of the container's output (pieces joined). */
export interface LogLine {
  /** When it was written (its first piece), as Docker prints it: UTC, nine fraction digits. */
  time: string;
  /** The same, in nanoseconds since the epoch. */
  unixNano: bigint;
  /** The same as a Date (milliseconds). */
  date: Date;
  stream: LogStream;
  /** Its bytes, without the newline. */
  line: Buffer;
  /** No newline ended it: the log ends inside it, or it is a part of a line longer than `maxLineBytes`. */
  partial: boolean;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;
const MAX_RECORD = 1024 * 1024;
const HEAD = 64;

/** One record (a line of the file without its newline), or undefined when it is not in k8s-file format. */
export function parseLogRecord(record: Buffer): LogRecord | undefined {
  const s1 = record.indexOf(SPACE);
  if (s1 < 0) return undefined;
  const s2 = record.indexOf(SPACE, s1 + 1);
  if (s2 < 0) return undefined;
  const tag = record[s2 + 1];
  if ((tag !== 0x46 && tag !== 0x50) || (record.length > s2 + 2 && record[s2 + 2] !== SPACE)) return undefined; // F, P
  const unixNano = parseRfc3339Nano(record.subarray(0, s1).toString('latin1'));
  if (unixNano === undefined) return undefined;
  const streamText = record.subarray(s1 + 1, s2).toString('latin1');
  if (streamText !== 'stdout' && streamText !== 'stderr') return undefined;
  return { unixNano, stream: streamText, partial: tag === 0x50, message: record.subarray(Math.min(record.length, s2 + 3)) };
}

/** Just the stream and tag of a record, from its first bytes (for reading backwards). */
function recordHead(head: Buffer): { stream: LogStream; partial: boolean } | undefined {
  const s1 = head.indexOf(SPACE);
  const s2 = s1 < 0 ? -1 : head.indexOf(SPACE, s1 + 1);
  if (s2 < 0 || s2 + 1 >= head.length) return undefined;
  const stream = head.subarray(s1 + 1, s2).toString('latin1');
  const tag = head[s2 + 1];
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 0x46 && tag !== 0x50)) return undefined;
  return { stream, partial: tag === 0x50 };
}

export interface ReadLogOptions {
  /** The last N lines only (`--tail`); undefined or negative: all. */
  tail?: number;
  /** Lines written at or after this time (ns since the epoch; logtime.ts parseLogTime). */
  since?: bigint;
  /** Lines written at or before this time; reading stops at the first later one (with `follow`, also once the clock passes it). */
  until?: bigint;
  /** Keep reading as the file grows (`--follow`), until `stopped` says the container stopped; then what remains is read and the iteration ends. */
  follow?: boolean;
  /** Whether the container stopped (and its output is all in the file: conmon writes its exit file after syncing the log). Asked whenever the reader is at the end of the file. */
  stopped?: () => boolean | Promise<boolean>;
  /** How often a follower looks for more (default 100 ms). */
  pollMs?: number;
  /** Ends the iteration (a follower's Ctrl-C). */
  signal?: AbortSignal;
  /** A line longer than this is handed out in parts (default 1 MiB). */
  maxLineBytes?: number;
}

/** A record found while reading backwards: where it starts and ends (after its newline). */
interface Located {
  start: number;
  end: number;
  stream: LogStream;
  partial: boolean;
}

/** Records of the file backwards from `end` (the end of its last complete record). */
async function* recordsBackwards(fh: FileHandle, end: number, file: string): AsyncGenerator<Located> {
  const buf = Buffer.allocUnsafe(CHUNK);
  const head = Buffer.allocUnsafe(HEAD);
  let recordEnd = end;
  let pos = end;
  const locate = async (start: number): Promise<Located> => {
    const { bytesRead } = await fh.read(head, 0, Math.min(HEAD, recordEnd - start), start);
    const h = recordHead(head.subarray(0, bytesRead));
    if (h === undefined) throw new DataCorruptError(`log file ${file}: the record at byte ${start} is not in k8s-file format`);
    return { start, end: recordEnd, ...h };
  };
  while (pos > 0) {
    const from = Math.max(0, pos - CHUNK);
    const { bytesRead } = await fh.read(buf, 0, pos - from, from);
    let i = bytesRead;
    while (i > 0) {
      const nl = buf.lastIndexOf(NEWLINE, i - 1);
      if (nl < 0) break;
      i = nl;
      const start = from + nl + 1;
      if (start === recordEnd) continue; // the newline that ends the current record
      if (recordEnd - start > MAX_RECORD) throw new DataCorruptError(`log file ${file}: a record longer than ${MAX_RECORD} bytes at byte ${start}`);
      yield await locate(start);
      recordEnd = start;
    }
    pos = from;
  }
  if (recordEnd > 0) yield await locate(0);
}

/** The end of the last complete record (just after the last newline), or 0. */
async function completeEnd(fh: FileHandle, size: number): Promise<number> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = size;
  while (pos > 0) {
    const from = Math.max(0, pos - CHUNK);
    const { bytesRead } = await fh.read(buf, 0, pos - from, from);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(NEWLINE);
    if (nl >= 0) return from + nl + 1;
    if (size - from > MAX_RECORD) return from;
    pos = from;
  }
  return 0;
}

/**
 * Where to start reading for the last `n` lines: `skipTo` is the end of the record that ends
 * line n+1 from the end (lines ended at or before it are not shown), `start` is where the
 * pieces of the lines after it begin (a line's first pieces may come before `skipTo` when the
 * other stream's records are interleaved). Reads backwards only as far as needed.
 */
async function tailStart(fh: FileHandle, end: number, n: number, file: string): Promise<{ start: number; skipTo: number }> {
  let lines = 0;
  let skipTo: number | undefined;
  const shown = new Set<LogStream>();
  // After skipTo is found: the streams whose line after it may have begun before it.
  const open = new Set<LogStream>();
  let start = 0;
  for await (const r of recordsBackwards(fh, end, file)) {
    if (skipTo === undefined) {
      if (!r.partial && ++lines === n + 1) {
        skipTo = r.end;
        start = r.end;
        for (const s of shown) open.add(s);
        // This record is the last of its stream before skipTo: a full line, nothing of that stream's next line is before it.
        open.delete(r.stream);
        if (open.size === 0) break;
        continue;
      }
      shown.add(r.stream);
      continue;
    }
    if (!open.has(r.stream)) continue;
    // A piece of this stream before skipTo belongs to its line after skipTo: start there. Its
    // line's end before that (or no record of it at all) means the line began after skipTo.
    if (r.partial) start = Math.min(start, r.start);
    else open.delete(r.stream);
    if (open.size === 0) break;
  }
  if (skipTo === undefined) return { start: 0, skipTo: 0 };
  return { start, skipTo };
}

/** A piece-by-piece line being joined. */
interface Pending {
  unixNano: bigint;
  /** The end of its first record: before the tail's start, the line is not shown. */
  firstEnd: number;
  parts: Buffer[];
  size: number;
}

function toLine(unixNano: bigint, stream: LogStream, line: Buffer, partial: boolean): LogLine {
  return { time: formatLogTime(unixNano), unixNano, date: new Date(Number(unixNano / 1_000_000n)), stream, line, partial };
}

/** The file's identity, to notice conmon starting it again (`--log-size-max`). */
async function identity(path: string): Promise<{ ino: number; size: number } | undefined> {
  try {
    const s = await stat(path);
    return { ino: s.ino, size: s.size };
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The lines of the k8s-file log at `path`, in the order their last pieces were written (the
 * streams' records interleave as the container wrote them). A missing file is an empty log
 * (a container that has not started, or `--log-driver none`) unless following, which waits for it.
 */
export async function* readLog(path: string, opts: ReadLogOptions = {}): AsyncGenerator<LogLine> {
  const maxLine = opts.maxLineBytes ?? 1024 * 1024;
  const pollMs = opts.pollMs ?? 100;
  const pending = new Map<LogStream, Pending>();
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = 0;
  let skipTo = 0;
  /** Without --follow: the log as it was when read began (its size then); lines written since are not shown. */
  let limit = Number.POSITIVE_INFINITY;
  let carry: Buffer | undefined;
  const buf = Buffer.allocUnsafe(CHUNK);

  const openFile = async (): Promise<boolean> => {
    try {
      fh = await open(path, 'r');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false;
      throw e;
    }
    ino = (await fh.stat()).ino;
    return true;
  };

  /** What one record adds: lines to hand out, in order. */
  const take = (rec: LogRecord, recEnd: number, out: LogLine[]): void => {
    let p = pending.get(rec.stream);
    if (p === undefined && rec.partial) {
      p = { unixNano: rec.unixNano, firstEnd: recEnd, parts: [], size: 0 };
      pending.set(rec.stream, p);
    }
    if (p === undefined) {
      if (recEnd > skipTo) out.push(toLine(rec.unixNano, rec.stream, Buffer.from(rec.message), false));
      return;
    }
    p.parts.push(Buffer.from(rec.message));
    p.size += rec.message.length;
    if (!rec.partial) {
      pending.delete(rec.stream);
      if (recEnd > skipTo) out.push(toLine(p.unixNano, rec.stream, Buffer.concat(p.parts, p.size), false));
    } else if (p.size >= maxLine) {
      // A line too long to hold: hand out what there is, the rest follows as further parts.
      pending.delete(rec.stream);
      if (recEnd > skipTo) out.push(toLine(p.unixNano, rec.stream, Buffer.concat(p.parts, p.size), true));
    }
  };

  /** Whether the last readMore reached the end of what the file holds (or of `limit`). */
  let drained = false;
  /** Read what the file holds past `pos`; the lines it completes (a batch: at most a few hundred). */
  const readMore = async (): Promise<LogLine[]> => {
    const out: LogLine[] = [];
    drained = false;
    while (true) {
      const want = Math.min(CHUNK, limit - pos);
      const bytesRead = want <= 0 ? 0 : (await fh!.read(buf, 0, want, pos)).bytesRead;
      if (bytesRead === 0) {
        drained = true;
        return out;
      }
      let data = buf.subarray(0, bytesRead);
      let base = pos;
      if (carry !== undefined) {
        base -= carry.length;
        data = Buffer.concat([carry, data]);
        carry = undefined;
      }
      pos += bytesRead;
      let at = 0;
      while (true) {
        const nl = data.indexOf(NEWLINE, at);
        if (nl < 0) break;
        const record = data.subarray(at, nl);
        const rec = parseLogRecord(record);
        if (rec === undefined) throw new DataCorruptError(`log file ${path}: the record at byte ${base + at} is not in k8s-file format`);
        take(rec, base + nl + 1, out);
        at = nl + 1;
      }
      if (at < data.length) {
        if (data.length - at > MAX_RECORD) throw new DataCorruptError(`log file ${path}: a record longer than ${MAX_RECORD} bytes at byte ${base + at}`);
        carry = Buffer.from(data.subarray(at));
      }
      if (out.length >= 256) return out;
    }
  };

  /** Lines still being joined when the log ends, as partial lines (oldest first). */
  const flushPending = (): LogLine[] => {
    const out = [...pending.entries()]
      .filter(([, p]) => p.firstEnd > skipTo)
      .sort(([, a], [, b]) => (a.unixNano < b.unixNano ? -1 : a.unixNano > b.unixNano ? 1 : 0))
      .map(([stream, p]) => toLine(p.unixNano, stream, Buffer.concat(p.parts, p.size), true));
    pending.clear();
    return out;
  };

  const filter = (line: LogLine): 'show' | 'skip' | 'stop' => {
    if (opts.until !== undefined && line.unixNano > opts.until) return 'stop';
    if (opts.since !== undefined && line.unixNano < opts.since) return 'skip';
    return 'show';
  };

  const aborted = () => opts.signal?.aborted === true;
  const untilPassed = () => opts.until !== undefined && BigInt(Date.now()) * 1_000_000n > opts.until;

  try {
    if (!(await openFile())) {
      if (!opts.follow) return;
      while (!(await openFile())) {
        if (aborted() || untilPassed() || (await opts.stopped?.()) === true) return;
        await pause(pollMs, opts.signal);
      }
    }
    // Docker reads a log without --follow as it is at that moment: `--tail N` gives N lines
    // even while the container writes more (those were read too, one or more lines over).
    const size = (await fh!.stat()).size;
    if (!opts.follow) limit = size;
    if (opts.tail !== undefined && opts.tail >= 0) {
      const end = await completeEnd(fh!, size);
      const t = await tailStart(fh!, end, opts.tail, path);
      pos = t.start;
      skipTo = t.skipTo;
      if (!opts.follow) limit = end;
    }
    let stopping = false;
    while (true) {
      for (const line of await readMore()) {
        const f = filter(line);
        if (f === 'stop') return;
        if (f === 'show') yield line;
        if (aborted()) return;
      }
      if (!drained) continue; // a batch: the file holds more
      // At the end of what the file holds.
      if (!opts.follow || stopping || aborted()) break;
      if (untilPassed()) return;
      const now = await identity(path);
      if (now !== undefined && (now.ino !== ino || now.size < pos)) {
        // conmon started the file again: read the new one from its start.
        await fh!.close();
        fh = undefined;
        carry = undefined;
        pos = 0;
        skipTo = 0;
        while (!(await openFile())) {
          if (aborted() || (await opts.stopped?.()) === true) return;
          await pause(pollMs, opts.signal);
        }
        continue;
      }
      if ((await opts.stopped?.()) === true) {
        stopping = true; // read what arrived before it stopped, then end
        continue;
      }
      await pause(pollMs, opts.signal);
    }
    for (const line of flushPending()) {
      const f = filter(line);
      if (f === 'stop') return;
      if (f === 'show') yield line;
    }
  } finally {
    await fh?.close();
  }
}

/** Wait `ms`, or less when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  if (signal.aborted) return;
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await sleep(ms, undefined, { signal: ac.signal });
  } catch (e) {
    if (!(e instanceof Error && e.name === 'AbortError')) throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export interface WriteLogOptions {
  /** `--details`: each line after its attributes (none) and a space, as Docker prints it. */
  details?: boolean;
  /** `-t`: each line starts with its time as Docker prints it. */
  timestamps?: boolean;
}

/** Write `lines` as `docker logs` prints them: stdout's to `stdout`, stderr's to `stderr`, a newline after each whole line. */
export async function writeLogLines(lines: AsyncIterable<LogLine>, out: { stdout: Writable; stderr: Writable }, opts: WriteLogOptions = {}): Promise<void> {
  for await (const l of lines) {
    const w = l.stream === 'stderr' ? out.stderr : out.stdout;
    const parts: Buffer[] = [];
    if (opts.timestamps) parts.push(Buffer.from(`${l.time} `));
    // --details: the line's attributes (cairn's log driver records none) and a space, as Docker's daemon writes them
    if (opts.details) parts.push(Buffer.from(' '));
    parts.push(l.line);
    if (!l.partial) parts.push(Buffer.from('\n'));
    if (!w.write(Buffer.concat(parts))) await drained(w);
  }
}

async function drained(w: Writable): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([once(w, 'drain', { signal: ac.signal }), once(w, 'error', { signal: ac.signal }).then(([e]: unknown[]) => Promise.reject(e))]);
  } finally {
    ac.abort();
  }
}
