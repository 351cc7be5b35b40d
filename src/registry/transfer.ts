/**
 * `pull` and `push`: copies between a registry and the store (transfer/copy.ts), with what
 * Docker decides around them — the default tag, which image is "up to date", the name the
 * pulled image is recorded under and the repo digest it keeps, and which local image a push
 * sends under which tag.
 */
import type { Digest } from '../digest/digest.js';
import { CairnError, isNoSpace, NotFoundError } from '../errors.js';
import { getImage, getLayerBlob, getRepoDigest, getTag, listTags, setStoreSetting, storeSetting } from '../metadata/records.js';
import { writeTx } from '../metadata/db.js';
import { blobSourcesOf, forgetBlobSource, rememberBlobSource } from '../metadata/distribution.js';
import type { Platform } from '../oci/types.js';
import { parseNormalizedReference, parseReference, type Reference, withTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { watchSpace } from '../store/space.js';
import { copyImages } from '../transfer/copy.js';
import { StoreSink, type StoredImageResult } from '../transfer/store-sink.js';
import { StoreSource } from '../transfer/store-source.js';
import type { CopyProgress } from '../transfer/types.js';
import { RegistryClient, type RegistryOptions, type SchemeMemory } from './client.js';
import { loadRegistryConfig, type RegistryConfig } from './config.js';
import { lookupCredentials } from './credentials.js';
import { type BlobMemory, type PushedImage, RegistrySink } from './sink.js';
import { RegistrySource } from './source.js';

export interface RegistryAccess {
  /** Client configuration file with credentials (default: Docker's). */
  authfile?: string;
  /** Hosts allowed plain http / unverified TLS beside loopback ones. */
  insecure?: readonly string[];
  /** Passed to the client (timeouts, retries). */
  client?: Omit<RegistryOptions, 'credentials' | 'insecure'>;
  /** Mirrors and insecure registries (default: cairn's configuration file, see config.ts). */
  registries?: RegistryConfig;
}

export interface PullOptions extends RegistryAccess {
  platform?: Platform;
  progress?: CopyProgress;
  /** Layers downloaded (and unpacked) at once; default 3. */
  maxConcurrent?: number;
}

export interface PullResult {
  /** The reference pulled, canonical (`127.0.0.1:5000/ref/multi:1`). */
  reference: string;
  id: Digest;
  /** The digest of the manifest (or index) the reference resolved to. */
  digest: Digest;
  /** The image was already here under this reference: nothing changed. */
  upToDate: boolean;
}

/** A client of `domain` (a registry or a mirror), with its credentials and the insecure hosts named by the caller or the configuration. */
function clientOf(domain: string, access: RegistryAccess, extraInsecure: readonly string[] = []): RegistryClient {
  const credentials = lookupCredentials(domain, access.authfile);
  const insecure = [...(access.insecure ?? []), ...(access.registries ?? loadRegistryConfig()).insecure, ...extraInsecure];
  return new RegistryClient(domain, { ...(access.client ?? {}), ...(credentials ? { credentials } : {}), ...(insecure.length ? { insecure } : {}) });
}

export function clientFor(ref: Reference, access: RegistryAccess): RegistryClient {
  return clientOf(ref.domain, access);
}

/**
 * The source of a pull: the reference resolved on each configured mirror in turn, then on the
 * registry itself — the first that answers serves the whole image (as Docker falls back from a
 * mirror that fails). The image is recorded under the reference's own name either way.
 */
async function resolvePullSource(ref: Reference, tagName: string | undefined, access: RegistryAccess, platform: { platform?: Platform }, prefetch: (digest: Digest) => boolean): Promise<RegistrySource> {
  const config = access.registries ?? loadRegistryConfig();
  const withConfig = { ...access, registries: config };
  for (const m of config.mirrors(ref.domain)) {
    const client = clientOf(m.domain, withConfig, m.insecure ? [m.domain] : []);
    const source = new RegistrySource(client, ref, { ...(tagName ? { tag: tagName } : {}), repo: m.prefix ? `${m.prefix}/${ref.path}` : ref.path, prefetch });
    try {
      await source.images(platform);
      return source;
    } catch (e) {
      // a mirror that fails in any way of cairn's (unreachable, not found, refused) is passed over
      await source.close();
      if (!(e instanceof CairnError)) throw e;
    }
  }
  const source = new RegistrySource(clientOf(ref.domain, withConfig), ref, { ...(tagName ? { tag: tagName } : {}), prefetch });
  try {
    await source.images(platform);
  } catch (e) {
    await source.close();
    throw e;
  }
  return source;
}

/** The store's distribution metadata for one registry, as the registry sink asks it. */
function blobMemory(store: Store, registry: string): BlobMemory {
  return {
    known: (diffId) => blobSourcesOf(store.db, diffId, registry),
    remember: (b) => rememberBlobSource(store.db, { digest: b.digest, diffId: b.diffId, mediaType: b.mediaType, size: b.size, registry, repository: b.repository }),
    forget: (digest, repository) => forgetBlobSource(store.db, digest, registry, repository),
  };
}

/** Pull `reference` (a tag, default `latest`, or a digest) into the store. */
/** The store's memory of what insecure registries speak (store settings `registry-scheme:HOST`). */
function schemeMemory(store: Store): SchemeMemory {
  return {
    get: (host) => {
      const v = storeSetting(store.db, `registry-scheme:${host}`);
      return v === 'http:' || v === 'https:' ? v : undefined;
    },
    set: (host, scheme) => writeTx(store.db, () => setStoreSetting(store.db, `registry-scheme:${host}`, scheme)),
  };
}

/** The caller's access, with the store's scheme memory unless the caller gave one. */
function withSchemes<T extends RegistryAccess>(store: Store, access: T): T {
  return access.client?.schemes !== undefined ? access : { ...access, client: { ...(access.client ?? {}), schemes: schemeMemory(store) } };
}

/** A client of `ref`'s registry for a command on `store` (its credentials, and the store's memory of what an insecure registry speaks). */
export function storeClientFor(store: Store, ref: Reference, access: RegistryAccess = {}): RegistryClient {
  return clientFor(ref, withSchemes(store, access));
}

export async function pullImage(store: Store, reference: string, opts0: PullOptions = {}): Promise<PullResult> {
  const opts = withSchemes(store, opts0);
  let ref = parseNormalizedReference(reference);
  if (!ref.tag && !ref.digest) ref = withTag(ref, 'latest');
  const tagName = ref.digest ? undefined : ref.toString();
  const before = tagName ? getTag(store.db, tagName)?.imageId : undefined;
  const platform = opts.platform ? { platform: opts.platform } : {};
  // a layer blob the store holds in no form is one the pull will download: asked for early
  const prefetch = (digest: Digest): boolean => getLayerBlob(store.db, digest) === undefined && !store.content.has(digest);
  const source = await resolvePullSource(ref, tagName, opts, platform, prefetch);
  const sink = new StoreSink(store, { verbs: { active: 'Downloading', done: 'Download complete', exists: 'Already exists', queued: 'Pulling fs layer', all: true } });
  // Resolved first (the source keeps the answer): was the image here before, by its ID?
  const existed = (await source.images(platform)).every((i) => getImage(store.db, i.config.digest) !== undefined);
  // an image already here has nothing to say about its layers (Docker prints none)
  const space = watchSpace(store.root);
  let stored: StoredImageResult | undefined;
  try {
    [stored] = await copyImages(source, sink, { ...platform, ...(opts.progress && !existed ? { progress: opts.progress } : {}), ...(opts.maxConcurrent !== undefined ? { maxConcurrent: opts.maxConcurrent } : {}) });
  } catch (e) {
    if (!isNoSpace(e)) throw e;
    // what it had to download (the sink gave back what it had): more once unpacked
    let bytes = 0;
    for (const img of await source.images(platform)) for (const l of img.layers) if (prefetch(l.digest)) bytes += l.size;
    throw space.explain(e, `pulling ${ref.familiarString()}`, { bytes, atLeast: true });
  }
  const id = stored!.id;
  const memory = blobMemory(store, ref.domain);
  for (const img of await source.images(platform)) for (const l of img.layers) memory.remember({ ...l, repository: ref.path });
  const upToDate = existed && (tagName ? before === id : getRepoDigest(store.db, `${ref.name}@${ref.digest}`) === id);
  return { reference: ref.toString(), id, digest: source.resolvedDigest!, upToDate };
}

export interface PushOptions extends RegistryAccess {
  progress?: CopyProgress;
  compression?: 'gzip' | 'zstd';
  level?: number;
}

export interface PushResult {
  /** The repository pushed to, canonical (`127.0.0.1:5000/ref/multi`). */
  repository: string;
  images: PushedImage[];
}

/** Push the local image `reference` (default tag `latest`) to its registry under its tag. */
export async function pushImage(store: Store, reference: string, opts0: PushOptions = {}): Promise<PushResult> {
  const opts = withSchemes(store, opts0);
  let ref = parseNormalizedReference(reference);
  if (!ref.tag && !ref.digest) ref = withTag(ref, 'latest');
  const local = ref.toString();
  if (getTag(store.db, local) === undefined) {
    if (localTags(store, ref.name).length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${ref.familiarName}`);
    throw new NotFoundError(`tag does not exist: ${ref.familiarString()}`);
  }
  const client = clientFor(ref, opts);
  const source = new StoreSource(store, [local]);
  const sink = new RegistrySink(client, { repo: ref.path, tag: ref.tag!, memory: blobMemory(store, ref.domain), ...(opts.compression ? { compression: opts.compression } : {}), ...(opts.level !== undefined ? { level: opts.level } : {}) });
  const images = await copyImages(source, sink, opts.progress ? { progress: opts.progress } : {});
  return { repository: ref.name, images };
}

/** The local tags of `repository`, canonical, sorted (push -a). */
export function localTags(store: Store, repository: string): string[] {
  const name = parseNormalizedReference(repository).name;
  return listTags(store.db)
    .map((t) => t.name)
    .filter((t) => {
      const r = parseReference(t);
      return r.name === name && r.tag !== undefined;
    })
    .sort();
}

/** A repository's tags in its registry (`pull --all-tags`). */
export async function remoteTags(repository: string, access: RegistryAccess = {}): Promise<string[]> {
  const ref = parseNormalizedReference(repository);
  return clientFor(ref, access).tags(ref.path);
}
