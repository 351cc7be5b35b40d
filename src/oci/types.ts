/**
 * The image-spec documents as TypeScript types: Descriptor, Platform, ImageManifest (OCI image
 * manifest and Docker schema 2 manifest), ImageIndex (OCI image index and Docker manifest list),
 * ImageConfig (OCI config and Docker's container image config, with Docker's capitalised keys)
 * and the oci-layout file. Values of these types come out of the parse functions in
 * validate.ts, which check every field named here and keep every field not named here: the
 * index signatures carry unknown fields through, since documents must round-trip
 * byte-for-byte (callers keep the raw bytes; nothing here reserialises them).
 */
import type { Digest } from '../digest/digest.js';
import type { MediaType } from './mediatypes.js';

export type Annotations = Record<string, string>;

/** Where an image runs. Docker's manifest list and the OCI index use the same shape. */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  /** Reserved by the OCI spec; Docker's manifest list used it for CPU features. */
  features?: string[];
  [key: string]: unknown;
}

/** A typed, sized, content-addressed reference to a blob. */
export interface Descriptor {
  mediaType: MediaType;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Annotations;
  platform?: Platform;
  artifactType?: MediaType;
  /** The content itself, base64 (RFC 4648); checked against digest and size when parsed. */
  data?: string;
  [key: string]: unknown;
}

/** OCI image manifest or Docker image manifest v2 schema 2 (mediaType tells which). */
export interface ImageManifest {
  schemaVersion: 2;
  /** Optional for OCI (absent means OCI); required for Docker schema 2. */
  mediaType?: MediaType;
  artifactType?: MediaType;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
  [key: string]: unknown;
}

/** OCI image index or Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: MediaType;
  artifactType?: MediaType;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Annotations;
  [key: string]: unknown;
}

/** Docker's HealthConfig; durations are nanoseconds. */
export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
  [key: string]: unknown;
}

/**
 * The execution parameters (`config` in the image config). The OCI spec names the first group;
 * Docker's container config adds Healthcheck, OnBuild, Shell, ArgsEscaped and the legacy
 * Hostname/Tty/... fields, which are carried as unknown fields.
 */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, unknown>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, unknown>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[];
  Shell?: string[];
  [key: string]: unknown;
}

export interface RootFs {
  type: 'layers';
  /** Uncompressed layer digests, base layer first. */
  diff_ids: Digest[];
  [key: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
  [key: string]: unknown;
}

/** OCI image config / Docker container image config (the document whose digest is the image ID). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ContainerConfig;
  rootfs: RootFs;
  history?: HistoryEntry[];
  [key: string]: unknown;
}

/** The `oci-layout` file at the root of an OCI image layout. */
export interface OciLayoutFile {
  imageLayoutVersion: string;
  [key: string]: unknown;
}

/** What parseManifestOrIndex found. */
export type ManifestOrIndex = { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };
