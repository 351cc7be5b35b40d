/**
 * Extracting a `cp` archive into a directory, with Docker 20.10's rules for it (pkg/archive
 * Untar with NoOverwriteDirNonDir) and the layer applier's safety for the writing
 * (layer/apply.ts: every entry created fd-relative below the directory, parents resolved
 * with openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS — nothing is written outside it, and
 * nothing is written through a symlink, even one pointing inside).
 *
 * The archive (gzip'd or not) passes through a rewrite on its way to the applier, entry by
 * entry, never held whole:
 *   - the top entry renamed, with everything below it (cp's placement: cp-paths.ts)
 *   - names cleaned as Go's filepath.Clean; a leading `/` dropped (joined below the
 *     directory, as Docker joins it); the directory's own entry (`.`) left out: the
 *     directory keeps its owner and mode, as Docker leaves it
 *   - refused, in Docker's words: a name that climbs out (`"x" is outside of "DIR"`), a
 *     symlink or hard link whose target, read from where it lies, climbs out (`invalid
 *     symlink`, `invalid hardlink`), an entry that would replace a directory with a
 *     non-directory or the reverse (`cannot overwrite directory ... with non-directory`)
 *   - AUFS bookkeeping (`.wh..wh.*`) skipped, as Docker skips it; any other `.wh.*` name
 *     refused (the applier would read it as a whiteout; Docker would write a plain file)
 *   - every entry given `owner` when one is asked for (`cp -a` into a container running as
 *     a user; the invoking user on the host side), else the owner the archive names
 */
import { CairnError, errnoCode } from '../errors.js';
import { decompressStream } from '../compression/stream.js';
import { applyLayer, type ApplyOptions, type ApplyResult } from '../layer/apply.js';
import { closeFd } from '../layer/walk.js';
import { constants, fstatat, openat2 } from '../native/index.js';
import { createTarWriter, TarReader, type TarHeader, type TarWriteHeader } from '../tar/index.js';
import { CopyError, goBase, goClean, goDir } from './cp-paths.js';

export interface UntarOptions {
  /** The archive's top entry `from` becomes `to` (and everything below it). */
  rename?: { from: string; to: string };
  /** Owner of every entry written (else the archive's). */
  owner?: { uid: number; gid: number };
  /** The directory as the user knows it (a path in the container, or on the host), for messages. */
  dest: string;
}

/** Extract `source` into the directory open as `dirFd` (see the module comment); `source` is released afterwards, whatever happened. */
export function untarInto(dirFd: number, source: AsyncIterable<Uint8Array>, opts: UntarOptions): Promise<void> {
  return untarAndRelease(dirFd, source, opts);
}

async function untar(dirFd: number, source: AsyncIterable<Uint8Array>, opts: UntarOptions): Promise<void> {
  const { stream } = await decompressStream(source);
  await applyRewritten(dirFd, stream, (h) => rewrite(dirFd, h, opts), { what: `copy to ${opts.dest}` });
}

/**
 * Apply the entries of tar stream `tar` to the directory open as `dirFd` through the layer
 * applier, each header first passed through `rewrite` (null: the entry is left out, its body
 * skipped): the tar re-written as it streams, nothing held whole. A failure of either side is
 * the one thrown, after the other has stopped.
 */
export async function applyRewritten(dirFd: number, tar: AsyncIterable<Uint8Array>, rewrite: (h: TarHeader) => TarWriteHeader | null, opts: ApplyOptions): Promise<ApplyResult> {
  const tw = createTarWriter({ paxNanoseconds: true });
  let applyFailed = false;
  let producerError: unknown;
  const produce = async (): Promise<void> => {
    for await (const entry of new TarReader(tar)) {
      const h = rewrite(entry.header);
      if (h === null) continue; // its body is skipped by the reader
      await tw.add(h, h.type === 'file' && entry.header.size > 0 ? entry.body : undefined);
    }
    await tw.finish();
  };
  const producing = produce().catch((e: unknown) => {
    // After the applier failed, the producer fails only because its stream was destroyed.
    if (!applyFailed) producerError = e;
    if (!tw.destroyed) tw.destroy(e instanceof Error ? e : new Error(String(e)));
  });
  let result: ApplyResult;
  try {
    result = await applyLayer({ dir: `/proc/self/fd/${dirFd}`, whiteoutMode: 'oci-remove' }, tw, opts);
  } catch (e) {
    applyFailed = producerError === undefined;
    if (!tw.destroyed) tw.destroy();
    await producing;
    throw producerError ?? e;
  }
  await producing;
  if (producerError !== undefined) throw producerError;
  return result;
}

/** Extract, then let the source go however the extraction ended (a generator's cleanup runs; a stream is destroyed). */
async function untarAndRelease(dirFd: number, source: AsyncIterable<Uint8Array>, opts: UntarOptions): Promise<void> {
  try {
    await untar(dirFd, source, opts);
  } finally {
    await source[Symbol.asyncIterator]().return?.();
  }
}

