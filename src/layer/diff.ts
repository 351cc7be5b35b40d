/**
 * Layer diff: the changes of a writable snapshot against its parent, as an OCI layer tar
 * (the Comparer half of containerd's Differ; the Applier is src/layer/apply.ts).
 *
 * - {@link diffOverlayUpper} reads an overlay upper directory only (the lower layers are
 *   never walked), as upper.ts reads one: every entry of the upper is a change; a character
 *   device 0:0 is a deletion (→ `.wh.NAME`); a directory with `trusted.overlay.opaque=y` (or
 *   `user.overlay.opaque=y`) was replaced wholesale (→ the directory, then
 *   `DIR/.wh..wh..opq`). Overlay's private attributes (`trusted.overlay.*`,
 *   `user.overlay.*`) are left out; escaped ones (`trusted.overlay.overlay.X`, Linux 6.7+)
 *   are written under their real name. Upper files with `overlay.metacopy` or directories
 *   with `overlay.redirect` hold no data of their own: UnsupportedError (cairn mounts with
 *   metacopy=off, redirect_dir=off).
 * - {@link diffDirs} compares two full trees (the native driver: `upper` is a writable
 *   copy of `lower`), with the semantics of containerd's continuity `fs.Changes`:
 *   an entry present only in upper is added; only in lower is deleted (a deleted directory
 *   is one whiteout, its children are not listed); present in both it is changed when the
 *   type, mode bits, uid, gid, device number, extended attributes or symlink target differ,
 *   or — not for directories, whose mtime only reflects their children — the size or the
 *   mtime seconds differ, or when both mtimes have zero nanoseconds (a tree extracted from
 *   a tar, whose whole-second mtimes can hide a change) the content differs, or else the
 *   mtime nanoseconds differ. A directory whose only change is below it is not an entry of
 *   its own but is written as a parent (next point). A directory replaced by a file or the
 *   reverse is simply the new entry (an applier replaces what is in the way).
 *
 * Output (both): deterministic bytes, as containerd's `archive.WriteDiff` writes them (the
 * headers are headers.ts's):
 * - depth-first, each directory's entries sorted by the byte value of their names in the
 *   archive (a deletion sorts as `.wh.NAME`), a directory before its children, and an
 *   opaque marker right after its directory; the root itself is never an entry;
 * - every changed entry is preceded by its parent directories that are not in the archive
 *   yet (containerd's `includeParents`), with their metadata from the upper tree;
 * - directory names end in '/'; uid/gid numeric, uname/gname empty; mode = permission bits
 *   with setuid/setgid/sticky; mtime whole seconds (nanoseconds dropped unless
 *   `paxNanoseconds`), clamped to SOURCE_DATE_EPOCH; no atime/ctime; device numbers;
 *   every kept xattr as a PAX `SCHILY.xattr.NAME` record with the raw value bytes;
 * - whiteouts are empty regular files with mode 0, uid/gid 0 and mtime 0 (the epoch), as
 *   containerd 2 writes them;
 * - a file with several names in the archive is written once, under the first name, and
 *   the later names are hard links to it. For diffDirs, if one name of a hard-linked inode
 *   changed, all its names in upper are written, so the link survives the apply;
 * - sockets are skipped (tar cannot hold them); a name that is not valid UTF-8 is written
 *   byte-exact in a PAX `path`/`linkpath` record;
 * - an upper entry named `.wh.*` cannot be represented and is an UnsupportedError.
 *
 * {@link archiveTree} writes a plain tree the same way — the degenerate diff against
 * nothing, without whiteout rules (a `.wh.*` name is an ordinary file there): a container's
 * whole root filesystem (`export`), or one entry and what lies below it under a name of
 * the caller's choosing (`cp`).
 *
 * The tar is produced lazily as the returned stream is read (backpressure); memory is
 * bounded by one directory listing per level, one read chunk and, for diffDirs, the list of
 * hard-linked names in upper.
 */
import type { Readable } from 'node:stream';

import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { constants, errnoCode, type NativeStat } from '../native/index.js';
import { createTarWriter, type TarWriter } from '../tar/index.js';
import { LayerHeaders } from './headers.js';
import { walkOverlayUpper } from './upper.js';
import {
  closeFd,
  compareBytes,
  fileChunks,
  joinRel,
  kindOf,
  listDir,
  openDir,
  openParent,
  readLink,
  readXattrs,
  sameContent,
  SMALL_FILE,
  smallFile,
  statAt,
  type EntryKind,
} from './walk.js';

