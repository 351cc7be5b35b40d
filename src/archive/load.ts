/**
 * `load`: read an image archive — docker-archive (manifest.json, what `docker save` writes,
 * legacy `<id>/layer.tar` or blob layout) or OCI image layout (index.json + oci-layout) —
 * from a stream, in one pass, into the store.
 *
 * Members arrive in any order (Docker writes manifest.json last), so every regular member is
 * streamed into the content store as it passes (hashing it, and decompressing it on the fly to
 * learn its diffID), under a lease; only a map of path -> digest is kept in memory. When the
 * archive ends, the manifests are read, every digest, size and diffID is checked, and each
 * image is recorded in one transaction. If anything fails, no image is recorded and every blob
 * this load added and nothing else uses is removed; when it succeeds, the members that are not
 * part of an image (manifest.json, index.json, ...) are removed.
 */
import { type Digest, digestOf, isDigest, parseDigest } from '../digest/digest.js';
import { DataCorruptError, NotFoundError, UnsupportedError } from '../errors.js';
import { decompressStream } from '../compression/stream.js';
import { readTar } from '../tar/index.js';
import { canonicalJson } from '../oci/json.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_LAYER_ZSTD, isIndexType, isManifestType, layerCompression } from '../oci/mediatypes.js';
import { hostPlatform, matchPlatform } from '../oci/platform.js';
import type { Descriptor, ImageConfig, ImageManifest } from '../oci/types.js';
import { checkManifestConfig, parseImageConfig, parseIndex, parseManifestOrIndex, parseOciLayout } from '../oci/validate.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { type LayerForImage, type NewImage, type StoredImage, storeImages } from '../image/commit.js';
import { ingestLayer, type IngestedLayer } from '../image/ingest.js';
import { collectSnapshots } from '../image/unpack.js';
import { memberPath, resolveLink } from './paths.js';

export interface LoadProgress {
  start(id: string, label: string, total?: number): void;
  update(id: string, done: number): void;
  finish(id: string, message: string): void;
}

export interface LoadedImage extends StoredImage {
  /** Familiar tag names the image was loaded as (empty when untagged). */
  tags: string[];
}

export interface LoadResult {
  format: 'docker-archive' | 'oci-archive';
  images: LoadedImage[];
}

interface Member {
  path: string;
  layer: IngestedLayer;
}

const BLOB_PATH = /^blobs\/(sha256|sha384|sha512)\/([a-f0-9]+)$/;

