/**
 * `diff`: what a container changed in its root filesystem, as `docker diff` lists it — the
 * rules of Docker 20.10's `archive.ChangesDirs` (the container's tree compared with its
 * image's):
 *
 *   A PATH   an entry the image does not have; everything below an added directory too
 *   C PATH   an entry of both whose type, mode, owner, device number or security.capability
 *            differ, or — not for a directory — whose size or mtime differ (mtimes equal in
 *            seconds and either one without nanoseconds count as equal: tars hold whole
 *            seconds); and every directory with a change below it that is not itself listed
 *   D PATH   an entry of the image the container does not have; a deleted directory's
 *            contents are not listed
 *
 * Order: depth first, a directory before what lies in it; in a directory, its entries that
 * exist (sorted by name, each followed by its own changes), then its deletions (sorted).
 * Docker walks a Go map, so its order within a directory varies from run to run; this is
 * one of the orders it prints, always the same.
 *
 * Reading: overlay (the snapshot's directory holds only its layer) reads the upper directory
 * alone — whiteouts are deletions, an opaque directory hides everything of the image below
 * it — and looks each entry up in a read-only view of the image; nothing else of the image is
 * walked. A whole-tree driver (native) walks the container's tree and the image's side by
 * side. Every directory is opened relative to its parent without following symlinks.
 */
import type { Digest } from '../digest/digest.js';
import { errnoCode } from '../errors.js';
import { closeFd, kindOf, listDir, openDir, readXattrs, readXattrsFd, statAt } from '../layer/walk.js';
import { constants, type NativeStat } from '../native/index.js';
import type { Store } from '../store/store.js';
import { activeLayer, withMounted } from './view.js';

export interface Change {
  kind: 'A' | 'C' | 'D';
  /** Absolute path in the container. */
  path: string;
}

const CAPABILITY = 'security.capability';
const OPAQUE = 'trusted.overlay.opaque';
const WHITEOUT = 'trusted.overlay.whiteout';

/** The changes of the container whose writable layer is active snapshot `key` (see the module comment). */
export async function containerChanges(store: Store, key: string, onFile?: (st: NativeStat) => void): Promise<Change[]> {
  const sn = await store.snapshots();
  const layer = await activeLayer(sn, key);
  const overlay = sn.capabilities.rebase;
  const walk = (lowerRoot: string | null): Promise<Change[]> => changesOf(layer.dir, lowerRoot, overlay, onFile);
  if (layer.parent === undefined) return walk(null);
  return withMounted(store, { parentOf: layer.parent as Digest, sn }, (lowerRoot) => walk(lowerRoot));
}

/**
 * The size of a container's writable layer as Docker 20.10 counts it (`ps -s`, SizeRw:
 * archive.ChangesSize): the bytes of every added or changed entry that is not a directory, a
 * hard-linked inode once.
 */
export async function containerChangesSize(store: Store, key: string): Promise<number> {
  let size = 0;
  const seen = new Set<bigint>();
  await containerChanges(store, key, (st) => {
    if (st.nlink > 1) {
      if (seen.has(st.ino)) return;
      seen.add(st.ino);
    }
    size += st.size;
  });
  return size;
}

/** A directory on the walk's path, listed as changed the first time something below it is. */
interface DirCtx {
  parent: DirCtx | null;
  path: string;
  listed: boolean;
}

/**
 * The changes of tree `upperDir` against tree `lowerDir` (null: an empty image). `overlay`:
 * `upperDir` is an overlay upper directory (entries absent from it are unchanged, unless an
 * opaque directory hides them); else it is the container's whole tree. `onFile` hears the
 * stat of every added or changed entry that is not a directory.
 */
