/**
 * Where a source's bytes come from: a stream read once (a pipe, stdin), or a file on disk,
 * which is streamed the same way but can also be read again in part. A sink that can re-read
 * the bytes of a layer need not keep a copy of them while they stream past (see BlobHint's
 * `reread`): the copy is made only in the rare case it turns out to be needed.
 */
import { closeSync, constants as fsc, createReadStream, fstatSync, openSync, type BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DataCorruptError } from '../errors.js';
import { FileSpanBytes } from '../tar/index.js';

/** A regular file on disk, as bytes (see {@link pathOrigin} for any path). */
export interface FileBytes {
  readonly file: string;
}

export type ByteOrigin = AsyncIterable<Uint8Array> | FileBytes;

/** Read size for files: large reads, few round trips to the thread pool. */
const READ_CHUNK = 1 << 20;

export function isFileBytes(o: ByteOrigin): o is FileBytes {
  return typeof (o as Partial<FileBytes>).file === 'string';
}

/**
 * The origin of the bytes at `path`: a regular file as `{ file }` (it can be read again in
 * part), anything else (a FIFO, a character device such as /dev/stdin) as a stream read once.
 */
export async function pathOrigin(path: string): Promise<ByteOrigin> {
  const st = await stat(path);
  return st.isFile() ? { file: path } : createReadStream(path, { highWaterMark: READ_CHUNK });
}

/** The bytes as one stream. */
export function streamOf(o: ByteOrigin): AsyncIterable<Uint8Array> {
  return isFileBytes(o) ? createReadStream(o.file, { highWaterMark: READ_CHUNK }) : o;
}

/** `length` bytes of `file` from `start`, read again on demand. */
export function rangeOf(file: string, start: number, length: number): () => AsyncIterable<Uint8Array> {
  return () => (length === 0 ? emptyBytes() : createReadStream(file, { start, end: start + length - 1, highWaterMark: READ_CHUNK }));
}

async function* emptyBytes(): AsyncGenerator<Uint8Array> {}

/**
 * A file origin held open while a source reads it by position: its spans are handed to a sink
 * as {@link FileSpanBytes} (read by position, big bodies never read into JavaScript). Bytes
 * read at different times must be the same bytes, so `checkUnchanged` fails the copy when the
 * file was written meanwhile (its size, change or modification time moved).
 */
export class OpenFile {
  readonly fd: number;
  readonly size: number;
  private readonly st: BigIntStats;

  constructor(readonly path: string) {
    this.fd = openSync(path, fsc.O_RDONLY);
    try {
      this.st = fstatSync(this.fd, { bigint: true });
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.size = Number(this.st.size);
  }

  /** `length` bytes from `offset`; `onRead` hears how far a reader of them has come. */
  span(offset: number, length: number, onRead?: (done: number) => void): FileSpanBytes {
    return new FileSpanBytes(this.fd, offset, length, onRead);
  }

  /** Throws when the file changed since it was opened. */
  checkUnchanged(what: string): void {
    const now = fstatSync(this.fd, { bigint: true });
    if (now.size !== this.st.size || now.mtimeNs !== this.st.mtimeNs || now.ctimeNs !== this.st.ctimeNs) {
      throw new DataCorruptError(`${what}: the file changed while it was read`);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
