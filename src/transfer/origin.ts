/**
 * Where a source's bytes come from: a stream read once (a pipe, stdin), or a file on disk,
 * which is streamed the same way but can also be read again in part. A sink that can re-read
 * the bytes of a layer need not keep a copy of them while they stream past (see BlobHint's
 * `reread`): the copy is made only in the rare case it turns out to be needed.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

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
