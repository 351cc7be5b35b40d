/**
 * The prune commands over the store's one garbage collector: each removes what it selects
 * the way its single-object command would (`rm`, `rmi`, a cache entry dropped) and lets the
 * collector take what nothing reaches any more — never what a live process's lease holds —
 * reporting the bytes of disk that went.
 */
export { pruneImages, type ImagePruneOptions, type ImagePruneResult } from './images.js';
export { pruneContainers, type ContainerPruneResult } from './containers.js';
export { pruneBuildCache, type BuilderPruneOptions, type BuilderPruneResult } from './builder.js';
export { pruneSystem, type SystemPruneOptions, type SystemPruneResult } from './system.js';
export { parsePruneFilters, type PruneFilter, type PruneKind } from './filters.js';
