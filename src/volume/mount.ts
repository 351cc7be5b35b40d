/**
 * Mounting a volume that has driver options at its mount point, as Docker's local driver does
 * (`mount(type, device, o)`: a tmpfs, an NFS export, a bind with `o=bind`), unmounting it, and
 * reading the mount table for what is mounted at or under a volume's directory — which is
 * the truth a count of users is checked against, and what removal must find empty (a bind
 * mount on the same file system would otherwise lead a tree removal into its source).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { CairnError, ConflictError, errnoCode } from '../errors.js';
import { constants, mount, umount2 } from '../native/index.js';
import { mountCallError, mountCalls, type VolumeOptions } from './options.js';

/** libuv's message ("ENOENT: no such file or directory, mount ...") as Go prints an errno: "no such file or directory". */
function errnoText(e: unknown): string {
  const m = /^E[A-Z0-9]+: ([^,]+)/.exec((e as Error).message);
  return m ? m[1]! : (e as Error).message;
}

/**
 * An NFS `addr=` that is a host name is resolved first, as Docker does (the kernel's NFS
 * client takes an address only).
 */
async function resolveNfsAddr(options: VolumeOptions): Promise<VolumeOptions> {
  if (options.type !== 'nfs' || options.o === undefined) return options;
  const m = /(?:^|,)addr=([^,]*)/.exec(options.o);
  if (!m || m[1] === '' || isIP(m[1]!) === 4) return options;
  const addr = m[1]!;
  let ip: string;
  try {
    ip = (await lookup(addr)).address;
  } catch (e) {
    throw new CairnError('internal', `error resolving passed in network volume address: ${(e as Error).message}`, { cause: e });
  }
  return { ...options, o: options.o.replace(`addr=${addr}`, `addr=${ip}`) };
}

/**
 * Mount a volume with `options` at `target`; Docker's error words when the kernel refuses
 * ("error while mounting volume 'T': failed to mount local volume: mount D:T, ...: ERR").
 * A later call that fails undoes the mount made before it.
 */
export async function mountVolume(options: VolumeOptions, target: string): Promise<void> {
  const opts = await resolveNfsAddr(options);
  let mounted = false;
  for (const call of mountCalls(opts)) {
    try {
      mount(call.source, target, call.fstype, call.flags, call.data);
    } catch (e) {
      if (mounted) umount2(target, constants.MNT_DETACH);
      throw new CairnError('internal', `error while mounting volume '${target}': failed to mount local volume: ${mountCallError(call, target, errnoText(e))}`, { cause: e });
    }
    if (call.op === 'mount') mounted = true;
  }
}

/** Unmount whatever is mounted at `target` (stacked mounts too); how many were. */
export function unmountVolume(target: string): number {
  for (let n = 0; ; n++) {
    try {
      umount2(target, constants.UMOUNT_NOFOLLOW);
    } catch (e) {
      const code = errnoCode(e);
      // EINVAL: not a mount point (any more); ENOENT: no such directory.
      if (code === 'EINVAL' || code === 'ENOENT') return n;
      if (code === 'EBUSY') throw new ConflictError(`cannot unmount ${target}: it is busy (a process uses files under it)`, { cause: e });
      throw new CairnError('internal', `cannot unmount ${target}: ${errnoText(e)}`, { cause: e });
    }
  }
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** This process's mount points (from /proc/self/mountinfo), in mount order. */
function mountPoints(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const at = line.split(' ')[4];
    if (at !== undefined) out.push(unescape(at));
  }
  return out;
}

/** The real path of `dir` (mountinfo names real paths), or undefined when it does not exist. */
function real(dir: string): string | undefined {
  try {
    return realpathSync(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Whether something is mounted at `dir`. */
export function isMountPoint(dir: string): boolean {
  const at = real(dir);
  return at !== undefined && mountPoints().includes(at);
}

/** Mount points at `dir` or anywhere under it. */
export function mountsUnder(dir: string): string[] {
  const at = real(dir);
  if (at === undefined) return [];
  const prefix = at === '/' ? '/' : `${resolve(at)}/`;
  return [...new Set(mountPoints().filter((m) => m === at || m.startsWith(prefix)))];
}