export interface DiffOptions {
  /**
   * SOURCE_DATE_EPOCH in seconds: later mtimes are written as exactly this time. Default:
   * the SOURCE_DATE_EPOCH environment variable when it is set and not empty; null ignores
   * the environment.
   */
  sourceDateEpoch?: number | null;
  /** Keep sub-second mtimes in PAX `mtime` records (default false: whole seconds, as containerd and BuildKit). */
  paxNanoseconds?: boolean;
  /** Which extended attributes to record, by name (default: all but overlay's private ones in an upper). */
  xattrFilter?: (name: string) => boolean;
  /**
   * diffOverlayUpper: the xattr namespaces overlay keeps its own attributes in; both by
   * default. Mounted without `userxattr`, overlay uses only `trusted.`, and `user.overlay.*`
   * attributes in the upper belong to the container; pass ['trusted'] to keep them.
   */
  overlayXattrNamespaces?: ReadonlyArray<'trusted' | 'user'>;
  /** Buffer size of the returned stream in bytes (default 64 KiB). */
  highWaterMark?: number;
}

const WHITEOUT_PREFIX = Buffer.from('.wh.');
const EMPTY = Buffer.alloc(0);

/**
 * SOURCE_DATE_EPOCH from `env` (seconds since the epoch), or undefined when unset or
 * empty. Anything but a whole non-negative number is an InvalidArgumentError.
 */
export function sourceDateEpochFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  return checkEpoch(/^\d+$/.test(v) ? Number(v) : NaN, `SOURCE_DATE_EPOCH ${JSON.stringify(v)}`);
}

function checkEpoch(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`${what} is not a whole number of seconds since 1970-01-01`);
  }
  return n;
}

interface Config {
  clampMtime: number | undefined;
  paxNanoseconds: boolean;
  keepXattr: (name: string) => boolean;
  highWaterMark: number | undefined;
}

function configure(opts: DiffOptions): Config {
  let clamp: number | undefined;
  if (opts.sourceDateEpoch === undefined) clamp = sourceDateEpochFromEnv();
  else if (opts.sourceDateEpoch !== null) clamp = checkEpoch(opts.sourceDateEpoch, `sourceDateEpoch ${opts.sourceDateEpoch}`);
  return {
    clampMtime: clamp,
    paxNanoseconds: opts.paxNanoseconds === true,
    keepXattr: opts.xattrFilter ?? (() => true),
    highWaterMark: opts.highWaterMark,
  };
}

/** The producer of every stream made here, settled once it has stopped reading its trees. */
const producers = new WeakMap<Readable, Promise<void>>();

/** Start `produce` writing into `tw`; a failure destroys the stream, so its reader sees the error. */
function run(tw: TarWriter, produce: () => Promise<void>): TarWriter {
  const done = produce()
    .then(() => tw.finish())
    .catch((e: unknown) => {
      // A reader that stopped early destroyed the stream itself; the producer's error is then moot.
      if (!tw.destroyed) tw.destroy(e instanceof Error ? e : new Error(String(e)));
    });
  producers.set(tw, done);
  return tw;
}

/**
 * Settles once the producer of `stream` (a stream made here) has stopped reading its trees —
 * every directory and file it opened is closed — however the stream ended: a caller that
 * destroys the stream early waits for this before it unmounts what the stream read.
 */
export function treeReleased(stream: Readable): Promise<void> {
  return producers.get(stream) ?? Promise.resolve();
}

/** Open a tree's root directory (a symlink to it is followed: only entries inside are never followed). */
function openRoot(dir: string, role: string): number {
  try {
    return openDir(constants.AT_FDCWD, dir, true);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') throw new NotFoundError(`layer diff: ${role} directory ${dir} does not exist`, { cause: e });
    if (code === 'ENOTDIR') throw new InvalidArgumentError(`layer diff: ${role} ${dir} is not a directory`, { cause: e });
    throw e;
  }
}

/** Writes entries into the tar: one instance per diff. */
class LayerWriter {
  readonly headers: LayerHeaders;

  constructor(
    readonly tw: TarWriter,
    root: string,
  ) {
    this.headers = new LayerHeaders(root);
  }

  /** `.wh.NAME` for deleted `dir/NAME`. */
  async whiteout(dir: Buffer, name: Buffer): Promise<void> {
    await this.tw.add(this.headers.whiteout(dir, name));
  }

