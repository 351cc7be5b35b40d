/**
 * The {@link CacheStore} a `--cache-to` or `--cache-from` names: a directory
 * (cache-store-local.ts) or a registry repository's tag (cache-store-registry.ts), whose client
 * has the user's credentials and the store's memory of what an insecure registry speaks.
 */
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import { storeClientFor } from '../registry/transfer.js';
import type { Store } from '../store/store.js';
import { LocalCacheStore } from './cache-store-local.js';
import { RegistryCacheStore } from './cache-store-registry.js';
import type { CacheExportSpec, CacheImportSpec, CacheStore } from './cache-transfer.js';

export function cacheStoreFor(store: Store, spec: CacheExportSpec | CacheImportSpec): CacheStore {
  if (spec.type === 'local') return new LocalCacheStore('dest' in spec ? spec.dest : spec.src);
  const ref = withDefaultTag(parseNormalizedReference(spec.ref));
  return new RegistryCacheStore(storeClientFor(store, ref), ref.path, ref.digest ?? ref.tag!, ref.toString());
}