export async function loadArchive(store: Store, source: AsyncIterable<Uint8Array>, progress?: LoadProgress): Promise<LoadResult> {
  const added: Digest[] = [];
  // Everything the load leased: members, the manifests and configs it wrote, layer snapshots.
  const leased: Digest[] = [];
  let result: LoadResult;
  try {
    result = await store.withLease(async (leaseProtect) => {
      const protect = (d: Digest) => {
        leased.push(d);
        leaseProtect(d);
      };
      const members = new Map<string, Member>();
      const links = new Map<string, string>();
      const { stream } = await decompressStream(source);
      for await (const entry of readTar(stream)) {
        const h = entry.header;
        const path = memberPath(h.name);
        if (h.type === 'symlink') {
          links.set(path, resolveLink(path, h.linkname));
          continue;
        }
        if (h.type === 'hardlink') {
          links.set(path, memberPath(h.linkname, `archive member ${JSON.stringify(h.name)} link target`));
          continue;
        }
        if (h.type !== 'file') continue;
        // A member named by digest is verified against its name as it streams in.
        const m = BLOB_PATH.exec(path);
        const expectDigest = m ? parseDigest(`${m[1]}:${m[2]}`, `archive member ${path}`) : undefined;
        const big = h.size >= 1 << 20;
        if (big) progress?.start(shortName(path), 'Loading layer', h.size);
        let seen = 0;
        async function* body(): AsyncGenerator<Uint8Array> {
          for await (const c of entry.body) {
            seen += c.length;
            if (big) progress?.update(shortName(path), seen);
            yield c;
          }
        }
        const existed = expectDigest ? (await store.content.info(expectDigest)) !== undefined : false;
        const layer = await ingestLayer(store, body(), { ...(expectDigest ? { digest: expectDigest } : {}), size: h.size, what: `archive member ${path}` }, protect);
        if (layer.reused) for await (const _ of entry.body) { /* skip the bytes of a blob the store already has */ }
        if (!existed) added.push(layer.blobDigest);
        members.set(path, { path, layer });
        if (big) progress?.finish(shortName(path), layer.reused ? 'Already exists' : 'Loaded');
      }
      const resolve = (p: string, what: string): Member => {
        let path = memberPath(p, what);
        for (let hops = 0; links.has(path); hops++) {
          if (hops > 32) throw new DataCorruptError(`${what} ${JSON.stringify(p)}: too many levels of links`);
          path = links.get(path)!;
        }
        const mem = members.get(path);
        if (!mem) throw new DataCorruptError(`${what} ${JSON.stringify(p)} is missing from the archive`);
        return mem;
      };
      const byDigest = (d: Digest, what: string): Member => {
        const mem = resolve(`blobs/${d.replace(':', '/')}`, what);
        return mem;
      };
      if (members.has('manifest.json')) {
        return { format: 'docker-archive' as const, images: await loadDockerArchive(store, resolve, byDigest, members, protect) };
      }
      if (members.has('index.json')) {
        return { format: 'oci-archive' as const, images: await loadOciLayout(store, byDigest, resolve, protect) };
      }
      throw new DataCorruptError('not an image archive: it has neither manifest.json (docker-archive) nor index.json (OCI layout)');
    });
  } catch (e) {
    // Nothing was recorded: remove what this load added that nothing else uses, blobs and
    // unpacked layers (a layer that failed to unpack after others did leaves those).
    await store.collectGarbage([...added, ...leased.filter((d) => isDigest(d))]);
    await collectSnapshots(store, leased.filter((d) => isDigest(d)));
    throw e;
  }
  // Members no image uses (manifest.json, index.json, oci-layout, legacy `<id>/json`) go too.
  await store.collectGarbage(added);
  return result;
}

function shortName(path: string): string {
  const m = BLOB_PATH.exec(path);
  return m ? m[2]!.slice(0, 12) : path.split('/')[0]!.slice(0, 12);
}

async function readJson(store: Store, mem: Member, what: string): Promise<Buffer> {
  const raw = await store.content.readBytes(mem.layer.blobDigest).catch((e: unknown) => {
    if (e instanceof NotFoundError) throw new DataCorruptError(`${what}: blob missing`);
    throw e;
  });
  return raw;
}

function parseJsonValue(raw: Buffer, what: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new DataCorruptError(`${what}: invalid JSON: ${(e as Error).message}`);
  }
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

function parseDockerManifestJson(raw: Buffer): DockerManifestEntry[] {
  const v = parseJsonValue(raw, 'manifest.json');
  if (!Array.isArray(v)) throw new DataCorruptError('manifest.json: expected an array of images');
  if (v.length === 0) throw new DataCorruptError('manifest.json: no images in the archive');
  return v.map((e: unknown, i: number) => {
    const at = `manifest.json[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new DataCorruptError(`${at}: expected an object`);
    const o = e as Record<string, unknown>;
    if (typeof o.Config !== 'string') throw new DataCorruptError(`${at}.Config: expected a string path`);
    if (!Array.isArray(o.Layers) || !o.Layers.every((l) => typeof l === 'string')) throw new DataCorruptError(`${at}.Layers: expected an array of string paths`);
    const tags = o.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw new DataCorruptError(`${at}.RepoTags: expected an array of strings`);
    return { Config: o.Config, RepoTags: tags as string[], Layers: o.Layers as string[] };
  });
}

function mediaTypeFor(c: IngestedLayer['compression'], docker: boolean): string {
  if (c === 'zstd') return OCI_LAYER_ZSTD;
  if (!docker) return c === 'gzip' ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar';
  return c === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
}

function tagName(t: string, what: string): string {
  let ref;
  try {
    ref = parseNormalizedReference(t);
  } catch (e) {
    throw new DataCorruptError(`${what}: invalid tag ${JSON.stringify(t)}: ${(e as Error).message}`);
  }
  if (ref.digest) throw new DataCorruptError(`${what}: ${JSON.stringify(t)} is a digest reference, not a tag`);
  return withDefaultTag(ref).toString();
}

function layersFor(config: ImageConfig, mems: Member[], mediaTypes: string[], what: string): LayerForImage[] {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== mems.length) {
    throw new DataCorruptError(`${what}: the config names ${diffIds.length} layers but the manifest has ${mems.length}`);
  }
  return mems.map((m, i) => {
    if (m.layer.diffId !== diffIds[i]) {
      throw new DataCorruptError(`${what}: layer ${i} (${m.path}): diffID mismatch: the config names ${diffIds[i]}, the layer's content is ${m.layer.diffId}`);
    }
    return { blobDigest: m.layer.blobDigest, blobSize: m.layer.blobSize, mediaType: mediaTypes[i]!, diffId: m.layer.diffId, size: m.layer.size };
  });
}

