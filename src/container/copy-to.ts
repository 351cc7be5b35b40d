/**
 * `cp` into a container, as Docker 20.10 does it: the destination looked at first (a symlink
 * there followed once, inside the root; a device refused), then a tar read from the caller
 * (`-`: the destination must be an existing directory) or a host path archived (host-copy.ts)
 * and placed as cp-paths.ts decides, then extracted into the directory it goes into —
 * resolved inside the root filesystem with every symlink followed there (RESOLVE_IN_ROOT:
 * never onto the host), opened once, and written below that descriptor only (untar.ts).
 *
 * Owners: as the archive names them (Docker keeps a host file's uid and gid, `-a` or not,
 * unless the container has a user); `owner` gives every entry one owner (`-a` into a
 * container whose Config.User is set: that user's uid and primary gid, looked up in the
 * container's /etc/passwd — runtime/user.ts resolveUser — where Docker 20.10 looks on the
 * host). The caller refuses a read-only root filesystem, and pauses nothing: Docker copies
 * into a running container as it runs.
 */
import { closeSync } from 'node:fs';
import { resolveInRoot } from '../runtime/rootpath.js';
import { ContainerPathNotFoundError, destinationInfo, openDirInRoot } from './copy-from.js';
import { type ArchivePlacement, CopyError, containerPath, prepareArchiveCopy } from './cp-paths.js';
import { hostArchive, hostSourceInfo } from './host-copy.js';
import { untarInto } from './untar.js';
import { constants as C } from '../native/index.js';

/** What to copy in: a tar stream (`docker cp - CTR:DIR`), or a host path (`-L`: follow a symlink there). */
export type CopyInput = { tar: AsyncIterable<Uint8Array> } | { hostPath: string; followLink?: boolean };

export interface CopyToOptions {
  /** The container's name, for messages (default "container"). */
  container?: string;
  /** Owner of everything written (see the module comment); default: the archive's. */
  owner?: { uid: number; gid: number };
  /** Why nothing may be written there (Docker's daemon's words), said once the copy's source is checked and placed. */
  readOnly?: string;
}

/** Copy `input` to `destPath` in the container whose root filesystem is mounted at `rootfs`. */
export async function copyToContainer(rootfs: string, destPath: string, input: CopyInput, opts: CopyToOptions = {}): Promise<void> {
  const container = opts.container ?? 'container';
  containerPath(destPath, container); // a path climbing out is refused before anything is read
  const { info: dst, stat } = destinationInfo(rootfs, destPath, container);
  if (stat !== undefined && ((stat.mode & C.S_IFMT) === C.S_IFCHR || (stat.mode & C.S_IFMT) === C.S_IFBLK)) {
    throw new CopyError(`destination "${container}:${destPath}" must be a directory or a regular file: got a device`);
  }
  let placement: ArchivePlacement;
  let tar: AsyncIterable<Uint8Array>;
  if ('tar' in input) {
    if (!dst.isDir) throw new CopyError(`destination "${container}:${destPath}" must be a directory`);
    placement = { dir: dst.path };
    tar = input.tar;
  } else {
    const src = hostSourceInfo(input.hostPath, input.followLink === true);
    const archive = hostArchive(src);
    placement = prepareArchiveCopy(src, archive.top, dst);
    tar = archive.tar;
  }
  if (opts.readOnly !== undefined) throw new CopyError(opts.readOnly, { daemon: true });
  const into = extractionDir(rootfs, placement.dir, container);
  try {
    await untarInto(into.fd, tar, {
      ...(placement.rename ? { rename: placement.rename } : {}),
      ...(opts.owner ? { owner: opts.owner } : {}),
      dest: into.path,
    });
  } finally {
    closeSync(into.fd);
  }
}

/**
 * `cp SRC CTR:DEST` when there is no container CTR, as Docker's CLI goes on (its look at the
 * destination failed, so it takes the destination as missing): a tar on stdin needs an
 * existing directory; a host source is looked at and placed; then the daemon has no
 * container at the directory it would go into. Always throws.
 */
export function copyToMissingContainer(destPath: string, input: CopyInput, container: string): never {
  const dst = { path: destPath, exists: false, isDir: false };
  if ('tar' in input) throw new CopyError(`destination "${container}:${destPath}" must be a directory`);
  const src = hostSourceInfo(input.hostPath, input.followLink === true);
  const placement = prepareArchiveCopy(src, hostArchive(src).top, dst);
  throw new ContainerPathNotFoundError(container, placement.dir);
}

/** The directory an archive goes into, resolved inside the root with every symlink followed, opened (O_PATH). */
function extractionDir(rootfs: string, dir: string, container: string): { fd: number; path: string } {
  const resolved = resolveInRoot(rootfs, containerPath(dir, container));
  if (resolved.kind === undefined) throw new ContainerPathNotFoundError(container, dir);
  if (resolved.kind !== 'dir') throw new CopyError('extraction point is not a directory', { daemon: true });
  return { fd: openDirInRoot(rootfs, resolved.path), path: resolved.path };
}
