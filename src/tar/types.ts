/**
 * Tar data model shared by the reader and the writer: the normalised header of one
 * archive member, entry types, timestamps with nanoseconds, and the reader's size limits.
 * No I/O here.
 */

/** Kinds of archive members cairn understands. GNU sparse, volume labels etc. are rejected. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export const TAR_ENTRY_TYPES: readonly TarEntryType[] = ['file', 'hardlink', 'symlink', 'char', 'block', 'dir', 'fifo'];

/**
 * A point in time: whole seconds since the Unix epoch (may be negative) plus
 * nanoseconds, normalised so that 0 <= nsec < 1e9. `sec` is a plain number; values
 * beyond Number.MAX_SAFE_INTEGER are rejected as corrupt.
 */
export interface TarTime {
  sec: number;
  nsec: number;
}

/**
 * One archive member's metadata after merging ustar fields, GNU long names and PAX
 * records (PAX wins, then GNU L/K, then ustar). `name` and `linkname` are exactly as
 * stored (no path cleaning: that is the extractor's job). `mode` is the permission bits
 * including setuid/setgid/sticky (mode & 0o7777); the file type lives in `type`.
 */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Body length in bytes; always 0 for header-only types (links, dirs, devices, fifos). */
  size: number;
  mtime: TarTime;
  atime?: TarTime;
  ctime?: TarTime;
  linkname: string;
  /** Exact bytes of `name` when they are not valid UTF-8 (then `name` holds U+FFFD replacements). */
  nameBytes?: Buffer;
  /** Exact bytes of `linkname` when they are not valid UTF-8. */
  linknameBytes?: Buffer;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX `SCHILY.xattr.*` (raw bytes) and `LIBARCHIVE.xattr.*` (base64). */
  xattrs: Map<string, Buffer>;
  /** Every PAX record that applied to this entry (global `g` records, then local `x` records), values as raw bytes. */
  pax: Map<string, Buffer>;
}

/** Limits that protect the reader from absurd metadata; all sizes in bytes. */
export interface TarLimits {
  /** Largest PAX extended header (`x` or `g`) data accepted. Default 1 MiB. */
  maxPaxSize: number;
  /** Longest name or link name accepted (GNU `L`/`K` data, PAX `path`/`linkpath`). Default 4096. */
  maxNameLength: number;
}

export const DEFAULT_TAR_LIMITS: Readonly<TarLimits> = Object.freeze({
  maxPaxSize: 1024 * 1024,
  maxNameLength: 4096,
});

/** True for the types whose size field never describes a body (as Go's archive/tar). */
export function isHeaderOnlyType(t: TarEntryType): boolean {
  return t !== 'file';
}