async function loadDockerArchive(
  store: Store,
  resolve: (p: string, what: string) => Member,
  byDigest: (d: Digest, what: string) => Member,
  members: Map<string, Member>,
  protect: (d: Digest) => void,
): Promise<LoadedImage[]> {
  const entries = parseDockerManifestJson(await readJson(store, members.get('manifest.json')!, 'manifest.json'));
  // Docker 25+ (and cairn) also write an OCI index: keep the real manifests it names.
  const knownManifests = new Map<Digest, { raw: Buffer; manifest: ImageManifest }>();
  if (members.has('index.json')) {
    for (const { raw, manifest } of await ociManifests(store, byDigest, resolve)) knownManifests.set(manifest.config.digest, { raw, manifest });
  }
  // Every image is checked before any is recorded; then all are recorded in one transaction.
  const pending: NewImage[] = [];
  for (const [i, e] of entries.entries()) {
    const what = `manifest.json[${i}]`;
    const configMem = resolve(e.Config, `${what}.Config`);
    const configRaw = await readJson(store, configMem, `${what}.Config`);
    const configId = configMem.layer.blobDigest;
    const config = parseImageConfig(configRaw, `image config ${e.Config}`);
    const layerMems = e.Layers.map((l, j) => resolve(l, `${what}.Layers[${j}]`));
    const tags = e.RepoTags.map((t) => tagName(t, `${what}.RepoTags`));
    const known = knownManifests.get(configId);
    let manifestRaw: Buffer;
    let manifestMediaType: string;
    let configMediaType: string;
    let layers: LayerForImage[];
    if (known && known.manifest.layers.length === layerMems.length && known.manifest.layers.every((d, j) => d.digest === layerMems[j]!.layer.blobDigest)) {
      manifestRaw = known.raw;
      manifestMediaType = known.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
      configMediaType = known.manifest.config.mediaType;
      layers = layersFor(config, layerMems, known.manifest.layers.map((d) => d.mediaType), what);
    } else {
      // Legacy docker-archive: no manifest; synthesise Docker's schema 2 manifest for the blobs as they are.
      const mediaTypes = layerMems.map((m) => mediaTypeFor(m.layer.compression, true));
      layers = layersFor(config, layerMems, mediaTypes, what);
      const anyZstd = layerMems.some((m) => m.layer.compression === 'zstd');
      configMediaType = anyZstd ? 'application/vnd.oci.image.config.v1+json' : DOCKER_CONFIG;
      manifestMediaType = anyZstd ? 'application/vnd.oci.image.manifest.v1+json' : DOCKER_MANIFEST;
      manifestRaw = canonicalJson({
        schemaVersion: 2,
        mediaType: manifestMediaType,
        config: { mediaType: configMediaType, size: configRaw.length, digest: configId },
        layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.blobSize, digest: l.blobDigest })),
      });
    }
    pending.push({ manifestRaw, manifestMediaType, configRaw, configMediaType, config, layers, tags });
  }
  return recordAll(store, pending, protect);
}

/** Record the checked images of one archive together: all or none. */
async function recordAll(store: Store, pending: NewImage[], protect: (d: Digest) => void): Promise<LoadedImage[]> {
  const stored = await storeImages(store, pending, protect);
  return stored.map((s, i) => ({ ...s, tags: (pending[i]!.tags ?? []).map((t) => parseNormalizedReference(t).familiarString()) }));
}

