/**
 * The build cache carried between machines: `build --cache-to type=local,dest=DIR[,mode=max]`
 * or `type=registry,ref=REF[,mode=max]`, `--cache-from type=local,src=DIR` or
 * `type=registry,ref=REF`. A cache is one document mapping cache keys (cache-key.ts: parent
 * chainID, resolved step, content of what COPY reads: nothing of the machine) to the layer each
 * step made, a gzip'd tar blob, with the time it was first made. Because keys are content,
 * another machine building the same input on the same base hits: the layer is streamed from
 * the cache onto the step's parent (digest, size and diffID verified), recorded as a local
 * cache entry, and the step is CACHED.
 *
 * Where the document and blobs live is a {@link CacheStore}: a directory in OCI image layout
 * (cache-store-local.ts) or a registry repository's tag, an OCI image manifest whose config is
 * the document (cache-store-registry.ts). This module reads and writes a cache through that
 * interface only.
 *
 * mode=min (default) exports the layers of the image built; mode=max every step's. A layer
 * blob the cache already holds (an earlier export named it for the same diffID, and the store
 * still has it) is not written again; the document is replaced last.
 *
 * A cache that cannot be read for a build (missing, unreachable, not cairn's) is an empty
 * cache with a warning, as BuildKit builds on without it; a cache that cannot be written fails
 * the build after the image is stored.
 */
