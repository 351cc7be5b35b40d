/**
 * Compression format detection by magic number: gzip (1f 8b), zstd (28 b5 2f fd, or a
 * zstd skippable frame 5? 2a 4d 18), anything else is 'none'.
 */

export type Compression = 'gzip' | 'zstd' | 'none';

export const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd', 'none'];

/** Bytes needed to decide; fewer bytes are fine (a 1-byte input is 'none'). */
export const MAGIC_BYTES = 4;

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4) {
    if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
    if ((head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  }
  return 'none';
}
