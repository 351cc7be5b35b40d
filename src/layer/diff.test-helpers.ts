/**
 * Test helpers for the layer differ (used only by *.test.ts): temporary roots, overlay
 * mounts that are always undone, tree manifests that capture everything a layer must
 * carry (type, mode, owner, size and content hash, mtime seconds, link target, device
 * number, xattrs, hard-link groups), reading a tar back, and applying a layer with GNU tar
 * (whiteouts done by hand first, since GNU tar does not know them).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { constants, lgetxattr, llistxattr, overlayMount, umount2, utimensat } from '../native/index.js';
import { readTar, type TarHeader } from '../tar/index.js';

export function tempRoot(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `cairn-${prefix}-`));
}

/** Overlay options cairn's snapshotter pins (those this kernel knows). */
export function pinnedOverlayOptions(): string[] {
  return ['index', 'redirect_dir', 'metacopy']
    .filter((p) => existsSync(`/sys/module/overlay/parameters/${p}`))
    .map((p) => `${p}=off`);
}

/** Mount an overlay of `lower` with `upper`, run `fn` on the merged dir, always unmount. */
export async function withOverlay<T>(root: string, lowers: string[], fn: (merged: string, upper: string) => Promise<T> | T): Promise<T> {
  const upper = join(root, 'upper');
  const work = join(root, 'work');
  const merged = join(root, 'merged');
  for (const d of [upper, work, merged]) if (!existsSync(d)) spawnSync('mkdir', ['-p', d]);
  overlayMount({ lowerdirs: lowers, upperdir: upper, workdir: work, target: merged, options: pinnedOverlayOptions() });
  try {
    return await fn(merged, upper);
  } finally {
    umount2(merged);
  }
}

/** Set atime/mtime of every entry under `dir` (children before their directory), symlinks themselves. */
export function setTimes(dir: string, sec: number, nsec: number): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (lstatSync(p).isDirectory()) setTimes(p, sec, nsec);
    utimensat(constants.AT_FDCWD, p, sec, nsec, sec, nsec, constants.AT_SYMLINK_NOFOLLOW);
  }
  utimensat(constants.AT_FDCWD, dir, sec, nsec, sec, nsec, constants.AT_SYMLINK_NOFOLLOW);
}

/** One line per entry (root excluded), keyed by relative path. */
export function manifest(root: string, opts: { mtimes?: boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const inodes = new Map<bigint, string[]>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(p, { bigint: true });
      const mode = Number(st.mode);
      const fields: string[] = [(mode & 0o170000).toString(8), (mode & 0o7777).toString(8), `${st.uid}:${st.gid}`];
      if (opts.mtimes !== false) fields.push(`t=${st.mtimeNs / 1_000_000_000n}`);
      if (st.isFile()) fields.push(`size=${st.size}`, createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16));
      if (st.isSymbolicLink()) fields.push(`-> ${readlinkSync(p)}`);
      if (st.isCharacterDevice() || st.isBlockDevice()) fields.push(`dev=${st.rdev}`);
      const xs = llistxattr(p).sort();
      for (const x of xs) fields.push(`${x}=${lgetxattr(p, x)?.toString('hex')}`);
      out.set(r, fields.join(' '));
      if (!st.isDirectory() && st.nlink > 1n) {
        const g = inodes.get(st.ino) ?? [];
        g.push(r);
        inodes.set(st.ino, g);
      }
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(root, '');
  for (const g of inodes.values()) {
    if (g.length < 2) continue;
    for (const r of g) out.set(r, `${out.get(r)!} links=${g.join(',')}`);
  }
  return out;
}

export interface ReadEntry {
  header: TarHeader;
  body: Buffer;
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export async function entriesOf(tar: Buffer): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  for await (const e of readTar(tar)) {
    const parts: Buffer[] = [];
    for await (const c of e.body) parts.push(Buffer.from(c));
    out.push({ header: e.header, body: Buffer.concat(parts) });
  }
  return out;
}

/** A short description of an entry: `name type mode uid:gid [-> link] [dev] [size]`. */
export function describe(e: ReadEntry): string {
  const h = e.header;
  const parts = [h.name, h.type, h.mode.toString(8), `${h.uid}:${h.gid}`];
  if (h.type === 'symlink' || h.type === 'hardlink') parts.push(`-> ${h.linkname}`);
  if (h.type === 'char' || h.type === 'block') parts.push(`${h.devmajor}:${h.devminor}`);
  if (h.type === 'file') parts.push(`size=${h.size}`);
  return parts.join(' ');
}

function run(cmd: string, args: string[], input?: Buffer): void {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
}

/** `cp -a` (keeps owners, modes, xattrs, nanosecond times and hard links). */
export function copyTree(src: string, dst: string): void {
  run('cp', ['-a', src, dst]);
}

/**
 * Apply layer `tar` onto `target` with GNU tar: whiteouts and opaque markers are done
 * first by hand (they only ever remove what was there before this layer), then the rest is
 * extracted with xattrs, numeric owners and exact modes. (Not GNU tar's --recursive-unlink:
 * it would empty every existing directory the layer mentions.)
 */
export async function applyWithGnuTar(tar: Buffer, target: string): Promise<void> {
  for (const e of await entriesOf(tar)) {
    const name = e.header.name.replace(/\/$/, '');
    const slash = name.lastIndexOf('/');
    const dir = slash < 0 ? '' : name.slice(0, slash);
    const base = name.slice(slash + 1);
    if (base === '.wh..wh..opq') {
      const d = join(target, dir);
      if (existsSync(d)) for (const c of readdirSync(d)) rmSync(join(d, c), { recursive: true, force: true });
    } else if (base.startsWith('.wh.')) {
      rmSync(join(target, dir, base.slice(4)), { recursive: true, force: true });
    } else {
      // A directory replaced by a non-directory or the reverse: clear the way, as an applier does.
      const p = join(target, name);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (st !== undefined && st.isDirectory() !== (e.header.type === 'dir')) rmSync(p, { recursive: true, force: true });
    }
  }
  run(
    'tar',
    ['-x', '--xattrs', "--xattrs-include=*", '--numeric-owner', '--same-owner', '-p', '--exclude=.wh.*', '-C', target],
    tar,
  );
}

/** Assert-friendly diff of two manifests: the lines that differ, sorted. */
export function manifestDiff(want: Map<string, string>, got: Map<string, string>): string[] {
  const keys = new Set([...want.keys(), ...got.keys()]);
  const out: string[] = [];
  for (const k of [...keys].sort()) {
    if (want.get(k) !== got.get(k)) out.push(`${k}: want ${want.get(k) ?? '(absent)'} got ${got.get(k) ?? '(absent)'}`);
  }
  return out;
}
