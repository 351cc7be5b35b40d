/**
 * An overlay upper directory read as a layer's entries, in archive order — what
 * `diffOverlayUpper` (diff.ts) writes as a tar and `copyUpperRecorded` (upper-copy.ts) copies
 * while recording its tar: one reading of the upper for both, so they cannot disagree.
 *
 * Every entry of the upper is a change. A character device 0:0 is a deletion; so is an empty
 * regular file marked `overlay.whiteout` (an "xattr whiteout", Linux 6.7+). A directory marked
 * `overlay.opaque=y` replaced what was below it. Overlay's own attributes (`trusted.overlay.*`,
 * and `user.overlay.*` where overlay keeps them there) are interpreted and left out of what the
 * container sees; escaped ones (`trusted.overlay.overlay.X`) are the container's `trusted.overlay.X`.
 * An entry marked `overlay.metacopy` or `overlay.redirect` holds no data or name of its own:
 * UnsupportedError (cairn mounts with metacopy=off, redirect_dir=off). Sockets are passed over.
 *
 * Order: each directory's entries sorted by the byte value of their names in the archive (a
 * deletion sorts as `.wh.NAME`); a directory is visited before its children, and its opaque
 * marker right after it; the root is never an entry. Everything is relative to open directory
 * fds (walk.ts); a directory's fd is open from before its first child is visited until its
 * `leave` has settled.
 *
 * Each directory is read in one native call (scanDir: every entry stat'ed, with the size of
 * its attribute list, sorted); only the entries that have attributes are read further here.
 * Consecutive regular files with one link and no attributes — most of a container's layer —
 * go to a visitor that takes them at once (`files`) as indexes into that scan, with no object
 * per entry; any other visitor gets them one by one, as every other entry.
 */
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../errors.js';
import { constants, errnoCode, type NativeStat, SCAN, SCAN_SLOTS, scanDir, scannedStat } from '../native/index.js';
import { refuseWhiteoutName } from './headers.js';
import { closeFd, compareBytes, joinRel, kindOf, openDir, readXattrs, readXattrsFd } from './walk.js';

const WHITEOUT_PREFIX = Buffer.from('.wh.');
const EMPTY = Buffer.alloc(0);
/** The attributes of an entry that has none (shared: visitors never change what they are given). */
const NO_XATTRS: OverlayXattrs = { raw: new Map(), visible: new Map(), opaque: false, whiteout: false };

/** An upper entry's attributes, read once. */
export interface OverlayXattrs {
  /** Every attribute as stored in the upper (overlay's own included). */
  raw: Map<string, Buffer>;
  /** The attributes the container sees, filtered by the walk's `keepXattr`. */
  visible: Map<string, Buffer>;
  opaque: boolean;
  /** An overlay "xattr whiteout" (a regular file marked `overlay.whiteout`, Linux 6.7+). */
  whiteout: boolean;
}

/** A directory of the upper being visited: its open fd and its path in the archive ('' for the root). */
export interface UpperDir {
  fd: number;
  rel: Buffer;
}

/** A regular file with data among a directory's entries. */
export interface UpperFile {
  name: Buffer;
  size: number;
}

/**
 * Consecutive entries of a directory that are regular files with one link and no attributes
 * (nothing but a name, an owner, a mode, a size and times): entries `idx` of the directory's
 * scan (native scanDir: `names`, `info`), in archive order.
 */
export interface UpperRun {
  names: Buffer;
  info: Float64Array;
  idx: number[];
}

export interface UpperVisitor {
  /**
   * Directory `dir` (the root too) is about to be visited; `files`: its regular files with
   * data, in the order they will be visited (a copy may read them ahead).
   */
  enter?(dir: UpperDir, files: UpperFile[]): Promise<void> | void;
  /**
   * The deletion of `name` in `dir` (archived as `.wh.NAME`). `st` is the whiteout's own
   * stat; `xattrs` its attributes when they were read (an xattr whiteout), else null.
   */
  whiteout(dir: UpperDir, name: Buffer, st: NativeStat, xattrs: OverlayXattrs | null): Promise<void> | void;
  /** Entry `name` of `dir`, archived as `rel`. A directory's children follow, then {@link leave}. */
  entry(dir: UpperDir, name: Buffer, rel: Buffer, st: NativeStat, xattrs: OverlayXattrs): Promise<void> | void;
  /**
   * A run of plain regular files of `dir` (see {@link UpperRun}), taken at once; without this,
   * each goes to {@link entry} (a stat built from the scan, no attributes).
   */
  files?(dir: UpperDir, run: UpperRun): Promise<void> | void;
  /** Directory `rel` (EMPTY: the root) replaced what was below it: right after its entry. */
  opaque(rel: Buffer): Promise<void> | void;
  /** Every entry of directory `dir` (the root too) was visited; `dir.fd` stays open until this settles. */
  leave?(dir: UpperDir): Promise<void> | void;
}