  /** `DIR/.wh..wh..opq`: the lower contents of `dir` are gone. */
  async opaque(dir: Buffer): Promise<void> {
    await this.tw.add(this.headers.opaque(dir));
  }

  /** The entry `name` of directory `dirfd`, archived as `rel`; a regular file's body read from it. */
  async entry(dirfd: number, name: Buffer, rel: Buffer, st: NativeStat, xattrs: Map<string, Buffer>): Promise<void> {
    const { header } = this.headers.entry(dirfd, name, rel, st, xattrs);
    if (header.type !== 'file' || st.size === 0) {
      await this.tw.add(header);
      return;
    }
    const what = this.headers.what(rel);
    await this.tw.add(header, st.size <= SMALL_FILE ? smallFile(dirfd, name, st.ino, st.size, what) : fileChunks(dirfd, name, st.ino, st.size, what));
  }

  refuseWhiteoutName(name: Buffer, rel: Buffer): void {
    this.headers.refuseWhiteoutName(name, rel);
  }
}

// ---------------------------------------------------------------------------
// overlay upper

/**
 * The layer tar of an overlay upper directory (see the module comment and upper.ts). The
 * returned stream yields the tar bytes as it is read; errors (unreadable upper, metacopy, a
 * file changing while read) destroy it with the error.
 */
export function diffOverlayUpper(upperDir: string, opts: DiffOptions = {}): Readable {
  const cfg = configure(opts);
  const tw = createTarWriter({ clampMtime: cfg.clampMtime, paxNanoseconds: cfg.paxNanoseconds, highWaterMark: cfg.highWaterMark });
  const out = new LayerWriter(tw, upperDir);
  return run(tw, async () => {
    await walkOverlayUpper(
      upperDir,
      { keepXattr: cfg.keepXattr, ...(opts.overlayXattrNamespaces !== undefined ? { overlayXattrNamespaces: opts.overlayXattrNamespaces } : {}) },
      {
        whiteout: (dir, name) => out.whiteout(dir.rel, name),
        entry: (dir, name, rel, st, x) => out.entry(dir.fd, name, rel, st, x.visible),
        opaque: (rel) => out.opaque(rel),
      },
    );
  });
}

// ---------------------------------------------------------------------------
// a plain tree (export, cp)

/** One entry to archive: `base` (a name in the tree's directory, or `.` for the directory itself) written as `name`. */
export interface ArchiveTop {
  base: Buffer;
  name: Buffer;
}

/**
 * A tar of a plain tree (see the module comment). With `top`, entry `top.base` of directory
 * `dir` is written as `top.name` and, when it is a directory, everything below it as
 * `top.name/...`; without, the contents of `dir` are written at the top level and `dir`
 * itself is not an entry. Nothing is followed (a symlink is written as one; a directory
 * swapped for a symlink while it is read is refused), except `dir` itself — which may be a
 * `/proc/self/fd/N` path of a directory the caller opened safely. Sockets are left out.
 */
export function archiveTree(dir: string, top: ArchiveTop | null, opts: DiffOptions = {}): Readable {
  const cfg = configure(opts);
  const keep = cfg.keepXattr;
  const tw = createTarWriter({ clampMtime: cfg.clampMtime, paxNanoseconds: cfg.paxNanoseconds, highWaterMark: cfg.highWaterMark });
  const out = new LayerWriter(tw, dir);

  const visitDir = async (dirfd: number, rel: Buffer): Promise<void> => {
    for (const name of await listDir(dirfd)) {
      const st = statAt(dirfd, name);
      if (kindOf(st.mode) === 'socket') continue;
      const childRel = joinRel(rel, name);
      await out.entry(dirfd, name, childRel, st, readXattrs(dirfd, name, keep));
      if (kindOf(st.mode) !== 'dir') continue;
      const child = openDir(dirfd, name);
      try {
        await visitDir(child, childRel);
      } finally {
        closeFd(child);
      }
    }
  };

  return run(tw, async () => {
    const root = openRoot(dir, 'source');
    try {
      if (top === null) {
        await visitDir(root, EMPTY);
        return;
      }
      const st = statAt(root, top.base);
      if (kindOf(st.mode) === 'socket') return;
      await out.entry(root, top.base, top.name, st, readXattrs(root, top.base, keep));
      if (kindOf(st.mode) !== 'dir') return;
      const fd = openDir(root, top.base);
      try {
        await visitDir(fd, top.name);
      } finally {
        closeFd(fd);
      }
    } finally {
      closeFd(root);
    }
  });
}

