/**
 * A registry as an image source (pull): the reference's manifest fetched by tag or digest, an
 * index or manifest list resolved to the platform asked for, the config fetched and checked
 * against its digest, each layer paired with the config's diffID and read lazily from the
 * registry as a stream (resumed where it broke off; the sink verifies digest, size and diffID).
 */
import { digestOf, type Digest } from '../digest/digest.js';
import { CairnError, DataCorruptError, NotFoundError, UnsupportedError } from '../errors.js';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_SCHEMA1,
  DOCKER_MANIFEST_SCHEMA1_SIGNED,
  OCI_INDEX,
  OCI_MANIFEST,
  isSchema1Type,
  parseMediaType,
} from '../oci/mediatypes.js';
import { hostPlatform, platformString, selectManifest } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';
import { parseImageConfig, parseManifestOrIndex } from '../oci/validate.js';
import type { Reference } from '../reference/reference.js';
import type { ImageSource, LayerDescriptor, ResolveOptions, SourceImage } from '../transfer/types.js';
import type { RegistryClient } from './client.js';
import type { HttpResponse } from './http.js';

/** What a manifest request accepts, in Docker's order of preference. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST, DOCKER_MANIFEST_SCHEMA1_SIGNED, DOCKER_MANIFEST_SCHEMA1];

/** A config above this size is refused (real ones are a few KiB; Docker's cap is 8 MiB). */
const CONFIG_MAX = 8 << 20;
/** A layer blob above this size is refused before anything is read (1 TiB). */
const LAYER_MAX = 2 ** 40;
/** Index nesting cairn follows (an index naming an index); more is refused. */
const INDEX_DEPTH_MAX = 4;

export interface RegistrySourceOptions {
  /** The name the pulled image is recorded under (the reference with its tag); none for a digest pull. */
  tag?: string;
  /** The repository's path on this registry when it is not the reference's (a mirror's, under its prefix). */
  repo?: string;
  /**
   * Whether the sink is likely to want this layer blob (the store does not hold it): the first
   * such layer of the manifest is asked for at once, beside the config, as Docker's puller
   * starts its downloads, so that the registry's wait for its first byte overlaps the config's
   * fetch and the sink's checks. A wrong guess costs a request whose answer is dropped at close.
   */
  prefetch?: (digest: Digest) => boolean;
}

export class RegistrySource implements ImageSource {
  readonly verified = false;
  /** The digest of the manifest the reference resolved to (the top one: an index's, when it is one). */
  resolvedDigest: Digest | undefined;

  constructor(
    private readonly client: RegistryClient,
    private readonly ref: Reference,
    private readonly opts: RegistrySourceOptions = {},
  ) {}

  private get repo(): string {
    return this.opts.repo ?? this.ref.path;
  }

  private readonly resolved = new Map<string, Promise<SourceImage[]>>();
  /** Layer blobs asked for ahead of time (see RegistrySourceOptions.prefetch), until layer() takes them. */
  private readonly early = new Map<Digest, Promise<HttpResponse>>();

  /** The image for the platform (resolved once per platform; later calls give the same answer). */
  images(opts: ResolveOptions = {}): Promise<SourceImage[]> {
    const want: Platform = opts.platform ?? hostPlatform();
    const key = platformString(want);
    let p = this.resolved.get(key);
    if (!p) {
      p = this.resolve(want);
      this.resolved.set(key, p);
    }
    return p;
  }

