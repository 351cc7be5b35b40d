/**
 * `image prune`, as Docker 20.10's daemon prunes (daemon/images/image_prune.go): without `all`
 * the dangling images — those no other image has as parent (heads) and no tag names (an image
 * named only by digests is dangling too: its digests go) — with `all` every image, except
 * untagged parents of other images (they go with their last child, as rmi prunes them). Each
 * is removed as `rmi` without force would remove it — by each of its names in turn, or by ID —
 * so an image a container uses (running or stopped) is never deleted, and one that is mounted
 * stays; as Docker's, `all` may untag such an image's other names, keeping the last. Filters:
 * `until=` (created at or before), `label=`, `label!=` on the image's config labels.
 *
 * The space reported is what the collections after each removal gave back on disk (store/gc.ts
 * measures it), not layer sizes.
 */
import type { Digest } from '../digest/digest.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { childrenOf, listImages, repoDigestsOf, tagsOf } from '../metadata/records.js';
import { readConfig } from '../image/config.js';
import { removeImageMeasured, type RemoveEvent } from '../image/tags.js';
import { containersOfImage } from '../container/records.js';
import { isLive } from '../container/model.js';
import type { Store } from '../store/store.js';
import { parsePruneFilters } from './filters.js';

export interface ImagePruneOptions {
  /** Every image no container uses, tagged ones too (`-a`: the filter dangling=false). */
  all?: boolean;
  /** Docker's KEY=VALUE words: dangling, until, label, label!. */
  filters?: readonly string[];
}

export interface ImagePruneResult {
  /** Docker's events in order: the names untagged and the images and layers deleted. */
  deleted: RemoveEvent[];
  /** Bytes of disk given back. */
  reclaimed: number;
}

export async function pruneImages(store: Store, opts: ImagePruneOptions = {}): Promise<ImagePruneResult> {
  const filter = parsePruneFilters(opts.filters ?? [], 'image');
  const danglingOnly = opts.all === true ? false : (filter.dangling ?? true);
  const db = store.db;
  const usedBy = (id: Digest) => containersOfImage(db, id).map((c) => ({ id: c.id, running: isLive(c.status) }));
  const chosen: Array<{ id: Digest; refs: string[] }> = [];
  for (const img of listImages(db)) {
    const refs = [...tagsOf(db, img.id), ...repoDigestsOf(db, img.id)].sort();
    const hasChildren = childrenOf(db, img.id).length > 0;
    // dangling: heads only; all: every image but the untagged parents of others
    if (hasChildren && (danglingOnly || refs.length === 0)) continue;
    if (filter.until !== undefined && img.created !== null && Date.parse(img.created) > filter.until) continue;
    if (!filter.matchesLabels(await configLabels(store, img.id))) continue;
    chosen.push({ id: img.id, refs });
  }
  const result: ImagePruneResult = { deleted: [], reclaimed: 0 };
  for (const { id, refs } of chosen) {
    // Docker's ImageDelete(name, force=false, prune=true) of each name (only untagged, digest-only names when dangling), else of the ID
    const names = refs.length === 0 ? [id] : danglingOnly && refs.some((r) => !r.includes('@')) ? [] : refs;
    for (const name of names) {
      try {
        const r = await removeImageMeasured(store, name, { usedBy, measure: true });
        result.deleted.push(...r.events);
        result.reclaimed += r.reclaimed;
      } catch (e) {
        // in use (a container, a mount, a child made meanwhile), or gone meanwhile (another
        // prune, or with a name removed before): it stays, or is not this prune's to report
        if (e instanceof ConflictError || e instanceof NotFoundError) continue;
        throw e;
      }
    }
  }
  return result;
}

/** The image's config labels (none when it has none). */
async function configLabels(store: Store, id: Digest): Promise<Record<string, string> | null> {
  try {
    return (await readConfig(store.content, id)).config.config?.Labels ?? null;
  } catch (e) {
    // removed by another process since it was listed: no labels, and its removal will find it gone
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}
