/**
 * zstd streaming via zstd-napi. Decompression drives libzstd's ZSTD_decompressStream
 * directly from an async generator, so output is produced only as fast as it is consumed
 * (zstd can expand a few bytes into gigabytes: no burst buffering, the caller's limit
 * applies chunk by chunk). Compression uses zstd-napi's CompressStream (output never
 * outgrows input much) with content checksums on, like the zstd CLI.
 */
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import type bindingModule from 'zstd-napi/binding.js';
import type * as zstdModule from 'zstd-napi';
import { CompressedDataError } from './errors.js';

// zstd-napi's native addon is loaded on first use, not at import: most commands never see a
// zstd layer, and loading it costs ~15-20 ms of every start-up.
const require = createRequire(import.meta.url);
let bindingCache: typeof bindingModule | undefined;
function zstdBinding(): typeof bindingModule {
  return (bindingCache ??= require('zstd-napi/binding.js') as typeof bindingModule);
}

/** Decompress a stream of zstd frames (concatenated frames and skippable frames allowed). */
export async function* zstdDecompress(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer, void, undefined> {
  const binding = zstdBinding();
  const OUT_SIZE = binding.dStreamOutSize();
  const dctx = new binding.DCtx();
  let inFrame = false;
  let total = 0;
  for await (const chunk of input) {
    let src = chunk;
    for (;;) {
      const dst = Buffer.allocUnsafe(OUT_SIZE);
      let ret: number;
      let produced: number;
      let consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst, src);
      } catch (e) {
        throw new CompressedDataError(`zstd: corrupt data after ${total} input bytes: ${(e as Error).message}`, { cause: e });
      }
      total += consumed;
      src = src.subarray(consumed);
      inFrame = ret !== 0;
      if (produced > 0) yield dst.subarray(0, produced);
      // Done with this chunk once the input is used up and nothing is left to flush: either the
      // output was not filled, or the frame ended (ret 0; calling again would start a new frame).
      if (src.length === 0 && (produced < OUT_SIZE || ret === 0)) break;
    }
  }
  if (inFrame) throw new CompressedDataError(`zstd: truncated data: stream ends inside a frame after ${total} input bytes`);
}

/** A zstd compressing Transform (default level 3, checksums on). */
export function zstdCompressStream(level = 3): Transform {
  const { CompressStream } = require('zstd-napi') as typeof zstdModule;
  return new CompressStream({ compressionLevel: level, checksumFlag: true });
}
