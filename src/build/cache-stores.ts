/** The {@link CacheStore} a `--cache-to` or `--cache-from` names: a directory (cache-store-local.ts). */
import type { Store } from '../store/store.js';
import { LocalCacheStore } from './cache-store-local.js';
import type { CacheExportSpec, CacheImportSpec, CacheStore } from './cache-transfer.js';

export function cacheStoreFor(_store: Store, spec: CacheExportSpec | CacheImportSpec): CacheStore {
  return new LocalCacheStore('dest' in spec ? spec.dest : spec.src);
}
