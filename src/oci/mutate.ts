/**
 * Pure transforms of image documents, in go-containerregistry's `mutate` spirit: every
 * function takes documents and returns new ones; nothing is written until a sink takes them.
 * Commands never assemble manifests or configs by hand: import, legacy archives, save's
 * Docker -> OCI conversion (and later commit, build, squash) go through these.
 *
 *   layerMediaType        the media type for a layer blob of a given compression, Docker or OCI
 *   newImageConfig        an empty config for a platform (no layers, no history)
 *   appendLayer           one more layer (diffID) and its history entry
 *   setCreated            the creation time (config and, optionally, the last history entry)
 *   buildManifest         the manifest naming a config blob and layer blobs (canonical JSON)
 *   toOciManifest / toDockerManifest   the same blobs under the other family's media types
 */
import { type Digest, digestOf } from '../digest/digest.js';
import { InvalidArgumentError } from '../errors.js';
import { canonicalJson } from './json.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_GZIP,
  DOCKER_LAYER_ZSTD,
  DOCKER_MANIFEST,
  type MediaType,
  OCI_CONFIG,
  OCI_LAYER,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
} from './mediatypes.js';
import type { ContainerConfig, Descriptor, HistoryEntry, ImageConfig, ImageManifest, Platform } from './types.js';

/**
 * One layer, as every part of cairn speaks of it: the blob a manifest names (media type,
 * digest, size: compressed or not, as stored or transported) and the uncompressed tar the
 * image config names (diffID), with the tar's size when known.
 */
export interface LayerDescriptor extends Descriptor {
  diffId: Digest;
  /** Bytes of the uncompressed tar, when known. */
  uncompressedSize?: number;
}

/** The family of media types an image uses: Docker schema 2 or OCI. */
export type MediaFamily = 'docker' | 'oci';

export type BlobCompression = 'none' | 'gzip' | 'zstd';

/**
 * The media type of a layer blob. Docker schema 2 has no zstd layer type that Docker itself
 * reads, so a zstd layer is OCI's in both families (an image with one becomes OCI: see
 * {@link familyFor}).
 */
export function layerMediaType(compression: BlobCompression, family: MediaFamily): MediaType {
  if (compression === 'zstd') return OCI_LAYER_ZSTD;
  if (family === 'oci') return compression === 'gzip' ? OCI_LAYER_GZIP : OCI_LAYER;
  return compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER;
}

/** The family an image with these layer compressions is written in when `preferred` cannot carry them all. */
export function familyFor(compressions: readonly BlobCompression[], preferred: MediaFamily): MediaFamily {
  return compressions.includes('zstd') ? 'oci' : preferred;
}

export function configMediaType(family: MediaFamily): MediaType {
  return family === 'oci' ? OCI_CONFIG : DOCKER_CONFIG;
}

export function manifestMediaType(family: MediaFamily): MediaType {
  return family === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
}

/** A config for `platform` with no layers and no history. */
export function newImageConfig(platform: Pick<Platform, 'os' | 'architecture' | 'variant'>): ImageConfig {
  return {
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: [] },
  };
}

/** `config` with one more layer on top and its history entry. */
export function appendLayer(config: ImageConfig, diffId: Digest, history: HistoryEntry = {}): ImageConfig {
  return {
    ...config,
    rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] },
    history: [...(config.history ?? []), { ...history }],
  };
}

/** `config` with a history entry for an instruction that changes no files (`empty_layer`). */
export function appendEmptyLayerHistory(config: ImageConfig, history: HistoryEntry): ImageConfig {
  return { ...config, history: [...(config.history ?? []), { ...history, empty_layer: true }] };
}

/** `config` with its run-time settings (Env, Cmd, ...) replaced. */
export function setContainerConfig(config: ImageConfig, cc: ContainerConfig | undefined): ImageConfig {
  const { config: _old, ...rest } = config;
  return cc === undefined ? rest : { ...rest, config: cc };
}

