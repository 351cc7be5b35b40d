/**
 * Streaming (de)compression for layers: `decompressStream` peeks the magic number and
 * returns a Readable of decompressed bytes (gzip incl. multi-member through the addon's ISA-L, zstd via
 * zstd-napi, or pass-through), with an optional byte limit against decompression bombs;
 * `compressStream` returns a compressing Transform. Corrupt or truncated compressed data
 * becomes a one-line DataCorruptError; errors of the source itself pass through unchanged.
 *
 * Determinism: gzip output has header mtime 0 and no file name (node:zlib's defaults), so a
 * given zlib or ISA-L build and level always produce the same bytes (ISA-L picks its code by
 * the CPU's features, so another CPU generation may deflate differently: a layer pushed twice
 * from two machines can differ in its compressed digest, never in its diffID).
 */
import { PassThrough, Readable, type Transform } from 'node:stream';
import { constants as zc, createGzip, deflateRaw, deflateRawSync } from 'node:zlib';
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

/** Output of a gunzip run: a fresh buffer of this size once what is left of the last is small. */
const GUNZIP_OUT = 1 << 20;
const GUNZIP_OUT_MIN = 64 << 10;

/**
 * gunzip through the addon (ISA-L's igzip, ~4x node:zlib's inflate here): each run on the pool
 * inflates what arrived into up to 1 MiB of output. Members one after another are one stream and
 * zero padding after the last is ignored, as node:zlib does.
 */
