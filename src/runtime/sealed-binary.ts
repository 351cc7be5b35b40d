/**
 * The OCI runtime's binary served from a read-only bind mount, so that crun need not copy itself
 * before every container it starts.
 *
 * crun guards the host's binary against a container that would rewrite it through
 * /proc/self/exe (CVE-2019-5736): unless it runs from a sealed memfd or from a read-only file
 * system, it copies itself into one and executes the copy (crun's cloned_binary.c), ~1.5 ms of
 * every `run`, `create` and `exec` here. A read-only bind mount of the binary is what crun checks
 * for (fstatfs of /proc/self/exe, MS_RDONLY): run from there it skips the copy, and the binary
 * cannot be written through it (EROFS), which is the point of the copy.
 *
 * The mount is made once per machine and boot, as root, at /run/cairn/bin/<identity>/<name> (a
 * tmpfs: gone at reboot; the identity is the binary's device, inode, size and modification
 * time): an upgraded runtime gets a new mount and the stale ones go, under a lock. Whatever stops it (not
 * root, no /run, a kernel that refuses) leaves the runtime run from its own path, as before:
 * crun then copies itself, which is only slower.
 */
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { constants as C, errnoCode, flock, mount, umount2 } from '../native/index.js';

/** Where the mounts are made (tmpfs on every Linux with systemd or not: /run is the FHS's run-time state). */
export const SEALED_DIR = '/run/cairn/bin';

/**
 * The directory of the mount for the binary `st` describes (another build or version is another
 * directory); the mount inside it keeps the binary's own name, which `ps` shows.
 */
function sealedDir(base: string, st: Stats): string {
  return `${base}-${st.dev}-${st.ino}-${st.size}-${Math.trunc(st.mtimeMs * 1000)}`;
}

/** Whether `target` is (still) a bind of the file `st` describes (a bind shows its source's inode). */
function bindOf(target: string, st: Stats): boolean {
  try {
    const t = statSync(target);
    return t.dev === st.dev && t.ino === st.ino;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** A failure that only means "no sealed copy here": the caller runs the binary itself. */
function unavailable(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'EPERM' || code === 'EACCES' || code === 'EROFS' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'EINVAL' || code === 'ENOSPC';
}

let refused = false;

/**
 * The path to execute the binary at `path` (absolute) from: its read-only bind mount under
 * `dir`, made if need be, or `path` itself when that cannot be had (not root, no /run, ...).
 */
export function sealedBinary(path: string, dir = SEALED_DIR): string {
  if (refused || process.getuid?.() !== 0) return path;
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return path; // the caller says it is missing
    throw e;
  }
  const base = path.slice(path.lastIndexOf('/') + 1);
  const own = sealedDir(base, st);
  const target = join(dir, own, base);
  if (bindOf(target, st)) return target;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lock = openSync(join(dir, '.lock'), 'a', 0o600);
    try {
      flock(lock, C.LOCK_EX);
      if (!bindOf(target, st)) {
        dropStale(dir, base, own);
        mkdirSync(join(dir, own), { recursive: true, mode: 0o700 });
        closeSync(openSync(target, 'a', 0o500));
        try {
          mount(path, target, null, C.MS_BIND);
          mount(null, target, null, C.MS_REMOUNT | C.MS_BIND | C.MS_RDONLY);
        } catch (e) {
          umountQuietly(target);
          rmSync(target, { force: true });
          throw e;
        }
      }
    } finally {
      closeSync(lock);
    }
    return bindOf(target, st) ? target : path;
  } catch (e) {
    if (!unavailable(e)) throw e;
    // no mount here (a container without CAP_SYS_ADMIN, a read-only /run): the runtime copies itself, as before
    refused = true;
    return path;
  }
}

/** Earlier mounts of the same binary name (an older build): unmounted and removed. */
function dropStale(dir: string, base: string, keep: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${base}-`) || name === keep) continue;
    umountQuietly(join(dir, name, base));
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function umountQuietly(p: string): void {
  try {
    // detached: a runtime still running from it keeps its file until it exits
    umount2(p, C.MNT_DETACH);
  } catch (e) {
    // not mounted (a leftover file): nothing to undo
    if (errnoCode(e) !== 'EINVAL' && errnoCode(e) !== 'ENOENT') throw e;
  }
}
