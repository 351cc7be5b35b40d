/**
 * Reading a writable snapshot's mounts without mounting them: where a layer applier writes
 * a layer's files directly (as Docker's overlay2 and containerd's overlay applier do), and
 * how it must record a deletion there.
 *
 *   overlay with an upper directory   write into the upper directory; a deletion becomes an
 *                                     overlay whiteout (char device 0:0) and a directory that
 *                                     replaces a lower one is marked opaque
 *                                     (trusted.overlay.opaque=y), since the lower layers
 *                                     stay untouched below it
 *   read-write bind (native, or an    write into the directory itself; a deletion removes the
 *   overlay snapshot with no parent)  file, since nothing lies below it
 *
 * Except for a layer applied before its parent is known: on a driver with
 * `capabilities.rebase` (overlay), a snapshot prepared without a parent may be committed onto
 * one, so its directory is a future upper directory and deletions must be whiteouts (see
 * Capabilities in types.ts).
 */
import { InvalidArgumentError } from '../errors.js';
import type { Mount } from './types.js';

export interface WritableLayer {
  /** The directory a layer's files go into. */
  dir: string;
  /** 'whiteout': record deletions as overlay whiteouts; 'remove': delete the files themselves. */
  deletions: 'whiteout' | 'remove';
  /** The read-only layers below `dir`, topmost first (empty when `dir` holds the whole tree). */
  lowerdirs: string[];
}

/** The writable layer of an active snapshot's mounts (InvalidArgumentError for a view's). */
export function writableLayer(mounts: readonly Mount[]): WritableLayer {
  if (mounts.length !== 1) throw new InvalidArgumentError(`expected the single mount of a snapshot, got ${mounts.length}`);
  const m = mounts[0]!;
  if (m.options.includes('ro')) throw new InvalidArgumentError('the mounts are read-only (a view): there is no writable layer');
  if (m.type === 'overlay') {
    if (m.upperdir === undefined) throw new InvalidArgumentError('the overlay mount has no upper directory');
    return { dir: m.upperdir, deletions: 'whiteout', lowerdirs: [...(m.lowerdirs ?? [])] };
  }
  if (m.type === 'bind') return { dir: m.source, deletions: 'remove', lowerdirs: [] };
  throw new InvalidArgumentError(`unknown mount type ${String((m as { type: unknown }).type)}`);
}