export async function changesOf(upperDir: string, lowerDir: string | null, overlay: boolean, onFile?: (st: NativeStat) => void): Promise<Change[]> {
  const out: Change[] = [];
  const list = (ctx: DirCtx | null, kind: Change['kind'], path: string): void => {
    if (ctx !== null) ensureListed(ctx, out);
    out.push({ kind, path });
  };

  /**
   * `whole`: `upperFd` holds the whole of this directory as the container sees it (native, or
   * below an opaque directory): the image's entries missing from it are deletions.
   */
  const visit = async (ctx: DirCtx | null, upperFd: number, lowerFd: number | null, whole: boolean): Promise<void> => {
    const base = ctx === null ? '' : ctx.path;
    const seen = new Set<string>();
    const deleted: string[] = [];
    for (const raw of await listDir(upperFd)) {
      const st = statAt(upperFd, raw);
      const path = `${base}/${raw.toString('utf8')}`;
      // Raw bytes as the key: names need not be UTF-8.
      seen.add(raw.toString('latin1'));
      if (overlay && isWhiteout(upperFd, raw, st)) {
        if (lowerFd !== null && lstatOrNull(lowerFd, raw) !== null) deleted.push(path);
        continue;
      }
      const lower = lowerFd === null ? null : lstatOrNull(lowerFd, raw);
      let listed = false;
      if (lower === null) {
        list(ctx, 'A', path);
        listed = true;
      } else if (statDiffers(lower, st) || !sameCapability(lowerFd!, upperFd, raw)) {
        list(ctx, 'C', path);
        listed = true;
      }
      if (listed && kindOf(st.mode) !== 'dir') onFile?.(st);
      if (kindOf(st.mode) !== 'dir') continue;
      const child: DirCtx = { parent: ctx, path, listed };
      const opaque = overlay && readXattrs(upperFd, raw, (n) => n === OPAQUE).get(OPAQUE)?.toString() === 'y';
      const childUpper = openDir(upperFd, raw);
      try {
        const childLower = lower !== null && kindOf(lower.mode) === 'dir' ? openDir(lowerFd!, raw) : null;
        try {
          await visit(child, childUpper, childLower, whole || opaque);
        } finally {
          if (childLower !== null) closeFd(childLower);
        }
      } finally {
        closeFd(childUpper);
      }
    }
    if (whole && lowerFd !== null) {
      for (const raw of await listDir(lowerFd)) {
        if (!seen.has(raw.toString('latin1'))) deleted.push(`${base}/${raw.toString('utf8')}`);
      }
    }
    for (const path of deleted.sort()) list(ctx, 'D', path);
  };

  const upperRoot = openDir(constants.AT_FDCWD, upperDir, true);
  try {
    const lowerRoot = lowerDir === null ? null : openDir(constants.AT_FDCWD, lowerDir, true);
    try {
      const opaque = overlay && readXattrsFd(upperRoot, (n) => n === OPAQUE).get(OPAQUE)?.toString() === 'y';
      await visit(null, upperRoot, lowerRoot, !overlay || opaque);
    } finally {
      if (lowerRoot !== null) closeFd(lowerRoot);
    }
  } finally {
    closeFd(upperRoot);
  }
  return out;
}

function ensureListed(ctx: DirCtx, out: Change[]): void {
  if (ctx.listed) return;
  if (ctx.parent !== null) ensureListed(ctx.parent, out);
  ctx.listed = true;
  out.push({ kind: 'C', path: ctx.path });
}

/** An overlay whiteout: a 0:0 character device, or an empty file marked as one (Linux 6.7+). */
function isWhiteout(dirfd: number, name: Buffer, st: NativeStat): boolean {
  const kind = kindOf(st.mode);
  if (kind === 'char') return st.rdevMajor === 0 && st.rdevMinor === 0;
  return kind === 'file' && st.size === 0 && readXattrs(dirfd, name, (n) => n === WHITEOUT).has(WHITEOUT);
}

function lstatOrNull(dirfd: number, name: Buffer): NativeStat | null {
  try {
    return statAt(dirfd, name);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Docker's statDifferent (see the module comment). */
function statDiffers(a: NativeStat, b: NativeStat): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true;
  if (a.rdevMajor !== b.rdevMajor || a.rdevMinor !== b.rdevMinor) return true;
  if (kindOf(b.mode) === 'dir') return false;
  if (a.size !== b.size) return true;
  return !(a.mtimeSec === b.mtimeSec && (a.mtimeNsec === b.mtimeNsec || a.mtimeNsec === 0 || b.mtimeNsec === 0));
}

function sameCapability(lowerFd: number, upperFd: number, name: Buffer): boolean {
  const a = readXattrs(lowerFd, name, (n) => n === CAPABILITY).get(CAPABILITY);
  const b = readXattrs(upperFd, name, (n) => n === CAPABILITY).get(CAPABILITY);
  return a === undefined ? b === undefined : b !== undefined && a.equals(b);
}