async function* gunzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer, void, undefined> {
  const { gunzipNew, gunzipRun } = await import('../native/index.js');
  const handle = gunzipNew();
  let out = Buffer.allocUnsafe(GUNZIP_OUT);
  let phase = 0;
  let total = 0;
  // inflate `rest` until it is used up and the state holds no more output
  async function* run(chunk: Buffer): AsyncGenerator<Buffer, void, undefined> {
    let rest = chunk;
    for (;;) {
      let made: number;
      let used: number;
      try {
        [used, made, phase] = await gunzipRun(handle, rest, out);
        rest = rest.subarray(used);
      } catch (e) {
        if (isZlibError(e)) throw new CompressedDataError(`gzip: corrupt data: ${(e as Error).message} after ${total} decompressed bytes`, { cause: e });
        throw e;
      }
      const full = made === out.length;
      if (made > 0) {
        total += made;
        const b = out.subarray(0, made);
        out = out.length - made >= GUNZIP_OUT_MIN ? out.subarray(made) : Buffer.allocUnsafe(GUNZIP_OUT);
        yield b;
      }
      if (!full && rest.length === 0) return;
      if (used === 0 && made === 0) throw new CompressedDataError(`gzip: corrupt data: no progress after ${total} decompressed bytes`);
    }
  }
  for await (const chunk of input) if (chunk.length > 0) yield* run(chunk);
  yield* run(Buffer.alloc(0));
  if (phase === 0) throw new CompressedDataError(`gzip: truncated data (unexpected end of file) after ${total} decompressed bytes`);
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

/** Input compressed as one piece (pigz's block); pieces are deflated on the pool at once. */
const PIECE = 1 << 20;
/** Pieces in flight per stream. */
const PIECES_IN_FLIGHT = 3;
/** The end of the previous piece given to the next as its dictionary (deflate's window). */
const DICTIONARY = 32 << 10;
/** A sample whose deflate output is at least this fraction of it is taken as incompressible (as gzip.c tells for levels 1-3). */
const INCOMPRESSIBLE = 0.97;
/** Bytes of a piece test-compressed to tell. */
const SAMPLE = 32 << 10;

/** Levels deflated by the addon (ISA-L's igzip); above, by node:zlib. */
const FAST_LEVELS = 3;
/**
 * The gzip level of layers compressed for a push or a cache export when none is asked for:
 * ISA-L's best, ~5x faster than zlib's 6 with output ~7% larger (a Debian root: 53.5 MB
 * against 50.2). `--compression-level 6` gives zlib's ratio.
 */
export const DEFAULT_GZIP_LEVEL = 3;

export interface GzipPiecesOptions {
  /**
   * The consumer is done with each chunk before it asks for the next (it copies it, as an
   * upload's pieces do): the output buffers are then filled again, not made anew.
   */
  reuse?: boolean;
}

/**
 * gzip of a stream, made the way pigz makes it: the input is cut into 1 MiB pieces, each
 * deflated on libuv's pool (several at once, so a layer's compression uses every core), primed
 * with the last 32 KiB of the piece before as its dictionary (so the ratio is deflate's own) and
 * ended with a sync flush, the last one finished; the pieces joined make one raw deflate stream,
 * framed as one ordinary gzip member (header, the CRC-32 of the input, its length). Levels 1-3
 * are ISA-L's igzip (~10x zlib's speed, output ~8% larger than zlib's level 6 on a Debian
 * root), 4-9 node:zlib's; 0 stores every piece. A piece whose sample does not compress (random
 * data, compressed files) is stored rather than deflated: the same size deflate would give it,
 * ~10x faster. Any gunzip reads the result; the same input and level always give the same
 * bytes. Read lazily: the source is pulled as the output is consumed, at most PIECES_IN_FLIGHT
 * pieces ahead.
 */
export async function* gzipPieces(src: AsyncIterable<Uint8Array>, level = DEFAULT_GZIP_LEVEL, opts: GzipPiecesOptions = {}): AsyncGenerator<Buffer> {
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new InvalidArgumentError(`gzip level must be 0..9, got ${level}`);
  const { crc32Chunk, crc32Combine, deflateBound, deflatePiece } = await import('../native/index.js');
  // header: magic, deflate, no flags, mtime 0, no extra flags, OS unix (as Node's zlib writes it)
  yield Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  let crc = 0;
  let total = 0;
  let prevTail: Buffer | undefined;
  // Buffers filled again rather than made anew (a push gzips hundreds of megabytes: garbage
  // awaiting V8's collection would be most of its memory): an input piece is free once the
  // piece after it, which reads its end as a dictionary, is done; an output once the consumer
  // asks for the next chunk (opts.reuse).
  const freeIn: Buffer[] = [];
  const freeOut: Buffer[] = [];
  const bound = deflateBound(PIECE);
  interface Job {
    done: Promise<{ out: Buffer; crc: number; len: number }>;
    input: Buffer | undefined;
  }
  const inFlight: Job[] = [];
  let heldIn: Buffer | undefined;
  const start = (piece: Buffer, input: Buffer | undefined, last: boolean): void => {
    const dict = prevTail;
    prevTail = piece.length >= DICTIONARY ? piece.subarray(piece.length - DICTIONARY) : Buffer.concat([prevTail ?? Buffer.alloc(0), piece]).subarray(-DICTIONARY);
    let deflated: Promise<Buffer>;
    const native = (lvl: number, d: Buffer | null): Promise<Buffer> => {
      const out = (opts.reuse ? freeOut.pop() : undefined) ?? Buffer.allocUnsafe(Math.max(bound, deflateBound(piece.length)));
      return deflatePiece(piece, d, lvl, last, out).then((n) => out.subarray(0, n));
    };
    // levels 0-3 by the addon, which stores a piece that does not compress on the pool itself
    if (level <= FAST_LEVELS) deflated = native(level, dict ?? null);
    else {
      const sample = piece.subarray(0, SAMPLE);
      if (sample.length >= 4096 && deflateRawSync(sample, { level: 1 }).length >= sample.length * INCOMPRESSIBLE) deflated = native(0, null);
      else {
        // one pool round trip for the piece (zlib's 16 KiB output chunks would make 64)
        const zopts = { level, chunkSize: piece.length + (piece.length >> 3) + 1024, finishFlush: last ? zc.Z_FINISH : zc.Z_SYNC_FLUSH, ...(dict ? { dictionary: dict } : {}) };
        deflated = new Promise<Buffer>((resolve, reject) => deflateRaw(piece, zopts, (e, out) => (e ? reject(e) : resolve(out))));
      }
    }
    inFlight.push({ done: Promise.all([deflated, crc32Chunk(piece)]).then(([out, c]) => ({ out, crc: c, len: piece.length })), input });
  };
  const settle = async (): Promise<Buffer> => {
    const job = inFlight.shift()!;
    const r = await job.done;
    // the piece before this one is read by no job now
    if (heldIn !== undefined) freeIn.push(heldIn);
    heldIn = job.input;
    crc = crc32Combine(crc, r.crc, r.len);
    total += r.len;
    return r.out;
  };
  // hand a chunk out; once the consumer asks for the next, its buffer may be filled again
  async function* give(out: Buffer): AsyncGenerator<Buffer> {
    yield out;
    if (opts.reuse && out.buffer.byteLength >= bound && out.byteOffset === 0) freeOut.push(Buffer.from(out.buffer, 0, out.buffer.byteLength));
  }
  try {
    // every piece goes as it fills, not final; a last, empty piece ends the deflate stream
    let piece: Buffer | undefined;
    let bytes = 0;
    for await (const chunk of src) {
      let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      while (c.length > 0) {
        piece ??= freeIn.pop() ?? Buffer.allocUnsafe(PIECE);
        const take = Math.min(c.length, PIECE - bytes);
        c.copy(piece, bytes, 0, take);
        bytes += take;
        c = c.subarray(take);
        if (bytes === PIECE) {
          if (inFlight.length >= PIECES_IN_FLIGHT) yield* give(await settle());
          start(piece, piece, false);
          piece = undefined;
          bytes = 0;
        }
      }
    }
    if (bytes > 0) {
      if (inFlight.length >= PIECES_IN_FLIGHT) yield* give(await settle());
      start(piece!.subarray(0, bytes), piece, false);
    }
    start(Buffer.alloc(0), undefined, true);
    while (inFlight.length > 0) yield* give(await settle());
  } finally {
    // a consumer that stops early leaves pieces on the pool: let them end unobserved
    for (const j of inFlight) j.done.catch(() => undefined);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total >>> 0, 4);
  yield trailer;
}