export interface UpperWalkOptions {
  /** Which of the container's attributes are visible (default: all). */
  keepXattr?: (name: string) => boolean;
  /**
   * The xattr namespaces overlay keeps its own attributes in (default both). Mounted without
   * `userxattr`, overlay uses only `trusted.`, and `user.overlay.*` attributes belong to the container.
   */
  overlayXattrNamespaces?: ReadonlyArray<'trusted' | 'user'>;
}

function overlayPrefixes(ns: ReadonlyArray<'trusted' | 'user'>): string[] {
  return ns.map((n) => {
    if (n !== 'trusted' && n !== 'user') throw new InvalidArgumentError(`overlay xattr namespace must be "trusted" or "user", got ${JSON.stringify(n)}`);
    return `${n}.overlay.`;
  });
}

/** Split an upper entry's attributes into overlay's own (interpreted) and the container's. */
function splitOverlayXattrs(raw: Map<string, Buffer>, prefixes: string[], keep: (n: string) => boolean, what: () => string): OverlayXattrs {
  const out: OverlayXattrs = { raw, visible: new Map(), opaque: false, whiteout: false };
  for (const [key, value] of raw) {
    const prefix = prefixes.find((p) => key.startsWith(p));
    let name = key;
    if (prefix !== undefined) {
      const rest = key.slice(prefix.length);
      if (rest.startsWith('overlay.')) {
        name = prefix + rest.slice('overlay.'.length); // escaped: the container's own attribute
      } else {
        if (rest === 'opaque') out.opaque = value.length === 1 && value[0] === 0x79; // 'y'; 'x' only marks xattr whiteouts inside
        else if (rest === 'whiteout') out.whiteout = true;
        else if (rest === 'metacopy' || rest === 'redirect') {
          throw new UnsupportedError(
            `${what()} has overlay "${rest}" (its data or name lives in a lower layer); the upper alone cannot be diffed: mount with metacopy=off,redirect_dir=off`,
          );
        }
        continue; // origin, impure, nlink, upper, uuid, protattr, ...: overlay bookkeeping
      }
    }
    if (keep(name)) out.visible.set(name, value);
  }
  return out;
}

/** Open the upper's root directory (a symlink to it is followed: only entries inside are never followed). */
function openRoot(dir: string): number {
  try {
    return openDir(constants.AT_FDCWD, dir, true);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') throw new NotFoundError(`layer diff: upper directory ${dir} does not exist`, { cause: e });
    if (code === 'ENOTDIR') throw new InvalidArgumentError(`layer diff: upper ${dir} is not a directory`, { cause: e });
    throw e;
  }
}

/**
 * Whether an attribute of an upper entry stays when the upper becomes a layer directory of the
 * snapshot format (mounted with overlay's attributes in the `trusted` namespace): the entry's own
 * attributes, and of overlay's only what makes the layer — opaque directories, xattr whiteouts,
 * escaped `trusted.overlay.overlay.*` — never its bookkeeping (origin, impure, nlink, ...).
 */
export function keptInLayer(name: string): boolean {
  if (!name.startsWith('trusted.overlay.')) return true;
  const rest = name.slice('trusted.overlay.'.length);
  return rest === 'opaque' || rest === 'whiteout' || rest.startsWith('overlay.');
}

/**
 * Visit the entries of overlay upper directory `upperDir` in archive order (see the module
 * comment). Returns the root's own attributes (an opaque root has been told to `opaque(EMPTY)`).
 */
