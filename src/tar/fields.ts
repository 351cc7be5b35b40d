/**
 * Byte-level encoding of the fixed 512-byte tar header: field offsets, octal and
 * base-256 numbers, NUL-terminated strings and the header checksum. Parsing works
 * directly on the block's bytes (no copies); errors are returned as `null`/messages so
 * the reader can name the entry in its own DataCorruptError.
 */

export const BLOCK = 512;

/** [offset, length] of each ustar header field. */
export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  // GNU format reuses the prefix area:
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
} as const satisfies Record<string, readonly [number, number]>;

export type Field = keyof typeof F;

const utf8 = new TextDecoder('utf-8');

/** Decode a NUL-terminated (or full-width) string field as UTF-8 (invalid sequences become U+FFFD). */
export function readString(block: Uint8Array, off: number, len: number): string {
  let end = block.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  if (end === off) return '';
  return utf8.decode(block.subarray(off, end));
}

/** The bytes of a NUL-terminated field (a view). */
export function fieldBytes(block: Uint8Array, off: number, len: number): Uint8Array {
  let end = block.indexOf(0, off);
  if (end < 0 || end > off + len) end = off + len;
  return block.subarray(off, end);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decode name bytes. Valid UTF-8 gives just the string; otherwise the string has U+FFFD
 * replacements and `raw` keeps the exact bytes (tar names are bytes, not text).
 */
export function decodeName(bytes: Uint8Array): { s: string; raw?: Buffer } {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return { s: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1') };
  try {
    return { s: strictUtf8.decode(bytes) };
  } catch {
    // not UTF-8: fall through to the lossy string plus the exact bytes
    return { s: utf8.decode(bytes), raw: Buffer.from(bytes) };
  }
}

export function readField(block: Uint8Array, f: Field): string {
  const [off, len] = F[f];
  return readString(block, off, len);
}

/**
 * Parse a numeric field: octal digits optionally padded with spaces/NULs on both sides
 * (an all-blank field is 0), or GNU base-256 (first byte has the 0x80 bit; 0xff prefix
 * means negative two's complement). Returns null when the field is not a valid number or
 * does not fit in a safe integer.
 */
export function parseNumeric(block: Uint8Array, off: number, len: number): number | null {
  const first = block[off]!;
  if (first & 0x80) return parseBase256(block, off, len);
  let i = off;
  const end = off + len;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let j = end;
  while (j > i && (block[j - 1] === 0x20 || block[j - 1] === 0)) j--;
  let v = 0;
  for (let k = i; k < j; k++) {
    const c = block[k]! - 0x30;
    if (c < 0 || c > 7) return null;
    v = v * 8 + c;
  }
  if (v > Number.MAX_SAFE_INTEGER) return null;
  return v;
}

function parseBase256(block: Uint8Array, off: number, len: number): number | null {
  // Two's complement big-endian with the top bit of the first byte as the marker.
  const negative = (block[off]! & 0x40) !== 0;
  let v = 0n;
  for (let k = 0; k < len; k++) {
    let b = block[off + k]!;
    if (negative) b ^= 0xff; // -a-1 == ~a: read the inverted bytes as unsigned
    if (k === 0) b &= 0x7f; // drop the marker bit
    v = (v << 8n) | BigInt(b);
  }
  if (negative) v = -v - 1n;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return null;
  return Number(v);
}

export function readNumeric(block: Uint8Array, f: Field): number | null {
  const [off, len] = F[f];
  return parseNumeric(block, off, len);
}

/** Largest value an octal field of `len` bytes holds (len-1 digits + NUL terminator). */
export function maxOctal(len: number): number {
  return 8 ** (len - 1) - 1;
}

/** Write `v` as zero-padded octal in len-1 digits followed by NUL. Caller checks range. */
export function writeOctal(block: Uint8Array, off: number, len: number, v: number): void {
  const s = v.toString(8);
  const digits = len - 1;
  const pad = digits - s.length;
  for (let i = 0; i < pad; i++) block[off + i] = 0x30;
  for (let i = 0; i < s.length; i++) block[off + pad + i] = s.charCodeAt(i);
  block[off + digits] = 0;
}

/** Write `v` (possibly negative or huge) in GNU base-256 form. */
export function writeBase256(block: Uint8Array, off: number, len: number, v: number | bigint): void {
  let x = BigInt(v);
  for (let i = len - 1; i >= 0; i--) {
    block[off + i] = Number(x & 0xffn);
    x >>= 8n; // arithmetic shift keeps the sign for negatives
  }
  block[off] = block[off]! | 0x80;
}

/** Copy an ASCII/UTF-8 string into a field; the caller guarantees it fits. Remaining bytes stay NUL. */
export function writeBytes(block: Uint8Array, off: number, bytes: Uint8Array): void {
  block.set(bytes, off);
}

/** Unsigned and signed byte sums of the header with the checksum field counted as spaces. */
export function checksums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

/** Fill the checksum field of a finished header: 6 octal digits, NUL, space (as GNU tar and Go). */
export function writeChecksum(block: Uint8Array): void {
  const { unsigned } = checksums(block);
  writeOctal(block, 148, 7, unsigned);
  block[155] = 0x20;
}

export function isZeroBlock(block: Uint8Array): boolean {
  // Compare 4 bytes at a time when aligned; the block is usually a view into a chunk.
  if ((block.byteOffset & 3) === 0) {
    const w = new Uint32Array(block.buffer, block.byteOffset, BLOCK / 4);
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Header format by magic: POSIX ustar ("ustar\0" "00"), GNU ("ustar  \0") or old V7 (neither). */
export type HeaderFormat = 'ustar' | 'gnu' | 'v7';

export function headerFormat(block: Uint8Array): HeaderFormat {
  // "ustar"
  if (block[257] === 0x75 && block[258] === 0x73 && block[259] === 0x74 && block[260] === 0x61 && block[261] === 0x72) {
    if (block[262] === 0) return 'ustar';
    if (block[262] === 0x20 && block[263] === 0x20 && block[264] === 0) return 'gnu';
    return 'ustar';
  }
  return 'v7';
}
