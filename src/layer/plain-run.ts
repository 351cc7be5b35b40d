/**
 * The plain lane of a recorded upper copy (upper-copy.ts), on the JavaScript side: which
 * scanned files it takes — a plain ustar header holds them: an ASCII name of at most 100
 * bytes with its directory, owner ids within 7 octal digits, size and mtime (once clamped)
 * within 11 — exactly the test native copyPlainRun (native/src/upper.c) makes before it
 * writes their headers; and how a run of them lies in the tar: header k ends at the sum of
 * 512 + padding of those before it plus 512, its body right after, then its padding — what
 * the tar-split recorder and the hasher are told (tarsplit.ts InPlaceRun). Pure: indexes into
 * a native scanDir result (`names`, `info`).
 */
import { SCAN, SCAN_SLOTS } from '../native/index.js';
import type { InPlaceRun } from './tarsplit.js';

const USTAR_NAME = 100;
const USTAR_ID = 0o7777777;
const USTAR_NUMBER = 0o77777777777;
const BLOCK = 512;

/** The name of scanned entry `i`, a view of `names`. */
export function scannedName(names: Buffer, info: Float64Array, i: number): Buffer {
  const off = info[i * SCAN_SLOTS + SCAN.nameOff]!;
  return names.subarray(off, off + info[i * SCAN_SLOTS + SCAN.nameLen]!);
}

/** Whether scanned regular file `i`, in a directory archived under a prefix of `prefixLength` bytes (ASCII), has a plain ustar header. */
export function plainHeaderFits(names: Buffer, info: Float64Array, i: number, prefixLength: number, clamp: number | undefined): boolean {
  const o = i * SCAN_SLOTS;
  const off = info[o + SCAN.nameOff]!;
  const len = info[o + SCAN.nameLen]!;
  if (prefixLength + len > USTAR_NAME) return false;
  for (let k = 0; k < len; k++) if (names[off + k]! > 0x7f) return false;
  if (info[o + SCAN.uid]! > USTAR_ID || info[o + SCAN.gid]! > USTAR_ID || info[o + SCAN.size]! > USTAR_NUMBER) return false;
  let mtime = info[o + SCAN.mtimeSec]!;
  if (clamp !== undefined && (mtime > clamp || (mtime === clamp && info[o + SCAN.mtimeNsec]! > 0))) mtime = clamp;
  return mtime >= 0 && mtime <= USTAR_NUMBER;
}

/** Whether a directory's archive prefix (its path and '/') can start plain names: ASCII, short enough for one more byte. */
export function plainPrefix(prefix: Buffer): boolean {
  for (const b of prefix) if (b === 0 || b > 0x7f) return false;
  return prefix.length < USTAR_NAME;
}

/** How the run of scanned files `idx`, in the directory whose key is `parentKey`, lies in the tar (`raw` is the caller's to fill: `rawBytes` long). */
export function inPlaceLayout(names: Buffer, info: Float64Array, idx: readonly number[], parentKey: string): Omit<InPlaceRun, 'raw'> & { rawBytes: number; bodyBytes: number } {
  const sizes: number[] = [];
  const headerEnds: number[] = [];
  const keys: string[] = [];
  let at = 0;
  let bodyBytes = 0;
  for (const i of idx) {
    const o = i * SCAN_SLOTS;
    const size = info[o + SCAN.size]!;
    const name = names.toString('latin1', info[o + SCAN.nameOff]!, info[o + SCAN.nameOff]! + info[o + SCAN.nameLen]!);
    sizes.push(size);
    at += BLOCK;
    headerEnds.push(at);
    at += (BLOCK - (size % BLOCK)) % BLOCK;
    keys.push(parentKey === '' ? name : `${parentKey}/${name}`);
    bodyBytes += size;
  }
  return { sizes, headerEnds, keys, parentKey, rawBytes: at, bodyBytes };
}
