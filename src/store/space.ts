/**
 * A full disk, said as such: work that writes into the store (load, pull, import) watches the
 * free space of the store's file system from its start, and a failure the kernel or SQLite
 * reports as "no space" becomes one NoSpaceError that says how much the work needed and how
 * much was free. By then the work has given back what it wrote (the sink's abort: its
 * unpacked files first, then its records — StoreSink, Lease.abandon).
 */
import { statfsSync } from 'node:fs';
import { isNoSpace, NoSpaceError } from '../errors.js';

/** What a piece of work needs: about this much, or at least this much (more once unpacked). */
export interface SpaceNeed {
  bytes: number;
  atLeast: boolean;
}

export interface SpaceWatch {
  /** Free bytes on the store's file system when the work began. */
  readonly freeBefore: number;
  /**
   * `e` as a NoSpaceError naming `what` and the space it needed (when known), when `e` is a
   * full disk (isNoSpace); otherwise `e` itself.
   */
  explain(e: unknown, what: string, need: SpaceNeed | undefined): unknown;
}

/** Free bytes for an unprivileged writer on the file system holding `path`. */
export function freeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

export function watchSpace(root: string): SpaceWatch {
  const freeBefore = freeBytes(root);
  return {
    freeBefore,
    explain(e, what, need) {
      if (!isNoSpace(e) || e instanceof NoSpaceError) return e;
      const n = need;
      const needs = n === undefined ? `more than the ${megabytes(freeBefore)} that were free` : `${n.atLeast ? 'at least' : 'about'} ${megabytes(n.bytes)}, ${megabytes(freeBefore)} were free`;
      return new NoSpaceError(`no space left on device in ${root}: ${what} needs ${needs}; nothing of it was kept`, { cause: e });
    },
  };
}

function megabytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}
