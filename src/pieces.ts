/**
 * A byte stream cut into pieces of a fixed size: each piece exactly `size` bytes but the last,
 * which is shorter and never empty (an empty stream gives none). For work done a piece at a
 * time — deflating pieces on the pool (compression/gzipPieces), uploading them as PATCHes that
 * can be resent (registry/client.ts). Chunks are copied once, into their piece.
 */
export interface PiecesOptions {
  /**
   * Fill one buffer again for every piece (allocated once, `size` bytes): the consumer must be
   * done with a piece before it asks for the next (an upload that sends each piece and waits
   * for the answer). Without, every piece is a buffer of its own.
   */
  reuse?: boolean;
}

export async function* pieces(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number, opts: PiecesOptions = {}): AsyncGenerator<Buffer> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`piece size must be a positive integer, got ${size}`);
  let piece: Buffer | undefined;
  let bytes = 0;
  for await (const chunk of src) {
    let c = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (c.length > 0) {
      piece ??= Buffer.allocUnsafe(size);
      const take = Math.min(c.length, size - bytes);
      c.copy(piece, bytes, 0, take);
      bytes += take;
      c = c.subarray(take);
      if (bytes === size) {
        const full = piece;
        if (!opts.reuse) piece = undefined;
        bytes = 0;
        yield full;
      }
    }
  }
  if (bytes > 0) yield piece!.subarray(0, bytes);
}
