/**
 * Test helpers for the layer applier tests (used only by apply*.test.ts): temporary
 * directories, layers built with cairn's tar writer or byte by byte, and a tree snapshot
 * (every entry's type, mode, owner, nanosecond mtime, device numbers, link target,
 * content hash and xattrs, read without following symlinks) to compare directories.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { constants, fstatat, lgetxattr, llistxattr, readlinkatBuffer } from '../native/index.js';
import { writeArchive } from '../tar/test-helpers.js';
import { kindOf } from './walk.js';
import { BLOCK, writeChecksum } from '../tar/fields.js';
import type { TarBodyInput, TarWriteHeader } from '../tar/index.js';

export { writeArchive };

/** A fresh directory under the system temp dir; `cleanup` removes it. */
export function tempDir(prefix = 'cairn-layer-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  // rm(1), not fs.rmSync: Node's recursive removal overflows its stack on very deep trees
  return {
    path,
    cleanup: () => {
      const r = spawnSync('rm', ['-rf', '--one-file-system', path]);
      if (r.status !== 0) throw new Error(`rm -rf ${path} failed: ${r.stderr.toString()}`);
    },
  };
}

/** Yield `buf` in chunks of `size` bytes. */
export async function* chunks(buf: Buffer, size = 4096): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** `size` pseudo-random bytes, the same for the same seed. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Every byte of a stream, in one buffer. */
export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

/** A layer from writer entries. */
export function layer(entries: Array<[TarWriteHeader, TarBodyInput?]>): Promise<Buffer> {
  return writeArchive(entries, { paxNanoseconds: true });
}

/** One entry's state on disk. */
export interface Snap {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  size?: number;
  sha?: string;
  link?: string;
  rdev?: string;
  xattrs: Record<string, string>;
  ino: bigint;
}

/** Snapshot of one path (not followed). */
export function snapOne(path: string): Snap {
  const st = fstatat(constants.AT_FDCWD, path, constants.AT_SYMLINK_NOFOLLOW);
  const type = kindOf(st.mode);
  const s: Snap = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeNs: st.mtimeNs, xattrs: {}, ino: st.ino };
  if (type === 'file') {
    s.size = st.size;
    s.sha = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  if (type === 'symlink') s.link = readlinkatBuffer(constants.AT_FDCWD, path).toString('latin1');
  if (type === 'char' || type === 'block') s.rdev = `${st.rdevMajor}:${st.rdevMinor}`;
  for (const name of llistxattr(path).sort()) s.xattrs[name] = (lgetxattr(path, name) ?? Buffer.alloc(0)).toString('hex');
  return s;
}

/**
 * Every entry below `root` (root itself as '.'), by relative path. Hard links show up as
 * equal `ino`; `sameInodes` turns those into groups so two trees can be compared.
 */
export function snapTree(root: string, opts: { dirMtimes?: boolean } = {}): Map<string, Snap> {
  const out = new Map<string, Snap>();
  const visit = (rel: string): void => {
    const abs = rel === '.' ? root : join(root, rel);
    const s = snapOne(abs);
    if (s.type === 'dir' && opts.dirMtimes === false) s.mtimeNs = 0n;
    out.set(rel, s);
    if (s.type === 'dir') {
      for (const n of readdirSync(abs).sort()) visit(rel === '.' ? n : `${rel}/${n}`);
    }
  };
  visit('.');
  return out;
}

/** The tree without inode numbers, hard links replaced by the first path of their inode group. */
export function comparable(tree: Map<string, Snap>): Record<string, Omit<Snap, 'ino'> & { linkGroup?: string }> {
  const first = new Map<bigint, string>();
  const out: Record<string, Omit<Snap, 'ino'> & { linkGroup?: string }> = {};
  for (const [path, s] of tree) {
    const { ino, ...rest } = s;
    const entry: Omit<Snap, 'ino'> & { linkGroup?: string } = { ...rest };
    if (s.type !== 'dir') {
      const f = first.get(ino);
      if (f === undefined) first.set(ino, path);
      else entry.linkGroup = f;
    }
    out[path] = entry;
  }
  return out;
}

/** A directory's entry names. */
export function list(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Whether `path` exists (not following a final symlink). */
export function exists(path: string): boolean {
  try {
    fstatat(constants.AT_FDCWD, path, constants.AT_SYMLINK_NOFOLLOW);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
}

/** Open and close a directory to check it exists and is a directory. */
export function isDirectory(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW));
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return false;
    throw e;
  }
}

/**
 * Patch the header block at `offset` of a tar: `patch` edits the 512 bytes, then the
 * checksum is recomputed (unless `keepChecksum`). Returns a copy.
 */
export function patchHeader(tar: Buffer, offset: number, patch: (block: Buffer) => void, keepChecksum = false): Buffer {
  const out = Buffer.from(tar);
  const block = out.subarray(offset, offset + BLOCK);
  patch(block);
  if (!keepChecksum) writeChecksum(block);
  return out;
}

/** A GNU long-name ('L') or long-link ('K') meta header with its data blocks. */
export function gnuLongHeader(kind: 'L' | 'K', value: Buffer): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write('././@LongLink', 0, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  const data = Buffer.concat([value, Buffer.from([0])]);
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h[156] = kind.charCodeAt(0);
  h.write('ustar  \0', 257, 'latin1');
  writeChecksum(h);
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return Buffer.concat([h, data, Buffer.alloc(pad)]);
}
