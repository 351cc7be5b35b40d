/**
 * Streaming (de)compression for layers: `decompressStream` peeks the magic number and
 * returns a Readable of decompressed bytes (gzip incl. multi-member via node:zlib, zstd via
 * zstd-napi, or pass-through), with an optional byte limit against decompression bombs;
 * `compressStream` returns a compressing Transform. Corrupt or truncated compressed data
 * becomes a one-line DataCorruptError; errors of the source itself pass through unchanged.
 *
 * Determinism: gzip output has header mtime 0 and no file name (node:zlib's defaults), so a
 * given zlib build and level always produce the same bytes.
 */
import { PassThrough, Readable, pipeline, type Transform } from 'node:stream';
import { constants as zc, createGunzip, createGzip } from 'node:zlib';
import { DataCorruptError, InvalidArgumentError } from '../errors.js';
import { detectCompression, MAGIC_BYTES, type Compression } from './detect.js';
import { zstdCompressStream, zstdDecompress } from './zstd.js';
import { CompressedDataError } from './errors.js';

export { CompressedDataError } from './errors.js';
import { byteIterator, type ByteInput } from '../tar/source.js';


export interface DecompressOptions {
  /** Maximum decompressed bytes; more is a DataCorruptError "decompression limit of N bytes exceeded". */
  limit?: number;
  /** Require this format (e.g. from the layer's media type); a mismatch is a DataCorruptError. */
  expect?: Compression;
}

/** Live byte counters of one decompression. */
export interface DecompressStats {
  /** Compressed bytes read from the source so far. */
  bytesIn: number;
  /** Decompressed bytes delivered so far. */
  bytesOut: number;
}

export interface DecompressResult {
  compression: Compression;
  stream: Readable;
  stats: DecompressStats;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new InvalidArgumentError(`decompress: source yielded ${typeof chunk}, expected bytes`);
}

/** The peeked chunks followed by the rest of the iterator; closes the iterator if abandoned early. */
async function* resume(head: Buffer[], it: AsyncIterator<unknown>, ended: boolean, stats: DecompressStats): AsyncGenerator<Buffer, void, undefined> {
  let finished = ended;
  try {
    for (const b of head) {
      stats.bytesIn += b.length;
      yield b;
    }
    while (!finished) {
      const r = await it.next();
      if (r.done) {
        finished = true;
        return;
      }
      const b = toBuffer(r.value);
      stats.bytesIn += b.length;
      yield b;
    }
  } finally {
    if (!finished) {
      finished = true;
      await it.return?.();
    }
  }
}

function isZlibError(e: unknown): boolean {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('Z_');
}

async function* gunzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer, void, undefined> {
  // Node's Gunzip decodes concatenated members (multi-member gzip) and honours backpressure within a chunk.
  // 1 MiB output chunks: Node's default 16 KiB made gunzip a round trip to the thread pool
  // per 16 KiB with one chunk in flight (the main thread sat idle ~40% of an unpack).
  const z = createGunzip({ chunkSize: 1 << 20 });
  let inputError: unknown = null;
  const src = Readable.from(input, { objectMode: false });
  src.on('error', (e) => {
    inputError = e;
  });
  pipeline(src, z, () => {
    // errors surface through iteration of `z` below
  });
  let total = 0;
  try {
    for await (const c of z) {
      const b = c as Buffer;
      total += b.length;
      yield b;
    }
  } catch (e) {
    if (inputError !== null && e === inputError) throw e;
    if (isZlibError(e)) {
      const msg = (e as Error).message === 'unexpected end of file' ? 'truncated data (unexpected end of file)' : `corrupt data: ${(e as Error).message}`;
      throw new CompressedDataError(`gzip: ${msg} after ${total} decompressed bytes`, { cause: e });
    }
    throw e;
  } finally {
    if (!z.destroyed) z.destroy();
    if (!src.destroyed) src.destroy();
  }
}

async function* counted(src: AsyncIterable<Buffer>, stats: DecompressStats, limit: number | undefined): AsyncGenerator<Buffer, void, undefined> {
  for await (const c of src) {
    if (limit !== undefined && stats.bytesOut + c.length > limit) {
      throw new CompressedDataError(`decompression limit of ${limit} bytes exceeded`);
    }
    stats.bytesOut += c.length;
    yield c;
  }
}

/**
 * Detect the compression of `source` from its first bytes and decompress it as a stream.
 * The returned Readable must be consumed (or destroyed, which also closes the source).
 */
export async function decompressStream(source: ByteInput, opts: DecompressOptions = {}): Promise<DecompressResult> {
  if (opts.limit !== undefined && (!Number.isSafeInteger(opts.limit) || opts.limit < 0)) {
    throw new InvalidArgumentError(`decompress: invalid limit ${opts.limit}`);
  }
  const it = byteIterator(source);
  const head: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < MAGIC_BYTES) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = toBuffer(r.value);
    if (b.length === 0) continue;
    head.push(b);
    have += b.length;
  }
  const first = head.length === 1 ? head[0]! : Buffer.concat(head);
  const compression = detectCompression(first);
  if (opts.expect !== undefined && opts.expect !== compression) {
    if (!ended) await it.return?.();
    throw new DataCorruptError(`decompress: expected ${opts.expect} data but found ${compression === 'none' ? 'uncompressed data' : compression}`);
  }
  const stats: DecompressStats = { bytesIn: 0, bytesOut: 0 };
  const raw = resume(head, it, ended, stats);
  const decoded = compression === 'gzip' ? gunzip(raw) : compression === 'zstd' ? zstdDecompress(raw) : raw;
  const stream = Readable.from(counted(decoded, stats, opts.limit), { objectMode: false });
  return { compression, stream, stats };
}

/** A Transform compressing with `kind`; `level` defaults to 6 for gzip, 3 for zstd. 'none' passes through. */
export function compressStream(kind: Compression, level?: number): Transform {
  switch (kind) {
    case 'gzip':
      if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 9)) throw new InvalidArgumentError(`gzip level must be 1..9, got ${level}`);
      return createGzip({ level: level ?? zc.Z_DEFAULT_COMPRESSION });
    case 'zstd':
      if (level !== undefined && (!Number.isInteger(level) || level < -7 || level > 22)) throw new InvalidArgumentError(`zstd level must be -7..22, got ${level}`);
      return zstdCompressStream(level ?? 3);
    case 'none':
      return new PassThrough();
    default:
      throw new InvalidArgumentError(`unknown compression ${JSON.stringify(kind as string)}`);
  }
}