/** `config` with `comment` (what `docker import -m` and `commit -m` set). */
export function setComment(config: ImageConfig, comment: string | undefined): ImageConfig {
  const { comment: _old, ...rest } = config;
  return comment === undefined ? rest : { ...rest, comment };
}

/** `config` created at `time` (ISO 8601); the history entries keep their own times. */
export function setCreated(config: ImageConfig, time: Date | string): ImageConfig {
  const created = typeof time === 'string' ? time : time.toISOString();
  return { ...config, created };
}

/** A config serialised as the bytes whose digest is the image ID. */
export function serializeConfig(config: ImageConfig): { raw: Buffer; digest: Digest } {
  const raw = canonicalJson(config);
  return { raw, digest: digestOf(raw) };
}

export interface BuiltManifest {
  raw: Buffer;
  digest: Digest;
  manifest: ImageManifest;
}

/**
 * The manifest naming `config` (its bytes and media type) and `layers` (their blobs), in
 * `family`'s media types (the layer descriptors keep theirs).
 */
export function buildManifest(family: MediaFamily, config: { raw: Buffer; mediaType?: MediaType }, layers: readonly LayerDescriptor[]): BuiltManifest {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType(family),
    config: { mediaType: config.mediaType ?? configMediaType(family), size: config.raw.length, digest: digestOf(config.raw) },
    // a foreign layer keeps the URLs it is fetched from
    layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest, ...(l.urls?.length ? { urls: l.urls } : {}) })),
  };
  const raw = canonicalJson(manifest);
  return { raw, digest: digestOf(raw), manifest };
}

const DOCKER_TO_OCI: ReadonlyMap<string, MediaType> = new Map([
  [DOCKER_LAYER, OCI_LAYER],
  [DOCKER_LAYER_GZIP, OCI_LAYER_GZIP],
  [DOCKER_LAYER_ZSTD, OCI_LAYER_ZSTD],
  [DOCKER_CONFIG, OCI_CONFIG],
]);
const OCI_TO_DOCKER: ReadonlyMap<string, MediaType> = new Map([
  [OCI_LAYER, DOCKER_LAYER],
  [OCI_LAYER_GZIP, DOCKER_LAYER_GZIP],
  [OCI_CONFIG, DOCKER_CONFIG],
]);

function convert(raw: Buffer, m: ImageManifest, from: MediaType, to: MediaType, table: ReadonlyMap<string, MediaType>): BuiltManifest {
  if ((m.mediaType ?? OCI_MANIFEST) !== from) return { raw, digest: digestOf(raw), manifest: m };
  const map = (d: Descriptor): Descriptor => ({ mediaType: table.get(d.mediaType) ?? d.mediaType, digest: d.digest, size: d.size });
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: to, config: map(m.config), layers: m.layers.map(map) };
  const out = canonicalJson(manifest);
  return { raw: out, digest: digestOf(out), manifest };
}

/**
 * An OCI manifest for a Docker schema 2 one: the same blobs (so the same image ID and diffIDs)
 * under OCI media types. Any other manifest is kept byte for byte: re-serialising it would
 * change its digest.
 */
export function toOciManifest(raw: Buffer, m: ImageManifest): BuiltManifest {
  return convert(raw, m, DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_TO_OCI);
}

/**
 * A Docker schema 2 manifest for an OCI one, for peers that read only Docker's types. Refused
 * for zstd layers (Docker schema 2 has no type for them) and for manifests with annotations,
 * subject or artifactType (Docker's schema cannot carry them).
 */
export function toDockerManifest(raw: Buffer, m: ImageManifest): BuiltManifest {
  if ((m.mediaType ?? OCI_MANIFEST) === OCI_MANIFEST) {
    if (m.layers.some((l) => l.mediaType === OCI_LAYER_ZSTD)) throw new InvalidArgumentError('a zstd layer cannot be described by a Docker schema 2 manifest');
    if (m.annotations || m.subject || m.artifactType) throw new InvalidArgumentError('an OCI manifest with annotations, subject or artifactType cannot be converted to Docker schema 2');
  }
  return convert(raw, m, OCI_MANIFEST, DOCKER_MANIFEST, OCI_TO_DOCKER);
}
