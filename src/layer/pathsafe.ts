/**
 * Entry names of a layer tar, made safe before anything touches the disk.
 *
 * This module owns the lexical rules of the layer applier: a tar name (or hard-link
 * target) becomes a list of plain components below the target root, or the entry is
 * refused with an {@link UnsafeEntryError} naming it. Rules:
 *
 * - names are bytes (a non-UTF-8 name keeps its exact bytes); internally a path is kept
 *   as a "key": the bytes as a latin1 string (a bijection, so distinct names never
 *   collide in the applier's maps), components joined by '/', '' for the root;
 * - empty components and '.' are dropped (`./a//b/` is `a/b`);
 * - an absolute name (leading '/') is refused — except "/" alone, the root entry as umoci
 *   writes it, which is the same as "./": layers hold relative names, and GNU tar,
 *   Go's archive/tar writers and every differ write them so; cairn does not silently
 *   re-root such a name as Docker's chroot would;
 * - any '..' component is refused, also one that would stay inside (`a/../b`): no
 *   well-formed layer has one and lexical cleaning is where extractors went wrong before;
 * - a component longer than NAME_MAX (255 bytes) or a whole path longer than PATH_MAX
 *   (4096 bytes) is refused (the tar reader already caps raw names at 4096 bytes).
 *
 * What lies on disk (symlinks, missing directories) is the applier's business: it
 * resolves every parent with openat2 and refuses symlinks there (see apply.ts).
 */
import { DataCorruptError } from '../errors.js';

/** Longest file-name component Linux accepts. */
export const NAME_MAX = 255;
/** Longest path (bytes, without the terminating NUL) accepted for one entry. */
export const PATH_MAX = 4096;

/**
 * A layer entry that would reach outside the target root, replace the root, go through a
 * symlink, or is otherwise not something the applier will do. It is a DataCorruptError
 * (the layer's bytes are not a valid layer), with the offending entry's name.
 */
export class UnsafeEntryError extends DataCorruptError {
  /** The entry's name as it appears in the archive (UTF-8 decoded for display). */
  readonly entry: string;
  constructor(what: string, entry: string, reason: string, options?: { cause?: unknown }) {
    super(`${what}: entry ${quoteName(entry)}: ${reason}`, options);
    this.name = 'UnsafeEntryError';
    this.entry = entry;
  }
}

/** A name for messages: JSON-quoted, shortened past 200 characters. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);
}

/** A normalised path below the root. */
export interface SafePath {
  /** Components joined by '/', as a latin1 string of the raw bytes; '' is the root itself. */
  key: string;
  /** Key of the parent directory ('' for a top-level entry or the root). */
  parentKey: string;
  /** Key of the last component ('' for the root). */
  baseKey: string;
  /** Number of components (0 for the root). */
  depth: number;
}

const SLASH = 0x2f;

/** The raw bytes of a key. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/** A key for messages (bytes decoded as UTF-8). */
export function keyDisplay(key: string): string {
  return Buffer.from(key, 'latin1').toString('utf8');
}

/** Join a parent key and a component key. */
export function joinKey(parent: string, base: string): string {
  return parent === '' ? base : `${parent}/${base}`;
}

/**
 * Normalise one archive name (`bytes` are its exact bytes). `what` and `entry` only
 * serve the error message; `role` says which name is bad ('name', 'hard link target').
 * Throws UnsafeEntryError for absolute names, '..' components and overlong names.
 */
export function safePath(bytes: Uint8Array, what: string, entry: string, role = 'name'): SafePath {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const label = role === 'name' ? '' : `${role} `;
  if (b.length === 0) throw new UnsafeEntryError(what, entry, `${label}is empty`);
  // The root itself written as "/" (umoci's `insert ... /` writes it so) is the root entry,
  // like "./": nothing below it is named, so nothing can leave the target.
  if (b[0] === SLASH && !b.every((c) => c === SLASH)) throw new UnsafeEntryError(what, entry, `${label}is an absolute path`);
  const parts: string[] = [];
  let total = 0;
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i < b.length && b[i] !== SLASH) continue;
    const len = i - start;
    if (len > 0) {
      if (len === 1 && b[start] === 0x2e) {
        // '.' component: dropped
      } else if (len === 2 && b[start] === 0x2e && b[start + 1] === 0x2e) {
        throw new UnsafeEntryError(what, entry, `${label}has a '..' component`);
      } else {
        if (len > NAME_MAX) {
          throw new UnsafeEntryError(what, entry, `${label}has a component of ${len} bytes (the limit is ${NAME_MAX})`);
        }
        parts.push(b.toString('latin1', start, i));
        total += len + (parts.length > 1 ? 1 : 0);
      }
    }
    start = i + 1;
  }
  if (total > PATH_MAX) throw new UnsafeEntryError(what, entry, `${label}is ${total} bytes long (the limit is ${PATH_MAX})`);
  if (parts.length === 0) return { key: '', parentKey: '', baseKey: '', depth: 0 };
  const baseKey = parts[parts.length - 1]!;
  const key = parts.join('/');
  const parentKey = parts.length === 1 ? '' : key.slice(0, key.length - baseKey.length - 1);
  return { key, parentKey, baseKey, depth: parts.length };
}

/** Whether `key` is `ancestor` itself or lies below it. */
export function isSameOrBelow(key: string, ancestor: string): boolean {
  if (ancestor === '') return true;
  return key === ancestor || (key.length > ancestor.length && key.startsWith(ancestor) && key.charCodeAt(ancestor.length) === SLASH);
}