const q = (s: string): string => JSON.stringify(s);
const text = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('utf8');

/**
 * A header as read, to be written again under `name` (latin1: the bytes of the archive's name),
 * with everything else kept — mode, owner (or `owner`), times, device numbers, attributes, a
 * file's size; its link target is the caller's to set.
 */
export function renamedHeader(h: TarHeader, name: string, owner?: { uid: number; gid: number }): TarWriteHeader {
  const out: TarWriteHeader = {
    name: text(name),
    nameBytes: Buffer.from(name, 'latin1'),
    type: h.type,
    mode: h.mode,
    uid: owner?.uid ?? h.uid,
    gid: owner?.gid ?? h.gid,
    uname: h.uname,
    gname: h.gname,
    mtime: h.mtime,
    ...(h.atime ? { atime: h.atime } : {}),
    devmajor: h.devmajor,
    devminor: h.devminor,
    ...(h.xattrs.size > 0 ? { xattrs: h.xattrs } : {}),
  };
  if (h.type === 'file') out.size = h.size;
  return out;
}

/** Whether a relative path, read lexically, climbs above where it starts. */
function climbsOut(p: string): boolean {
  let depth = 0;
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (depth === 0) return true;
      depth--;
    } else {
      depth++;
    }
  }
  return false;
}

/** `name` with its top element `from` replaced by `to`. */
function renamed(name: string, r: { from: string; to: string } | undefined): string {
  if (r === undefined) return name;
  if (name === r.from) return r.to;
  if (name.startsWith(`${r.from}/`)) return `${r.to}${name.slice(r.from.length)}`;
  return name;
}

/** What lies at `rel` below the directory now: a directory, something else, or nothing (never through a symlink). */
function existing(dirFd: number, rel: string): 'dir' | 'other' | null {
  const c = constants;
  let fd: number;
  try {
    fd = openat2(dirFd, Buffer.from(rel, 'latin1'), c.O_PATH | c.O_NOFOLLOW, 0, c.RESOLVE_BENEATH | c.RESOLVE_NO_SYMLINKS | c.RESOLVE_NO_MAGICLINKS);
  } catch (e) {
    const code = errnoCode(e);
    // Nothing there, or not reachable without a symlink: the applier decides (and refuses the latter).
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EXDEV') return null;
    throw new CairnError('internal', `cannot look at ${q(text(rel))}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return (fstatat(fd, '', c.AT_EMPTY_PATH | c.AT_SYMLINK_NOFOLLOW).mode & c.S_IFMT) === c.S_IFDIR ? 'dir' : 'other';
  } finally {
    closeFd(fd);
  }
}

/** The entry as the applier gets it, or null to leave it out (see the module comment). */
function rewrite(dirFd: number, h: TarHeader, opts: UntarOptions): TarWriteHeader | null {
  const raw = (h.nameBytes ?? Buffer.from(h.name, 'utf8')).toString('latin1');
  const name = goClean(renamed(raw, opts.rename)).replace(/^\/+/, '') || '.';
  if (name === '.') return null;
  const shown = `${opts.dest.replace(/\/+$/, '')}/${text(name)}`;
  if (climbsOut(name)) throw new CopyError(`${q(text(raw))} is outside of ${q(opts.dest)}`);
  if (name.startsWith('.wh..wh.')) return null;
  if (goBase(name).startsWith('.wh.')) throw new CopyError(`cannot copy ${q(shown)}: cairn would read a name beginning with ".wh." as a whiteout`);
  const there = existing(dirFd, name);
  if (there === 'dir' && h.type !== 'dir') throw new CopyError(`cannot overwrite directory ${q(shown)} with non-directory ${q(opts.dest)}`);
  if (there === 'other' && h.type === 'dir') throw new CopyError(`cannot overwrite non-directory ${q(shown)} with directory ${q(opts.dest)}`);
  const out = renamedHeader(h, name, opts.owner);
  const link = (h.linknameBytes ?? Buffer.from(h.linkname, 'utf8')).toString('latin1');
  if (h.type === 'hardlink') {
    const target = goClean(renamed(link, opts.rename)).replace(/^\/+/, '') || '.';
    if (climbsOut(target)) throw new CopyError(`invalid hardlink ${q(shown)} -> ${q(text(link))}`);
    out.linkname = text(target);
    out.linknameBytes = Buffer.from(target, 'latin1');
  } else if (h.type === 'symlink') {
    const from = goDir(name);
    if (climbsOut(`${from === '.' ? '' : from}/${link}`)) throw new CopyError(`invalid symlink ${q(shown)} -> ${q(text(link))}`);
    out.linkname = text(link);
    out.linknameBytes = Buffer.from(link, 'latin1');
  }
  return out;
}