/** Every image manifest an OCI layout's index.json names (nested indexes: the host platform's). */
async function ociManifests(
  store: Store,
  byDigest: (d: Digest, what: string) => Member,
  resolve: (p: string, what: string) => Member,
): Promise<Array<{ raw: Buffer; manifest: ImageManifest; names: string[] }>> {
  const indexRaw = await readJson(store, resolve('index.json', 'index.json'), 'index.json');
  const index = parseIndex(indexRaw, 'index.json');
  const out: Array<{ raw: Buffer; manifest: ImageManifest; names: string[] }> = [];
  const visit = async (d: Descriptor, where: string, names: string[], depth: number): Promise<void> => {
    if (depth > 4) throw new DataCorruptError(`${where}: indexes nested too deeply`);
    const mem = byDigest(d.digest, where);
    if (mem.layer.blobSize !== d.size) throw new DataCorruptError(`${where}: size mismatch: the descriptor says ${d.size} bytes, the blob has ${mem.layer.blobSize}`);
    const raw = await readJson(store, mem, where);
    const doc = parseManifestOrIndex(raw, `${where} (${d.digest})`, d.mediaType);
    if (doc.kind === 'manifest') {
      out.push({ raw, manifest: doc.manifest, names });
      return;
    }
    const host = hostPlatform();
    const pick = doc.index.manifests.find((m) => isManifestType(m.mediaType) && (!m.platform || matchPlatform(host, m.platform)));
    if (!pick) throw new UnsupportedError(`${where}: no image for ${host.os}/${host.architecture} in this index`);
    await visit(pick, `${where}.manifests[${doc.index.manifests.indexOf(pick)}]`, names, depth + 1);
  };
  for (const [i, d] of index.manifests.entries()) {
    if (!isManifestType(d.mediaType) && !isIndexType(d.mediaType)) continue;
    const ann = d.annotations ?? {};
    const names: string[] = [];
    const full = ann['io.containerd.image.name'];
    const refName = ann['org.opencontainers.image.ref.name'];
    if (full) names.push(full);
    else if (refName && /[:/]/.test(refName)) names.push(refName);
    await visit(d, `index.json manifests[${i}]`, names.map((n) => tagName(n, `index.json manifests[${i}] annotations`)), 0);
  }
  if (out.length === 0) throw new DataCorruptError('index.json: names no image manifest');
  return out;
}

async function loadOciLayout(
  store: Store,
  byDigest: (d: Digest, what: string) => Member,
  resolve: (p: string, what: string) => Member,
  protect: (d: Digest) => void,
): Promise<LoadedImage[]> {
  parseOciLayout(await readJson(store, resolve('oci-layout', 'oci-layout'), 'oci-layout'), 'oci-layout');
  const pending: NewImage[] = [];
  const found = await ociManifests(store, byDigest, resolve);
  // One index entry per tag: merge entries that name the same manifest.
  const byManifest = new Map<Digest, { raw: Buffer; manifest: ImageManifest; names: string[] }>();
  for (const f of found) {
    const d = digestOf(f.raw);
    const prev = byManifest.get(d);
    if (prev) prev.names.push(...f.names);
    else byManifest.set(d, { ...f, names: [...f.names] });
  }
  for (const [d, { raw, manifest, names }] of byManifest) {
    const what = `manifest ${d}`;
    const configMem = byDigest(manifest.config.digest, `${what} config`);
    const configRaw = await readJson(store, configMem, `${what} config`);
    const config = parseImageConfig(configRaw, `image config ${manifest.config.digest}`);
    checkManifestConfig(manifest, config, what);
    const mems = manifest.layers.map((l, i) => {
      const m = byDigest(l.digest, `${what} layers[${i}]`);
      if (m.layer.blobSize !== l.size) throw new DataCorruptError(`${what} layers[${i}]: size mismatch: the manifest says ${l.size} bytes, the blob has ${m.layer.blobSize}`);
      const declared = layerCompression(l.mediaType);
      if (declared !== m.layer.compression) throw new DataCorruptError(`${what} layers[${i}]: media type ${l.mediaType} says ${declared}, the blob is ${m.layer.compression}`);
      return m;
    });
    const layers = layersFor(config, mems, manifest.layers.map((l) => l.mediaType), what);
    pending.push({ manifestRaw: raw, manifestMediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', configRaw, configMediaType: manifest.config.mediaType, config, layers, tags: names });
  }
  return recordAll(store, pending, protect);
}

