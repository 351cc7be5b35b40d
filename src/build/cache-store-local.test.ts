/** The CacheStore conformance suite (cache-store-conformance.ts) against a directory; test/build-cache-registry.test.ts runs it against a registry. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheStoreSuite } from './cache-store-conformance.js';
import { LocalCacheStore } from './cache-store-local.js';

const base = mkdtempSync(join(tmpdir(), 'cairn-cache-store-'));
let n = 0;
after(() => rmSync(base, { recursive: true, force: true }));

cacheStoreSuite('local directory', async () => {
  const dir = join(base, `c${n++}`);
  return { cache: new LocalCacheStore(join(dir, 'cache')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
