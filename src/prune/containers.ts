/**
 * `container prune`, as Docker 20.10's daemon prunes (daemon/prune.go ContainersPrune): every
 * container that does not run (created, exited, dead — a paused one runs), newest first,
 * narrowed by `until=` (created at or before) and `label=` / `label!=`; each removed as `rm`
 * without force removes it (one started meanwhile stays), its anonymous volumes kept, as
 * Docker keeps them. Then one collection takes what only those containers held (their
 * images' init layers). The space reported is what went from disk: each writable layer and
 * container directory measured before removal, plus what the collection measured.
 */
import { ConflictError } from '../errors.js';
import { listContainers, findContainer } from '../container/records.js';
import { refresh, removeContainer } from '../container/lifecycle.js';
import { isLive } from '../container/model.js';
import type { Store } from '../store/store.js';
import { parsePruneFilters } from './filters.js';

export interface ContainerPruneResult {
  /** IDs of the containers removed, in the order removed. */
  deleted: string[];
  /** Bytes of disk given back. */
  reclaimed: number;
}

export async function pruneContainers(store: Store, filters: readonly string[] = []): Promise<ContainerPruneResult> {
  const filter = parsePruneFilters(filters, 'container');
  const result: ContainerPruneResult = { deleted: [], reclaimed: 0 };
  for (const listed of listContainers(store.db)) {
    const now = await refresh(store, listed);
    // a --rm container that ended is gone once refreshed: not this prune's
    if (findContainer(store.db, now.id) === undefined) continue;
    if (isLive(now.state.status)) continue;
    if (filter.until !== undefined && Date.parse(now.created) > filter.until) continue;
    if (!filter.matchesLabels(now.settings.create.labels)) continue;
    let removed;
    try {
      removed = await removeContainer(store, now.id, { measure: true });
    } catch (e) {
      // started meanwhile by another process: it stays, as Docker's prune leaves a container it cannot remove
      if (e instanceof ConflictError) continue;
      throw e;
    }
    if (removed === undefined) continue; // removed meanwhile by another process
    result.deleted.push(removed.id);
    result.reclaimed += removed.reclaimed ?? 0;
  }
  if (result.deleted.length > 0) result.reclaimed += (await store.gc({ measure: true })).reclaimed;
  return result;
}
