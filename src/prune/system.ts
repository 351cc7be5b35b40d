/**
 * `system prune`, in Docker 20.10's order (cli/command/system/prune.go): stopped containers,
 * (cairn has no networks,) with `volumes` the unused anonymous volumes (Docker 23's rule: not
 * named ones, even with `all`), dangling images — every unused one with `all` — and dangling
 * build cache — all unused cache with `all`. The filters go to each part (`until`, `label`),
 * as Docker passes them on; the volumes take only the label ones. The total is the sum of
 * what each part gave back on disk.
 */
import type { Store } from '../store/store.js';
import { pruneVolumes, type PruneResult as VolumePruneResult, type VolumeUsers } from '../volume/index.js';
import { pruneBuildCache, type BuilderPruneResult } from './builder.js';
import { pruneContainers, type ContainerPruneResult } from './containers.js';
import { pruneImages, type ImagePruneResult } from './images.js';
import { parsePruneFilters } from './filters.js';

export interface SystemPruneOptions {
  /** Every unused image and all unused build cache, not only dangling ones. */
  all?: boolean;
  /** Unused anonymous volumes too. */
  volumes?: boolean;
  filters?: readonly string[];
}

export interface SystemPruneResult {
  containers: ContainerPruneResult;
  /** Present when `volumes` was asked for. */
  volumes?: VolumePruneResult;
  images: ImagePruneResult;
  buildCache: BuilderPruneResult;
  /** The sum of the parts' reclaimed bytes. */
  reclaimed: number;
}

export async function pruneSystem(store: Store, opts: SystemPruneOptions & { volumeUsers: VolumeUsers }): Promise<SystemPruneResult> {
  const filters = opts.filters ?? [];
  // every part's filters checked before anything is removed (Docker's daemon would refuse
  // a part's at its turn, after the earlier parts ran: cairn refuses at once)
  parsePruneFilters(filters, 'container');
  parsePruneFilters(filters, 'image');
  parsePruneFilters(filters, 'build-cache');
  const containers = await pruneContainers(store, filters);
  const volumes = opts.volumes === true ? await pruneVolumes(store, { filters: filters.filter((f) => f.startsWith('label=') || f.startsWith('label!=')), inUse: opts.volumeUsers }) : undefined;
  const images = await pruneImages(store, { all: opts.all === true, filters });
  const buildCache = await pruneBuildCache(store, { all: opts.all === true, filters });
  const reclaimed = containers.reclaimed + (volumes?.reclaimed ?? 0) + images.reclaimed + buildCache.reclaimed;
  return { containers, ...(volumes !== undefined ? { volumes } : {}), images, buildCache, reclaimed };
}
