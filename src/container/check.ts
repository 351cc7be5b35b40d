/**
 * Containers' directories as `system check` sees them (files.ts: ROOT/containers/<id>): a
 * record whose directory is gone, and a directory no record names (a create or an `rm` cut
 * short). A stopped container's directory holds nothing its next start does not write again
 * (bundle, /etc files, rootfs mount point), so it can be made again empty; a running one's
 * cannot (its monitor and runtime use it). A directory without a record is removed only with
 * nothing mounted under it, decided under the store's write lock (a create makes its
 * directory before its record's transaction commits, inside that transaction's lock).
 */
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeTx } from '../metadata/db.js';
import { randomBytes } from '../random.js';
import { removeTree } from '../rmtree.js';
import type { Store } from '../store/store.js';
import { mountsUnder } from '../volume/index.js';
import { containerFiles } from './files.js';
import { isLive } from './model.js';
import { findContainer, listContainers } from './records.js';

export type ContainerDirProblem =
  | { kind: 'missing-dir'; id: string; name: string; live: boolean }
  | { kind: 'orphan-dir'; entry: string; mounted: boolean };

function containersDir(root: string): string {
  return join(root, 'containers');
}

/** Records without their directory, then directories without a record (a removal of this module's cut short included). */
export function containerDirProblems(store: Store): ContainerDirProblem[] {
  const out: ContainerDirProblem[] = [];
  const records = listContainers(store.db);
  for (const c of records) {
    if (!existsSync(containerFiles(store.root, c.id).dir)) out.push({ kind: 'missing-dir', id: c.id, name: c.name, live: isLive(c.state.status) });
  }
  let entries: string[];
  try {
    entries = readdirSync(containersDir(store.root));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return out;
    throw e;
  }
  const ids = new Set(records.map((c) => c.id));
  for (const entry of entries.sort()) {
    if (ids.has(entry)) continue;
    out.push({ kind: 'orphan-dir', entry, mounted: mountsUnder(join(containersDir(store.root), entry)).length > 0 });
  }
  return out;
}

/** Make stopped container `id`'s directory again (empty: its next start fills it); false when it is live, gone, or has one. */
export function restoreContainerDir(store: Store, id: string): boolean {
  const c = findContainer(store.db, id);
  if (c === undefined || isLive(c.state.status)) return false;
  const dir = containerFiles(store.root, id).dir;
  if (existsSync(dir)) return false;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return true;
}

/** Remove directory `entry` of ROOT/containers if no record names it and nothing is mounted under it; whether it went. */
export async function removeOrphanDir(store: Store, entry: string): Promise<boolean> {
  const base = containersDir(store.root);
  const dir = join(base, entry);
  const trash = join(base, `.trash-${process.pid}-${randomBytes(6).toString('hex')}`);
  const moved = writeTx(store.db, () => {
    if (listContainers(store.db).some((c) => c.id === entry) || !existsSync(dir) || mountsUnder(dir).length > 0) return false;
    renameSync(dir, trash);
    return true;
  });
  if (moved) await removeTree(trash);
  return moved;
}
