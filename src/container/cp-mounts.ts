/**
 * What `cp` sees of a container besides its root filesystem. Docker's daemon mounts a
 * container's volumes, binds and (once it ran) its /etc/hostname, /etc/hosts and
 * /etc/resolv.conf for an archive operation, so `docker cp` reads and writes them there. cairn
 * mounts nothing for it: a path at or below a mount's destination is copied from or to the
 * mount's source instead, resolved inside that source (the copy's root becomes the source, or
 * its directory for the mount point itself, so that the archive's top entry can be named as
 * the container path names it). A symlink inside a volume is thus followed within the volume.
 * *pure*
 */
import { goClean } from './cp-paths.js';

/** A mount as `cp` sees it: where it is in the container, what it shows there. */
export interface CopyMount {
  /** Absolute and clean, in the container. */
  destination: string;
  /** A host directory (a volume's data, a bind's source), or a host file (`file`). */
  source: string;
  readOnly: boolean;
  file: boolean;
}

/** Where a copy happens: a root directory and a path inside it, and the name of the archive's top entry when it is not that path's. */
export interface CopyView {
  root: string;
  path: string;
  top?: string;
  /** The mount the path lies in, if any. */
  mount?: CopyMount;
}

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** The view of container path `path` (as `cp` was given it) for a container on `rootfs` with `mounts`. */
export function copyView(rootfs: string, mounts: readonly CopyMount[], path: string): CopyView {
  const abs = path.startsWith('/') ? path : `/${path}`;
  const clean = goClean(abs);
  const trailing = abs.endsWith('/.') ? '/.' : abs.endsWith('/') && clean !== '/' ? '/' : '';
  const byDepth = [...mounts].sort((a, b) => b.destination.length - a.destination.length);
  for (const m of byDepth) {
    if (clean === m.destination) {
      // the mount point itself: its source, named as the container names it
      if (m.file || trailing === '') return { root: dirOf(m.source), path: `/${baseOf(m.source)}${trailing}`, top: baseOf(m.destination), mount: m };
      return { root: m.source, path: trailing === '/.' ? '/.' : '/', ...(trailing === '/' ? { top: baseOf(m.destination) } : {}), mount: m };
    }
    if (!m.file && clean.startsWith(`${m.destination}/`)) return { root: m.source, path: `${clean.slice(m.destination.length)}${trailing}`, mount: m };
  }
  return { root: rootfs, path };
}
