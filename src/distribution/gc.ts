/**
 * `cairn registry gc`: what the served repositories hold but no manifest needs is let go. Per
 * repository, the blobs its manifests name (configs, layers, the manifests themselves and, for
 * an index, the manifests it names) stay linked; every other link older than a grace period is
 * dropped — a younger one may belong to a push whose manifest is still on its way. With
 * `deleteUntagged`, manifests no tag names (directly, or through an index or as a referrer of
 * one that is kept) go first, as Distribution's `--delete-untagged` does. Then the store's own
 * collection removes the blobs nothing holds any more (a blob a local image uses stays).
 */
import type { Digest } from '../digest/digest.js';
import { writeTx } from '../metadata/db.js';
import { allRepositories, deleteManifestRecord, repositoryBlobs, repositoryManifests, unlinkBlob } from '../metadata/registry.js';
import { parseManifestOrIndex } from '../oci/validate.js';
import type { Store } from '../store/store.js';

export interface RegistryGcOptions {
  /** Also delete manifests no tag reaches. */
  deleteUntagged?: boolean;
  /** Links younger than this are kept (default one hour). */
  graceMs?: number;
}

export interface RegistryGcResult {
  /** Manifests deleted, as `repo@digest`. */
  manifests: string[];
  /** Blob links dropped, as `repo@digest`. */
  links: string[];
  /** Blobs the store removed. */
  blobs: Digest[];
}

/** What a stored manifest names: its config and layers, or an index's manifests. */
async function namedBy(store: Store, digest: Digest, mediaType: string): Promise<Digest[]> {
  const raw = await store.content.readBytes(digest);
  const parsed = parseManifestOrIndex(raw, `manifest ${digest}`, mediaType);
  return parsed.kind === 'manifest' ? [parsed.manifest.config.digest, ...parsed.manifest.layers.map((l) => l.digest)] : parsed.index.manifests.map((m) => m.digest);
}

export async function collectRegistry(store: Store, opts: RegistryGcOptions = {}): Promise<RegistryGcResult> {
  const grace = opts.graceMs ?? 60 * 60_000;
  const now = Date.now();
  const result: RegistryGcResult = { manifests: [], links: [], blobs: [] };
  for (const repo of allRepositories(store.db)) {
    const manifests = repositoryManifests(store.db, repo);
    const names = new Map<Digest, Digest[]>();
    for (const m of manifests) names.set(m.digest, await namedBy(store, m.digest, m.mediaType));
    let kept = manifests;
    if (opts.deleteUntagged) {
      // tagged manifests, what their indexes name, and referrers of what is kept
      const reach = new Set<Digest>();
      const visit = (d: Digest): void => {
        if (reach.has(d) || !names.has(d)) return;
        reach.add(d);
        for (const n of names.get(d)!) visit(n);
      };
      for (const m of manifests) if (m.tags.length > 0) visit(m.digest);
      for (let grew = true; grew; ) {
        grew = false;
        for (const m of manifests) {
          if (!reach.has(m.digest) && m.subject !== null && reach.has(m.subject)) {
            visit(m.digest);
            grew = true;
          }
        }
      }
      kept = manifests.filter((m) => reach.has(m.digest));
      const gone = manifests.filter((m) => !reach.has(m.digest));
      writeTx(store.db, () => {
        for (const m of gone) deleteManifestRecord(store.db, repo, m.digest);
      });
      result.manifests.push(...gone.map((m) => `${repo}@${m.digest}`));
    }
    const needed = new Set<Digest>();
    for (const m of kept) {
      needed.add(m.digest);
      for (const d of names.get(m.digest)!) needed.add(d);
    }
    const drop = repositoryBlobs(store.db, repo).filter((b) => !needed.has(b.digest) && now - Date.parse(b.linkedAt) >= grace);
    const seen = kept.map((m) => m.digest).join(',');
    writeTx(store.db, () => {
      // a manifest pushed since they were read may name one of these: then this repository waits for the next run
      if (repositoryManifests(store.db, repo).map((m) => m.digest).join(',') !== seen) return;
      for (const b of drop) if (unlinkBlob(store.db, repo, b.digest)) result.links.push(`${repo}@${b.digest}`);
    });
  }
  result.blobs = (await store.gc()).blobs;
  return result;
}
