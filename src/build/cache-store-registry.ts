/**
 * A carried build cache in a registry (`--cache-to type=registry,ref=REF`, `--cache-from
 * type=registry,ref=REF`): an OCI image manifest under the reference's tag whose config is the
 * cache document (media type {@link CACHE_DOCUMENT}) and whose layers are the gzip'd layer
 * blobs it names — as BuildKit's registry cache pushes a manifest whose config is its cache
 * configuration. Distribution (2.8) takes a config of any media type in an OCI manifest, and
 * keeps the blobs a tagged manifest names from its garbage collection.
 *
 * Through the registry client (client.ts): its authorization, resumed downloads, and uploads
 * streamed in pieces (no layer held whole in memory). The document is uploaded only when the
 * registry lacks it (HEAD); a layer blob's digest is known only once it is compressed, so which
 * layers are not sent again is the caller's (cache-transfer.ts: the previous document's blobs,
 * HEAD'd).
 */
import { Digester, digestOf, type Digest } from '../digest/digest.js';
import { DataCorruptError, NotFoundError } from '../errors.js';
import { OCI_MANIFEST } from '../oci/mediatypes.js';
import type { RegistryClient } from '../registry/client.js';
import { CACHE_DOCUMENT, parseCacheDocument, type BlobDescriptor, type CacheDocument, type CacheStore } from './cache-transfer.js';

/** A cache document above this size is refused (an entry is ~400 bytes). */
const DOCUMENT_MAX = 64 << 20;

interface CacheManifest {
  schemaVersion: 2;
  mediaType: string;
  config: BlobDescriptor;
  layers: BlobDescriptor[];
}

export class RegistryCacheStore implements CacheStore {
  /**
   * `repo`: the repository's path in the registry; `ref`: the tag (or, to read, a digest);
   * `name`: the reference as progress shows it.
   */
  constructor(
    private readonly client: RegistryClient,
    private readonly repo: string,
    private readonly ref: string,
    readonly name: string,
  ) {}

  async document(): Promise<CacheDocument | undefined> {
    let m;
    try {
      m = await this.client.manifest(this.repo, this.ref, [OCI_MANIFEST], this.name);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
    let manifest: CacheManifest;
    try {
      manifest = JSON.parse(m.raw.toString('utf8')) as CacheManifest;
    } catch (e) {
      throw new DataCorruptError(`${this.name}: the manifest is not JSON: ${(e as Error).message}`);
    }
    const config = manifest?.config;
    if (config?.mediaType !== CACHE_DOCUMENT || typeof config.digest !== 'string' || typeof config.size !== 'number') {
      throw new DataCorruptError(`${this.name} is not a cairn build cache (its config is ${JSON.stringify(config?.mediaType ?? null)}, not ${CACHE_DOCUMENT})`);
    }
    if (config.size > DOCUMENT_MAX) throw new DataCorruptError(`${this.name}: the cache document's ${config.size} bytes are more than cairn reads (${DOCUMENT_MAX})`);
    const raw = await this.client.blobBytes(this.repo, config.digest, DOCUMENT_MAX);
    const got = digestOf(raw);
    if (got !== config.digest || raw.length !== config.size) throw new DataCorruptError(`${this.name}: the registry sent a cache document of ${raw.length} bytes with digest ${got}, its manifest names ${config.digest} (${config.size} bytes)`);
    return parseCacheDocument(raw, this.name);
  }

  has(blob: BlobDescriptor): Promise<boolean> {
    return this.client.hasBlob(this.repo, blob.digest);
  }

  async blob(blob: BlobDescriptor): Promise<AsyncIterable<Uint8Array>> {
    return this.client.blob(this.repo, blob.digest, blob.size);
  }

  async putBlob(bytes: AsyncIterable<Uint8Array>, mediaType: string): Promise<BlobDescriptor> {
    const d = new Digester();
    async function* hashed(): AsyncGenerator<Uint8Array> {
      for await (const piece of bytes) {
        d.update(piece);
        yield piece;
      }
    }
    let digest: Digest | undefined;
    await this.client.upload(this.repo, hashed(), () => (digest = d.digest()));
    return { mediaType, digest: digest!, size: d.size };
  }

  async putDocument(doc: CacheDocument): Promise<void> {
    const raw = Buffer.from(JSON.stringify(doc));
    const config: BlobDescriptor = { mediaType: CACHE_DOCUMENT, digest: digestOf(raw), size: raw.length };
    if (!(await this.client.hasBlob(this.repo, config.digest))) await this.client.upload(this.repo, raw, config.digest);
    const layers = new Map<string, BlobDescriptor>();
    for (const e of doc.entries) if (!layers.has(e.blob.digest)) layers.set(e.blob.digest, { mediaType: e.blob.mediaType, digest: e.blob.digest, size: e.blob.size });
    const manifest: CacheManifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [...layers.values()] };
    await this.client.putManifest(this.repo, this.ref, Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
  }
}