// ---------------------------------------------------------------------------
// two full trees (native driver)

/** A directory on the walk's current path, written to the archive only when something below it changed. */
interface DirCtx {
  parent: DirCtx | null;
  /** Writes the directory's own entry; null for the root (never an entry). */
  write: (() => Promise<void>) | null;
  written: boolean;
}

async function ensureWritten(ctx: DirCtx): Promise<void> {
  if (ctx.written) return;
  if (ctx.parent !== null) await ensureWritten(ctx.parent);
  ctx.written = true;
  if (ctx.write !== null) await ctx.write();
}

/** Names of one inode in upper, and whether that inode goes into the layer. */
interface LinkGroup {
  names: Buffer[];
  write: boolean;
}

function sameXattrs(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !w.equals(v)) return false;
  }
  return true;
}

/**
 * Whether `name` differs between lower and upper (both present), following continuity's
 * `sameFile`: see the module comment. `lowerFd`/`upperFd` are the parent directories.
 */
async function changed(
  lowerFd: number,
  upperFd: number,
  name: Buffer,
  l: NativeStat,
  u: NativeStat,
  keep: (n: string) => boolean,
): Promise<boolean> {
  if (l.mode !== u.mode || l.uid !== u.uid || l.gid !== u.gid) return true;
  const kind: EntryKind = kindOf(u.mode);
  if ((kind === 'char' || kind === 'block') && (l.rdevMajor !== u.rdevMajor || l.rdevMinor !== u.rdevMinor)) return true;
  if (!sameXattrs(readXattrs(lowerFd, name, keep), readXattrs(upperFd, name, keep))) return true;
  if (kind === 'dir') return false;
  if (kind === 'symlink' && !readLink(lowerFd, name).equals(readLink(upperFd, name))) return true;
  if (l.size !== u.size || l.mtimeSec !== u.mtimeSec) return true;
  if (l.mtimeNsec === 0 && u.mtimeNsec === 0) {
    if (kind !== 'file' || u.size === 0) return false;
    return !(await sameContent(lowerFd, name, upperFd, name, u.size));
  }
  return l.mtimeNsec !== u.mtimeNsec;
}

/** Every non-directory in upper with more than one name in it, by "dev:ino", names in walk order. */
async function collectLinkGroups(upperRoot: number): Promise<Map<string, LinkGroup>> {
  const groups = new Map<string, LinkGroup>();
  const visit = async (dirfd: number, rel: Buffer): Promise<void> => {
    for (const name of await listDir(dirfd)) {
      const st = statAt(dirfd, name);
      const kind = kindOf(st.mode);
      if (kind === 'dir') {
        const child = openDir(dirfd, name);
        try {
          await visit(child, joinRel(rel, name));
        } finally {
          closeFd(child);
        }
      } else if (st.nlink > 1 && kind !== 'socket') {
        const key = `${st.dev}:${st.ino}`;
        const g = groups.get(key);
        if (g === undefined) groups.set(key, { names: [joinRel(rel, name)], write: false });
        else g.names.push(joinRel(rel, name));
      }
    }
  };
  await visit(upperRoot, EMPTY);
  for (const [k, g] of groups) if (g.names.length < 2) groups.delete(k);
  return groups;
}

/** Decide for each link group whether any of its names was added or changed against lower. */
async function decideLinkGroups(groups: Map<string, LinkGroup>, lowerRoot: number, upperRoot: number, keep: (n: string) => boolean): Promise<void> {
  for (const g of groups.values()) {
    for (const rel of g.names) {
      const up = openParent(upperRoot, rel);
      if (up === null) continue; // gone since the scan: the main walk will not meet it either
      try {
        const lo = openParent(lowerRoot, rel);
        if (lo === null) {
          g.write = true;
          break;
        }
        try {
          let ls: NativeStat | null = null;
          try {
            ls = statAt(lo.fd, lo.name);
          } catch (e) {
            if (errnoCode(e) !== 'ENOENT') throw e;
          }
          if (ls === null || (await changed(lo.fd, up.fd, up.name, ls, statAt(up.fd, up.name), keep))) {
            g.write = true;
          }
        } finally {
          closeFd(lo.fd);
        }
      } finally {
        closeFd(up.fd);
      }
      if (g.write) break;
    }
  }
}