import { gzipPieces } from '../compression/index.js';
import type { Digest } from '../digest/digest.js';
import { AlreadyExistsError, CairnError, DataCorruptError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { applyRecorded, reemit } from '../image/layertar.js';
import { snapshotRef, type Ref } from '../metadata/refs.js';
import { childChainId } from '../oci/chainid.js';
import { randomHex } from '../random.js';
import { parseNormalizedReference } from '../reference/reference.js';
import { writableLayer } from '../snapshot/index.js';
import type { Store } from '../store/store.js';

export const CACHE_DOCUMENT = 'application/vnd.cairn.buildcache.v1+json';
export const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export type CacheMode = 'min' | 'max';

export type CacheExportSpec = { type: 'local'; dest: string; mode: CacheMode } | { type: 'registry'; ref: string; mode: CacheMode };

export type CacheImportSpec = { type: 'local'; src: string } | { type: 'registry'; ref: string };

/** A blob of a cache: a layer (gzip'd tar) or the document. */
export interface BlobDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

/** A step's result as the cache carries it. */
export interface CarriedEntry {
  key: Digest;
  diffId: Digest;
  /** When the layer was first made (its history time: an image built from the cache elsewhere is the same image). */
  createdAt: string;
  blob: BlobDescriptor;
}

export interface CacheDocument {
  schemaVersion: 1;
  entries: CarriedEntry[];
}

/**
 * Where a carried cache lives. Blobs are put before the document that names them; putting the
 * document replaces the previous one (the blobs it named may stay).
 */
export interface CacheStore {
  /** As progress and errors name it: the directory, or the reference. */
  readonly name: string;
  /** The cache document; undefined when there is none (the directory or tag does not exist). */
  document(): Promise<CacheDocument | undefined>;
  /** Whether the store holds this blob. */
  has(blob: BlobDescriptor): Promise<boolean>;
  /**
   * The blob's bytes, streamed: a NotFoundError (now or as it is read) when the store lacks it.
   * Not verified here: the reader checks digest and size.
   */
  blob(blob: BlobDescriptor): Promise<AsyncIterable<Uint8Array>>;
  /** Store a blob from a stream (hashed as it goes); its descriptor. */
  putBlob(bytes: AsyncIterable<Uint8Array>, mediaType: string): Promise<BlobDescriptor>;
  /** Store the document naming blobs already put, in place of the previous one. */
  putDocument(doc: CacheDocument): Promise<void>;
}

/** The document's bytes checked for the shape cairn writes. */
export function parseCacheDocument(raw: Buffer, name: string): CacheDocument {
  let parsed: CacheDocument;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as CacheDocument;
  } catch (e) {
    throw new DataCorruptError(`${name}: the cache document is not JSON: ${(e as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.schemaVersion !== 1 || !Array.isArray(parsed.entries)) throw new DataCorruptError(`${name}: the cache document is not one cairn writes`);
  return parsed;
}

/**
 * `type=local,dest=DIR[,mode=min|max]` or `type=registry,ref=REF[,mode=min|max]` (--cache-to);
 * `type=local,src=DIR` or `type=registry,ref=REF` (--cache-from), as buildx reads them.
 */
export function parseCacheSpec(text: string, flag: '--cache-to'): CacheExportSpec;
export function parseCacheSpec(text: string, flag: '--cache-from'): CacheImportSpec;
export function parseCacheSpec(text: string, flag: '--cache-to' | '--cache-from'): CacheExportSpec | CacheImportSpec {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`invalid ${flag} value ${JSON.stringify(text)}: ${JSON.stringify(part)} is not KEY=VALUE`);
    fields.set(part.slice(0, i).trim(), part.slice(i + 1));
  }
  const type = fields.get('type') ?? 'local';
  if (type !== 'local' && type !== 'registry') throw new InvalidArgumentError(`${flag} type=${type} is not supported: use type=local or type=registry`);
  let ref: string | undefined;
  if (type === 'registry') {
    ref = fields.get('ref');
    if (ref === undefined || ref === '') throw new InvalidArgumentError(`${flag} type=registry needs ref=REGISTRY/REPOSITORY[:TAG]`);
    const parsed = parseNormalizedReference(ref);
    if (flag === '--cache-to' && parsed.digest !== undefined) throw new InvalidArgumentError(`${flag} ref=${ref}: a cache is written under a tag, not a digest`);
  }
  if (flag === '--cache-to') {
    const mode = fields.get('mode') ?? 'min';
    if (mode !== 'min' && mode !== 'max') throw new InvalidArgumentError(`invalid ${flag} mode ${JSON.stringify(mode)}: use min or max`);
    if (ref !== undefined) return { type: 'registry', ref, mode };
    const dest = fields.get('dest');
    if (dest === undefined || dest === '') throw new InvalidArgumentError(`${flag} type=local needs dest=DIR`);
    return { type: 'local', dest, mode };
  }
  if (ref !== undefined) return { type: 'registry', ref };
  const src = fields.get('src');
  if (src === undefined || src === '') throw new InvalidArgumentError(`${flag} type=local needs src=DIR`);
  return { type: 'local', src };
}

/** A cache read for a build: its entries by key, and what was wrong if it could not be read. */
export class ImportedCache {
  private constructor(
    readonly cache: CacheStore,
    private readonly entries: Map<string, CarriedEntry>,
    /** Why the cache is empty for this build (missing, unreadable): a line to warn with. */
    readonly warning?: string,
  ) {}

  /** The cache's document read; a cache missing or failing to be read is empty, with a warning (BuildKit goes on without it). */
  static async open(cache: CacheStore): Promise<ImportedCache> {
    let doc: CacheDocument | undefined;
    try {
      doc = await cache.document();
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      return new ImportedCache(cache, new Map(), `cache ${cache.name} could not be read, the build goes on without it: ${e.message.split('\n')[0]}`);
    }
    if (doc === undefined) return new ImportedCache(cache, new Map(), `cache ${cache.name} not found, the build goes on without it`);
    return new ImportedCache(cache, new Map(doc.entries.map((e) => [e.key, e])));
  }

  get name(): string {
    return this.cache.name;
  }

  get(key: Digest): CarriedEntry | undefined {
    return this.entries.get(key);
  }

  /**
   * The entry's layer streamed from the cache and applied onto `parent` as a committed snapshot
   * (digest, size and diffID checked), with its tar-split record; leased with `protect`.
   */
  async importLayer(store: Store, entry: CarriedEntry, parent: Digest | undefined, protect: (ref: Ref) => void): Promise<{ chainId: Digest; diffId: Digest; size: number; tarSplit: Digest }> {
    let bytes: AsyncIterable<Uint8Array>;
    try {
      bytes = await this.cache.blob(entry.blob);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      throw new NotFoundError(`--cache-from ${this.cache.name}: blob ${entry.blob.digest} of step ${entry.key} is missing`, { cause: e });
    }
    const sn = await store.snapshots();
    const key = `cache-import-${process.pid}-${randomHex(6)}`;
    protect(snapshotRef(key));
    const made = writableLayer(await sn.prepare(key, parent));
    try {
      const applied = await applyRecorded(
        store,
        { dir: made.dir, whiteoutMode: made.deletions === 'whiteout' ? 'overlay' : 'oci-remove' },
        bytes,
        { expectedDigest: entry.blob.digest, expectedSize: entry.blob.size, expectedDiffId: entry.diffId, what: `cached layer ${entry.diffId}` },
        protect,
      );
      if (applied.tarSplit === undefined) throw new DataCorruptError(`cached layer ${entry.diffId}: its files cannot re-make its tar`);
      const chainId = childChainId(parent, entry.diffId);
      protect(snapshotRef(chainId));
      try {
        await sn.commit(chainId, key);
      } catch (e) {
        if (!(e instanceof AlreadyExistsError)) throw e;
        await sn.remove(key);
      }
      return { chainId, diffId: entry.diffId, size: applied.result.uncompressedSize, tarSplit: applied.tarSplit };
    } catch (e) {
      await sn.remove(key).catch((err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
      throw e;
    }
  }
}

/** A step's result to export: its key and its layer in the store. */
export interface ExportEntry {
  key: Digest;
  chainId: Digest;
  diffId: Digest;
  tarSplit: Digest;
  createdAt: string;
}

/** What an export did: blobs written, and blobs the cache already had. */
export interface ExportStats {
  written: number;
  kept: number;
}

/**
 * Write `entries` into `cache`: each layer's tar re-emitted from its snapshot, gzip'd on the
 * pool and streamed into the cache as a blob — unless the cache's previous document names a
 * blob of the same diffID that the cache still has — then the document naming them all.
 */
export async function exportCache(store: Store, cache: CacheStore, entries: readonly ExportEntry[]): Promise<ExportStats> {
  const previous = new Map<string, BlobDescriptor>();
  for (const e of (await cache.document())?.entries ?? []) previous.set(e.diffId, e.blob);
  const carried: CarriedEntry[] = [];
  const byDiffId = new Map<string, BlobDescriptor>();
  const stats: ExportStats = { written: 0, kept: 0 };
  for (const e of entries) {
    let blob = byDiffId.get(e.diffId);
    if (blob === undefined) {
      const old = previous.get(e.diffId);
      if (old !== undefined && (await cache.has(old))) {
        blob = old;
        stats.kept++;
      } else {
        blob = await cache.putBlob(gzipPieces(await reemit(store, e.chainId, e.diffId, e.tarSplit)), LAYER_GZIP);
        stats.written++;
      }
      byDiffId.set(e.diffId, blob);
    }
    carried.push({ key: e.key, diffId: e.diffId, createdAt: e.createdAt, blob });
  }
  await cache.putDocument({ schemaVersion: 1, entries: carried });
  return stats;
}