  private async resolve(want: Platform): Promise<SourceImage[]> {
    const display = this.ref.toString();
    const tagOrDigest = this.ref.digest ?? this.ref.tag ?? 'latest';
    let doc = await this.client.manifest(this.repo, tagOrDigest, MANIFEST_ACCEPT, this.ref.familiarString());
    this.resolvedDigest = doc.digest;
    for (let depth = 0; ; depth++) {
      if (isSchema1Type(doc.mediaType)) {
        throw new UnsupportedError(`${display}: Docker schema 1 manifests are not supported (push the image again with a current client)`);
      }
      const parsed = parseManifestOrIndex(doc.raw, `manifest ${doc.digest}`, doc.mediaType || undefined);
      if (parsed.kind === 'manifest') {
        const manifest = parsed.manifest;
        const mediaType = parseMediaType(manifest.mediaType ?? (doc.mediaType || OCI_MANIFEST), `manifest ${doc.digest} mediaType`);
        this.askEarly(manifest.layers);
        const configRaw = await this.client.blobBytes(this.repo, manifest.config.digest, CONFIG_MAX);
        const got = digestOf(configRaw);
        if (got !== manifest.config.digest || configRaw.length !== manifest.config.size) {
          throw new DataCorruptError(`config ${manifest.config.digest} of ${display}: the registry sent ${configRaw.length} bytes with digest ${got}`);
        }
        const config = parseImageConfig(configRaw, `config ${manifest.config.digest}`);
        if (config.rootfs.diff_ids.length !== manifest.layers.length) {
          throw new DataCorruptError(`${display}: the config names ${config.rootfs.diff_ids.length} layers but the manifest has ${manifest.layers.length}`);
        }
        for (const [i, l] of manifest.layers.entries()) {
          if (l.size > LAYER_MAX) throw new DataCorruptError(`${display}: layer ${i} (${l.digest}): size ${l.size} is more than any layer cairn takes (${LAYER_MAX} bytes)`);
        }
        const layers: LayerDescriptor[] = manifest.layers.map((l, i) => ({ ...l, diffId: config.rootfs.diff_ids[i]! }));
        const repoDigest = `${this.ref.name}@${this.resolvedDigest}`;
        return [
          {
            manifest: { raw: doc.raw, digest: doc.digest, mediaType, parsed: manifest },
            config: { raw: configRaw, digest: manifest.config.digest, mediaType: manifest.config.mediaType, parsed: config },
            layers,
            names: this.opts.tag ? [this.opts.tag] : [],
            repoDigests: [repoDigest],
          },
        ];
      }
      if (depth >= INDEX_DEPTH_MAX) throw new DataCorruptError(`${display}: indexes nested more than ${INDEX_DEPTH_MAX} deep`);
      const chosen = selectManifest(parsed.index, want) ?? parsed.index.manifests.find((m) => (m.mediaType === OCI_INDEX || m.mediaType === DOCKER_MANIFEST_LIST) && (!m.platform || m.platform.os === want.os));
      if (!chosen) {
        throw new NotFoundError(`no matching manifest for ${platformString(want)} in the manifest list entries of ${this.ref.familiarString()}`);
      }
      if (chosen.digest === doc.digest) throw new DataCorruptError(`${display}: index ${doc.digest} names itself`);
      doc = await this.client.manifest(this.repo, chosen.digest, MANIFEST_ACCEPT, `${this.ref.name}@${chosen.digest}`);
      if (doc.raw.length !== chosen.size) throw new DataCorruptError(`manifest ${chosen.digest}: ${doc.raw.length} bytes, the index says ${chosen.size}`);
    }
  }

  /**
   * A layer's blob from the registry; a foreign layer (one with URLs: Windows base layers) from
   * the registry when it has it, else from the first of its URLs that answers, as Docker does.
   * The sink checks its digest and size wherever it came from.
   */
  async layer(l: LayerDescriptor): Promise<AsyncIterable<Uint8Array>> {
    const early = this.early.get(l.digest);
    if (early !== undefined) {
      this.early.delete(l.digest);
      // A request asked ahead that failed outright is asked again, as any first request would
      // be: its own failure, if it fails again, is the one reported.
      const first = await early.catch(() => undefined);
      return this.client.blob(this.repo, l.digest, l.size, first);
    }
    if (!l.urls?.length || (await this.client.hasBlob(this.repo, l.digest))) return this.client.blob(this.repo, l.digest, l.size);
    const failures: string[] = [];
    // (the manifest's validation made sure each is a URL; send refuses schemes other than http and https)
    for (const u of l.urls) {
      try {
        return await this.client.foreignBlob(new URL(u), l.digest, l.size);
      } catch (e) {
        if (!(e instanceof CairnError)) throw e;
        failures.push(e.message);
      }
    }
    throw new NotFoundError(`foreign layer ${l.digest} is not available: the registry does not have it and none of its URLs answered (${failures.join('; ')})`);
  }

  /** The first layer the sink is likely to want (prefetch), asked for now; one with URLs (foreign) never. */
  private askEarly(layers: readonly { digest: Digest; size: number; urls?: string[] }[]): void {
    const want = this.opts.prefetch;
    if (want === undefined || this.early.size > 0) return;
    const l = layers.find((x) => !x.urls?.length && x.size <= LAYER_MAX && want(x.digest));
    if (l === undefined) return;
    const p = this.client.blobResponse(this.repo, l.digest);
    p.catch(() => undefined); // layer() or close() takes its outcome
    this.early.set(l.digest, p);
  }

  /** Answers asked for ahead and never taken (the sink had the layer after all, or the copy failed) are dropped. */
  async close(): Promise<void> {
    const left = [...this.early.values()];
    this.early.clear();
    for (const r of await Promise.allSettled(left)) if (r.status === 'fulfilled') r.value.body.destroy();
  }
}