/**
 * The layer tar of the changes from `lowerDir` (the parent's tree) to `upperDir` (the
 * snapshot's full tree), with containerd's `fs.Changes` semantics (see the module
 * comment). The returned stream yields the tar bytes as it is read.
 */
export function diffDirs(lowerDir: string, upperDir: string, opts: DiffOptions = {}): Readable {
  const cfg = configure(opts);
  const keep = cfg.keepXattr;
  const tw = createTarWriter({ clampMtime: cfg.clampMtime, paxNanoseconds: cfg.paxNanoseconds, highWaterMark: cfg.highWaterMark });
  const out = new LayerWriter(tw, upperDir);
  let groups = new Map<string, LinkGroup>();

  /** Write upper entry `name` (and, for a directory, everything below it as added). */
  const writeEntry = async (ctx: DirCtx, upperFd: number, name: Buffer, rel: Buffer, st: NativeStat): Promise<void> => {
    await ensureWritten(ctx);
    await out.entry(upperFd, name, rel, st, readXattrs(upperFd, name, keep));
  };

  const visitDir = async (ctx: DirCtx, lowerFd: number | null, upperFd: number, rel: Buffer): Promise<void> => {
    interface Item {
      out: Buffer;
      name: Buffer;
      lower: NativeStat | null;
      upper: NativeStat | null;
    }
    const items: Item[] = [];
    const upperNames = await listDir(upperFd);
    const lowerNames = lowerFd === null ? [] : await listDir(lowerFd);
    let i = 0;
    let j = 0;
    while (i < lowerNames.length || j < upperNames.length) {
      const c = i >= lowerNames.length ? 1 : j >= upperNames.length ? -1 : compareBytes(lowerNames[i]!, upperNames[j]!);
      const name = c <= 0 ? lowerNames[i]! : upperNames[j]!;
      const lower = c <= 0 ? statAt(lowerFd!, name) : null;
      let upper = c >= 0 ? statAt(upperFd, name) : null;
      if (c <= 0) i++;
      if (c >= 0) j++;
      if (upper !== null && kindOf(upper.mode) === 'socket') upper = null;
      if (upper === null && lower === null) continue;
      if (upper !== null) out.refuseWhiteoutName(name, joinRel(rel, name));
      items.push({ out: upper === null ? Buffer.concat([WHITEOUT_PREFIX, name]) : name, name, lower, upper });
    }
    items.sort((a, b) => compareBytes(a.out, b.out));

    for (const it of items) {
      const childRel = joinRel(rel, it.name);
      if (it.upper === null) {
        await ensureWritten(ctx);
        await out.whiteout(rel, it.name);
        continue;
      }
      const u = it.upper;
      const l = it.lower;
      const ukind = kindOf(u.mode);
      if (ukind !== 'dir') {
        const group = u.nlink > 1 ? groups.get(`${u.dev}:${u.ino}`) : undefined;
        const write =
          group !== undefined ? group.write : l === null || (await changed(lowerFd!, upperFd, it.name, l, u, keep));
        if (write) await writeEntry(ctx, upperFd, it.name, childRel, u);
        continue;
      }
      // A directory: written now if added or changed, else only if something below it is.
      const lowerIsDir = l !== null && kindOf(l.mode) === 'dir';
      const dirChanged = !lowerIsDir || (await changed(lowerFd!, upperFd, it.name, l, u, keep));
      const child: DirCtx = {
        parent: ctx,
        write: () => out.entry(upperFd, it.name, childRel, u, readXattrs(upperFd, it.name, keep)),
        written: false,
      };
      if (dirChanged) await ensureWritten(child);
      const childUpper = openDir(upperFd, it.name);
      try {
        const childLower = lowerIsDir ? openDir(lowerFd!, it.name) : null;
        try {
          await visitDir(child, childLower, childUpper, childRel);
        } finally {
          if (childLower !== null) closeFd(childLower);
        }
      } finally {
        closeFd(childUpper);
      }
    }
  };

  return run(tw, async () => {
    const upperRoot = openRoot(upperDir, 'upper');
    try {
      const lowerRoot = openRoot(lowerDir, 'lower');
      try {
        groups = await collectLinkGroups(upperRoot);
        await decideLinkGroups(groups, lowerRoot, upperRoot, keep);
        await visitDir({ parent: null, write: null, written: true }, lowerRoot, upperRoot, EMPTY);
      } finally {
        closeFd(lowerRoot);
      }
    } finally {
      closeFd(upperRoot);
    }
  });
}
