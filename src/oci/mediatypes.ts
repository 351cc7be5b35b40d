/**
 * Media types: the names that say what a blob is. A MediaType is a branded string that has
 * passed the RFC 6838 shape check (type/subtype, as the OCI descriptor schema requires), so a
 * bare string cannot be used where a checked media type is meant. This module owns the
 * constants for the OCI image-spec and Docker image manifest v2 schema 2 types and the
 * predicates that classify them (manifest, index, config, layer, compression).
 */
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { describe } from './describe.js';

export type MediaType = string & { readonly __brand: 'MediaType' };

const mt = (s: string): MediaType => s as MediaType;

// OCI image-spec v1.1
export const OCI_MANIFEST = mt('application/vnd.oci.image.manifest.v1+json');
export const OCI_INDEX = mt('application/vnd.oci.image.index.v1+json');
export const OCI_CONFIG = mt('application/vnd.oci.image.config.v1+json');
export const OCI_LAYOUT_HEADER = mt('application/vnd.oci.layout.header.v1+json');
export const OCI_EMPTY = mt('application/vnd.oci.empty.v1+json');
export const OCI_LAYER = mt('application/vnd.oci.image.layer.v1.tar');
export const OCI_LAYER_GZIP = mt('application/vnd.oci.image.layer.v1.tar+gzip');
export const OCI_LAYER_ZSTD = mt('application/vnd.oci.image.layer.v1.tar+zstd');
export const OCI_LAYER_NONDISTRIBUTABLE = mt('application/vnd.oci.image.layer.nondistributable.v1.tar');
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP = mt('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip');
export const OCI_LAYER_NONDISTRIBUTABLE_ZSTD = mt('application/vnd.oci.image.layer.nondistributable.v1.tar+zstd');

// Docker image manifest v2 schema 2 and manifest list
export const DOCKER_MANIFEST = mt('application/vnd.docker.distribution.manifest.v2+json');
export const DOCKER_MANIFEST_LIST = mt('application/vnd.docker.distribution.manifest.list.v2+json');
export const DOCKER_CONFIG = mt('application/vnd.docker.container.image.v1+json');
export const DOCKER_LAYER_GZIP = mt('application/vnd.docker.image.rootfs.diff.tar.gzip');
export const DOCKER_FOREIGN_LAYER_GZIP = mt('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip');
/** Not in Docker's spec, but written by some tools (containerd knows these names). */
export const DOCKER_LAYER = mt('application/vnd.docker.image.rootfs.diff.tar');
export const DOCKER_FOREIGN_LAYER = mt('application/vnd.docker.image.rootfs.foreign.diff.tar');
export const DOCKER_LAYER_ZSTD = mt('application/vnd.docker.image.rootfs.diff.tar.zstd');
/** Docker schema 1 (legacy, signed or not): recognised only to be refused clearly. */
export const DOCKER_MANIFEST_SCHEMA1 = mt('application/vnd.docker.distribution.manifest.v1+json');
export const DOCKER_MANIFEST_SCHEMA1_SIGNED = mt('application/vnd.docker.distribution.manifest.v1+prettyjws');

/**
 * RFC 6838 section 4.2 restricted names: type "/" subtype, each 1-127 characters from
 * ALPHA DIGIT ! # $ & - ^ _ . + and starting with an alphanumeric. (The OCI schema's regex
 * writes the class as `&-^`, a range by accident; this is the set the RFC means.)
 */
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** Validate `s` as a media type; `where` names the field for the error message. */
export function parseMediaType(s: unknown, where = 'mediaType'): MediaType {
  if (typeof s !== 'string') throw new InvalidArgumentError(`${where}: expected a media type string, got ${describe(s)}`);
  if (!MEDIA_TYPE_RE.test(s)) {
    throw new InvalidArgumentError(`${where}: invalid media type ${JSON.stringify(s)}: expected type/subtype (RFC 6838)`);
  }
  return s as MediaType;
}

export function isMediaType(s: unknown): s is MediaType {
  return typeof s === 'string' && MEDIA_TYPE_RE.test(s);
}

/** An image manifest: OCI image manifest or Docker schema 2 manifest. */
export function isManifestType(m: string): boolean {
  return m === OCI_MANIFEST || m === DOCKER_MANIFEST;
}

/** A list of manifests: OCI image index or Docker manifest list. */
export function isIndexType(m: string): boolean {
  return m === OCI_INDEX || m === DOCKER_MANIFEST_LIST;
}

/** Docker schema 1 manifests, which cairn does not read. */
export function isSchema1Type(m: string): boolean {
  return m === DOCKER_MANIFEST_SCHEMA1 || m === DOCKER_MANIFEST_SCHEMA1_SIGNED;
}

/** An image configuration (the JSON whose digest is the image ID). */
export function isImageConfigType(m: string): boolean {
  return m === OCI_CONFIG || m === DOCKER_CONFIG;
}

const LAYER_COMPRESSION: ReadonlyMap<string, LayerCompression> = new Map<string, LayerCompression>([
  [OCI_LAYER, 'none'],
  [OCI_LAYER_GZIP, 'gzip'],
  [OCI_LAYER_ZSTD, 'zstd'],
  [OCI_LAYER_NONDISTRIBUTABLE, 'none'],
  [OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'gzip'],
  [OCI_LAYER_NONDISTRIBUTABLE_ZSTD, 'zstd'],
  [DOCKER_LAYER_GZIP, 'gzip'],
  [DOCKER_FOREIGN_LAYER_GZIP, 'gzip'],
  [DOCKER_LAYER, 'none'],
  [DOCKER_FOREIGN_LAYER, 'none'],
  [DOCKER_LAYER_ZSTD, 'zstd'],
]);

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** A filesystem layer (a tar changeset, possibly compressed) of a known media type. */
export function isLayerType(m: string): boolean {
  return LAYER_COMPRESSION.has(m);
}

/** Layers that registries must not receive: OCI non-distributable and Docker foreign layers. */
export function isNondistributableType(m: string): boolean {
  return (
    m === OCI_LAYER_NONDISTRIBUTABLE ||
    m === OCI_LAYER_NONDISTRIBUTABLE_GZIP ||
    m === OCI_LAYER_NONDISTRIBUTABLE_ZSTD ||
    m === DOCKER_FOREIGN_LAYER_GZIP ||
    m === DOCKER_FOREIGN_LAYER
  );
}

/** The compression of a layer media type; UnsupportedError for anything that is not a known layer type. */
export function layerCompression(m: string): LayerCompression {
  const c = LAYER_COMPRESSION.get(m);
  if (c === undefined) throw new UnsupportedError(`unsupported layer media type ${JSON.stringify(m)}`);
  return c;
}

/** The `application/vnd.docker.*` family (schema 2, manifest list, Docker config and layers, schema 1). */
export function isDockerType(m: string): boolean {
  return m.startsWith('application/vnd.docker.');
}
