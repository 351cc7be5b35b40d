/**
 * What crashes leave under ROOT/volumes, removed: work directories of dead processes (a
 * creation or removal killed half-way) and volume directories without a record (a creator
 * killed between renaming its directory into place and committing its record — the
 * transaction rolled back). A directory with anything mounted under it is left alone for a
 * person to look at: removing it could reach into what is mounted there. Run by the store's
 * garbage collector (the engine hooks it in) and by `volume prune`; a create clears a leftover
 * under its own name itself.
 */
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { processAlive } from '../process.js';
import { removeTree } from '../rmtree.js';
import type { Store } from '../store/store.js';
import { volumesDir, workName, workOwner } from './layout.js';
import { mountsUnder } from './mount.js';
import { volumeNames } from './records.js';

/** A leftover under ROOT/volumes: a dead process's work directory, or a directory no volume record names. */
export interface VolumeLeftover {
  /** Its name under ROOT/volumes. */
  entry: string;
  /** The process that made it (gone), for a work directory; undefined for a directory without a record. */
  owner: number | undefined;
}

/** What {@link sweepVolumeLeftovers} would remove, without removing it (`system check`). */
export function volumeLeftovers(store: Store): VolumeLeftover[] {
  let entries: string[];
  try {
    entries = readdirSync(volumesDir(store.root));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
  const known = volumeNames(store.db);
  const out: VolumeLeftover[] = [];
  for (const name of entries.sort()) {
    if (name.startsWith('.')) {
      const owner = workOwner(name, 'tmp') ?? workOwner(name, 'trash');
      if (owner !== undefined && !processAlive(owner)) out.push({ entry: name, owner });
    } else if (!known.has(name)) {
      out.push({ entry: name, owner: undefined });
    }
  }
  return out;
}

/** Remove leftovers; returns the names (under ROOT/volumes) of what was removed. */
export async function sweepVolumeLeftovers(store: Store): Promise<string[]> {
  const base = volumesDir(store.root);
  // What goes: [directory under ROOT/volumes, what it was].
  const gone: Array<[dir: string, was: string]> = [];
  const orphans: string[] = [];
  for (const l of volumeLeftovers(store)) {
    if (l.owner !== undefined) gone.push([l.entry, l.entry]);
    else orphans.push(l.entry);
  }
  if (orphans.length > 0) {
    // Decided and moved aside under the write lock: a creator renames its directory into place under it too.
    writeTx(store.db, () => {
      const now = volumeNames(store.db);
      for (const name of orphans) {
        const dir = join(base, name);
        if (now.has(name) || !existsSync(dir) || mountsUnder(dir).length > 0) continue;
        const trash = workName('trash');
        renameSync(dir, join(base, trash));
        gone.push([trash, name]);
      }
    });
  }
  const removed: string[] = [];
  for (const [name, was] of gone) {
    const dir = join(base, name);
    if (mountsUnder(dir).length > 0) continue;
    await removeTree(dir);
    removed.push(was);
  }
  return removed;
}
