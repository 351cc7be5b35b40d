/**
 * The image model every transport speaks (containers/image's ImageSource/ImageDestination,
 * go-containerregistry's lazy Image): a source offers images, each resolved to one platform's
 * manifest, and each layer's bytes read lazily as a stream; a sink accepts layers, then images,
 * and makes them visible only at `commit`. `copyImages` (copy.ts) is the one function that moves
 * images from any source to any sink: load, save and import are copies, and so will be pull
 * and push.
 *
 * A source that can only be read once, in its own order (an archive on a pipe), first
 * `deliver`s its blobs to the sink as they pass — the sink stores or unpacks each one and
 * says what it is — and only then names its images; the copy then finds their layers already
 * in the sink.
 */
import type { Digest } from '../digest/digest.js';
import type { BlobCompression, LayerDescriptor } from '../oci/mutate.js';
import type { MediaType } from '../oci/mediatypes.js';
import type { ImageConfig, ImageManifest, Platform } from '../oci/types.js';

export type { LayerDescriptor } from '../oci/mutate.js';

/** One image as a source offers it: documents parsed and checked, layers paired with diffIDs. */
export interface SourceImage {
  manifest: { raw: Buffer; digest: Digest; mediaType: MediaType; parsed: ImageManifest };
  config: { raw: Buffer; digest: Digest; mediaType: MediaType; parsed: ImageConfig };
  /** Bottom first; `diffId` is the config's rootfs.diff_ids entry for the same index. */
  layers: LayerDescriptor[];
  /** Canonical tag names the image carries (`docker.io/library/busybox:latest`). */
  names: string[];
  /** `name@digest` references the image was fetched by (a registry's manifest digest). */
  repoDigests?: string[];
  /**
   * The image this one was built on (Docker's classic builder keeps each step as an image):
   * its ID, when the source names one that the same copy also offers (docker-archive's
   * manifest.json `Parent`; the store's record). The store keeps the parent chain (hidden
   * intermediate images), an archive writes it back.
   */
  parent?: Digest;
  /**
   * Its names are given now (import, squash: Docker's TagImageWithReference), so they set the
   * image's LastTagTime; names an archive or a registry brings do not (load, pull).
   */
  setsLastTagTime?: boolean;
}

/** Progress of a copy, per layer (the CLI draws Docker's progress lines from these). */
export interface CopyProgress {
  start(id: string, label: string, total?: number): void;
  update(id: string, done: number): void;
  finish(id: string, message: string): void;
  /** A one-line state of a layer with no bytes to count ("Already exists", "Pulling fs layer"). */
  status?(id: string, message: string): void;
}

/** How a sink's progress reads (Docker's words for load, pull, push). */
export interface SinkVerbs {
  /** While a layer's bytes move. */
  active: string;
  /** When they have. */
  done: string;
  /** Said of every layer first, before the sink is asked whether it has it ("Preparing"). */
  prepare?: string;
  /** A layer the sink has already; none: said of no layer. */
  exists?: string;
  /** Said of every layer the sink lacks before any moves ("Pulling fs layer"); none: not said. */
  queued?: string;
  /** Layers are named by their blob digest (pull, load) or their diffID (push), 12 hex digits. */
  id?: 'digest' | 'diffId';
  /** Progress for every layer, not only those of 1 MiB or more. */
  all?: boolean;
}

/** What a sink knows about bytes a source delivered before saying what they are. */
export interface BlobHint {
  /** The digest the source names the bytes by (verified), when it has one. */
  digest?: Digest;
  size?: number;
  /** Names the bytes in errors, e.g. `archive member blobs/sha256/…`. */
  what: string;
  /** The bytes must be a (possibly compressed) tar: a root filesystem given to import. */
  requireTar?: boolean;
  /**
   * The same bytes, read again from where they came from (a member of an archive file, a file
   * on disk): a sink may then keep no copy while they stream and read them again only if it
   * needs them. A sink verifies what it re-reads (the file may have changed).
   */
  reread?: () => AsyncIterable<Uint8Array>;
}

export interface ReceivedBlob {
  digest: Digest;
  size: number;
  compression: BlobCompression;
  /** Digest of the uncompressed bytes (a layer's diffID, if the bytes are a layer). */
  diffId: Digest;
  uncompressedSize: number;
  /** The sink had these bytes already and did not read them. */
  reused: boolean;
}

export interface PutLayerOptions {
  /** The source verified these bytes when it stored them: the sink need not hash them again. */
  trusted: boolean;
  /** Names the layer in errors. */
  what: string;
  /**
   * The layer belongs to an image whose layers are unpacked here (a Linux image); false: one
   * stored as blobs only (a Windows image on Linux: `unpacksHere`).
   */
  unpack: boolean;
}

export interface ImageSink<R> {
  /** Progress labels: while a layer is copied, and when it is done. */
  readonly verbs: SinkVerbs;
  /** Bytes a streamed source delivers in its own order (see the module comment). */
  receive(bytes: AsyncIterable<Uint8Array>, hint: BlobHint): Promise<ReceivedBlob>;
  /**
   * How many `receive` calls may run at once (default 1: one after the other). A source whose
   * blobs can be read independently (the members of an archive file) then hands over the next
   * while the sink still works on the last.
   */
  receiveSlots?(): Promise<number>;
  /**
   * Whether the sink holds this layer already (it is then not read from the source: "Already
   * exists"); `{ said }` when it does and has something else to say of how ("Mounted from X").
   */
  hasLayer(layer: LayerDescriptor): Promise<boolean | { said: string }>;
  /**
   * How many `hasLayer` calls may run at once (default 1: one after the other). A registry
   * answers each with a request or two (HEAD, a mount): asked together, their round trips
   * overlap. What they say is told in the image's order all the same.
   */
  readonly checkSlots?: number;
  /**
   * The image whose layers are about to be checked and copied: the sink may start what does not
   * wait for them (a registry: its config blob). `putImage` and `abort` wait for what it started.
   */
  prepareImage?(image: SourceImage): void;
  /** Store one layer's bytes, verifying its digest, size and diffID unless `trusted`. */
  putLayer(layer: LayerDescriptor, bytes: AsyncIterable<Uint8Array>, opts: PutLayerOptions): Promise<void>;
  /** An image whose layers are all in the sink; visible only after `commit`. */
  putImage(image: SourceImage): Promise<void>;
  /** Make everything put visible, all or nothing. */
  commit(): Promise<R>;
  /** Give up: nothing put becomes visible, and what the sink added for it is removed. */
  abort(): Promise<void>;
}

export interface ResolveOptions {
  /** Which image of an index to take; default: the host's. */
  platform?: Platform;
}

export interface ImageSource {
  /** Bytes read from this source were verified when they were stored (the local store). */
  readonly verified: boolean;
  /** A source read once in its own order hands every blob to the sink first (see the module comment). */
  deliver?(sink: ImageSink<unknown>, progress?: CopyProgress): Promise<void>;
  /** The images the source offers, each resolved to one platform's manifest. */
  images(opts?: ResolveOptions): Promise<SourceImage[]>;
  /** A layer's bytes as its descriptor names them (compressed as stored), read lazily. */
  layer(layer: LayerDescriptor): Promise<AsyncIterable<Uint8Array>>;
  /** Release what the source holds (leases, files). */
  close(): Promise<void>;
}
