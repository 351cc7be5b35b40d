/**
 * A byte stream cut into pieces of a fixed size: each piece exactly `size` bytes but the last,
 * which is shorter and never empty (an empty stream gives none). For work done a piece at a
 * time — deflating pieces on the pool (compression/gzipPieces), uploading them as PATCHes that
 * can be resent (registry/client.ts). Chunks are copied once, into their piece.
 */
export async function* pieces(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`piece size must be a positive integer, got ${size}`);
  let parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of src) {
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (c.length > 0) {
      const take = Math.min(c.length, size - bytes);
      parts.push(c.subarray(0, take));
      bytes += take;
      c = c.subarray(take);
      if (bytes === size) {
        yield Buffer.concat(parts, bytes);
        parts = [];
        bytes = 0;
      }
    }
  }
  if (bytes > 0) yield Buffer.concat(parts, bytes);
}