export async function walkOverlayUpper(upperDir: string, opts: UpperWalkOptions, visitor: UpperVisitor): Promise<OverlayXattrs> {
  const prefixes = overlayPrefixes(opts.overlayXattrNamespaces ?? ['trusted', 'user']);
  const keep = opts.keepXattr ?? (() => true);
  const what = (rel: Buffer): string => `layer diff: ${upperDir}/${rel.toString('utf8')}`;

  const visitDir = async (dir: UpperDir): Promise<void> => {
    /** An entry, by its place in the scan; deletions sort as `.wh.NAME`; `x` null: no attributes (or a 0:0 whiteout). */
    interface Item {
      i: number;
      x: OverlayXattrs | null;
      deleted: boolean;
    }
    const { names, info } = scanDir(dir.fd);
    const count = info.length / SCAN_SLOTS;
    const nameOf = (i: number): Buffer => names.subarray(info[i * SCAN_SLOTS + SCAN.nameOff]!, info[i * SCAN_SLOTS + SCAN.nameOff]! + info[i * SCAN_SLOTS + SCAN.nameLen]!);
    const items: Item[] = [];
    let resort = false;
    for (let i = 0; i < count; i++) {
      const o = i * SCAN_SLOTS;
      const type = info[o + SCAN.mode]! & constants.S_IFMT;
      if (type === constants.S_IFSOCK) continue;
      if (type === constants.S_IFCHR && info[o + SCAN.rdevMajor] === 0 && info[o + SCAN.rdevMinor] === 0) {
        items.push({ i, x: null, deleted: true });
        continue;
      }
      let x: OverlayXattrs | null = null;
      if (info[o + SCAN.xattrBytes] !== 0) {
        const name = nameOf(i);
        x = splitOverlayXattrs(readXattrs(dir.fd, name), prefixes, keep, () => what(joinRel(dir.rel, name)));
        if (x.whiteout && type === constants.S_IFREG && info[o + SCAN.size] === 0) {
          items.push({ i, x, deleted: true });
          resort = true; // the scan sorted it by its own name
          continue;
        }
      }
      if (names[info[o + SCAN.nameOff]!] === 0x2e && info[o + SCAN.nameLen]! >= 4) refuseWhiteoutName(what(joinRel(dir.rel, nameOf(i))), nameOf(i));
      items.push({ i, x, deleted: false });
    }
    if (resort) {
      const out = (it: Item): Buffer => (it.deleted ? Buffer.concat([WHITEOUT_PREFIX, nameOf(it.i)]) : nameOf(it.i));
      items.sort((a, b) => compareBytes(out(a), out(b)));
    }
    const isFile = (it: Item): boolean => !it.deleted && (info[it.i * SCAN_SLOTS + SCAN.mode]! & constants.S_IFMT) === constants.S_IFREG;
    if (visitor.enter !== undefined) {
      const files: UpperFile[] = [];
      for (const it of items) if (isFile(it) && info[it.i * SCAN_SLOTS + SCAN.size]! > 0) files.push({ name: nameOf(it.i), size: info[it.i * SCAN_SLOTS + SCAN.size]! });
      await visitor.enter(dir, files);
    }
    let run: number[] = [];
    const flush = async (): Promise<void> => {
      if (run.length === 0) return;
      const idx = run;
      run = [];
      const r = visitor.files!(dir, { names, info, idx });
      if (r !== undefined) await r;
    };
    for (const it of items) {
      const plain = it.x === null && isFile(it) && info[it.i * SCAN_SLOTS + SCAN.nlink] === 1;
      if (plain && visitor.files !== undefined) {
        run.push(it.i);
        continue;
      }
      await flush();
      const name = nameOf(it.i);
      const st = scannedStat(info, it.i);
      if (it.deleted) {
        await visitor.whiteout(dir, name, st, it.x);
        continue;
      }
      const x = it.x ?? NO_XATTRS;
      const rel = joinRel(dir.rel, name);
      const r = visitor.entry(dir, name, rel, st, x);
      if (r !== undefined) await r;
      if (kindOf(st.mode) !== 'dir') continue;
      if (x.opaque) await visitor.opaque(rel);
      const child: UpperDir = { fd: openDir(dir.fd, name), rel };
      try {
        await visitDir(child);
      } finally {
        closeFd(child.fd);
      }
    }
    await flush();
    await visitor.leave?.(dir);
  };

  const root = openRoot(upperDir);
  try {
    const x = splitOverlayXattrs(readXattrsFd(root), prefixes, keep, () => upperDir);
    if (x.opaque) await visitor.opaque(EMPTY);
    await visitDir({ fd: root, rel: EMPTY });
    return x;
  } finally {
    closeFd(root);
  }
}
