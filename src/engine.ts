/**
 * The library's front door: `Cairn`, one object per store, with a method per operation the
 * command line offers and typed results. The CLI is a thin shell over it; tests and other
 * programs call it directly. No database handle or table leaves it: the modules below are
 * reached through their own interfaces (and are exported separately for programs that need
 * them: sources and sinks, the Differ, the snapshotter).
 *
 * Modules are loaded when an operation first needs them, so that a program (or the CLI) that
 * only lists images starts fast.
 */
import type { Readable } from 'node:stream';
import type { Digest } from './digest/digest.js';
import { listImages, listTags, tagsOf } from './metadata/records.js';
import { SCHEMA_VERSION } from './metadata/db.js';
import { parseReference } from './reference/reference.js';
import { type DriverName } from './snapshot/index.js';
import { type CompressedBlobs, Store } from './store/store.js';
import type { GcResult } from './store/gc.js';
import type { HistoryRow, ImageInspect, ImageRow, ListOptions } from './image/query.js';
import type { RemoveEvent, RemoveOptions } from './image/tags.js';
import type { ArchiveFormat, SaveResult } from './archive/sink.js';
import type { LoadResult } from './archive/load.js';
import type { ImportOptions } from './archive/import.js';
import type { StoredImageResult } from './transfer/store-sink.js';
import type { SquashOptions } from './transfer/squash.js';
import type { ByteOrigin } from './transfer/origin.js';
import type { CopyProgress } from './transfer/types.js';
import type { PullOptions, PullResult, PushOptions, PushResult, RegistryAccess } from './registry/transfer.js';

/** `registry serve`'s options, as files the engine reads. */
export interface RegistryServeOptions {
  /** Refuse pushes and deletes. */
  readOnly?: boolean;
  /** Require basic auth by the users of this htpasswd file (bcrypt entries). */
  htpasswdFile?: string;
  /** Serve https with this certificate and key (PEM files). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** A connection that moves no byte for this long is closed (default 60 s). */
  idleTimeoutMs?: number;
  /** Upload sessions open at once, at most (default 1024). */
  maxUploads?: number;
  /** An upload session unused for this long is dropped with its bytes (default 15 min). */
  uploadIdleMs?: number;
}
import type { AddressInfo } from 'node:net';
import type { RegistryGcOptions, RegistryGcResult } from './distribution/gc.js';
import type { CreateVolumeOptions, PruneResult as VolumePruneResult, Volume, VolumeUsers } from './volume/index.js';

/** Where the store is and how it unpacks layers: the one options type of the library. */
export interface CairnOptions {
  /** Root directory; default: $CAIRN_ROOT, else /var/lib/cairn for root, else $XDG_DATA_HOME/cairn. */
  root?: string;
  /** `overlay` or `native`; default: the one recorded in the store, else the machine's best. */
  storageDriver?: DriverName;
  /**
   * `keep` (default) or `drop` the compressed blob of a layer the store can re-emit from its
   * files: recorded in the store when given; `drop` halves the disk of compressed layers, and
   * save then writes them uncompressed (see StoreOptions).
   */
  compressedBlobs?: CompressedBlobs;
}

export interface StoreInfo {
  root: string;
  schemaVersion: number;
  images: number;
  tags: number;
  contentBlobs: number;
  contentBytes: number;
  /** The store's compressed-blobs policy (see CairnOptions). */
  compressedBlobs: CompressedBlobs;
}

export interface MountedImage {
  id: Digest;
  /** Familiar names of the image. */
  names: string[];
  target: string;
  count: number;
}

export interface SaveOptions {
  format?: ArchiveFormat;
  progress?: CopyProgress;
}

export class Cairn {
  /**
   * Which containers use a volume (`volume rm` and `prune` keep those, `ls -f dangling=` asks):
   * the container module answers from its records once it is wired in here; until then no
   * container uses any volume.
   */
  private readonly volumeUsers: VolumeUsers = () => [];

  private constructor(private readonly store: Store) {
    // Volume directories a crash left without a record go with each collection.
    store.afterGc(async () => (await import('./volume/index.js')).sweepVolumeLeftovers(store));
  }

  static async open(opts: CairnOptions = {}): Promise<Cairn> {
    return new Cairn(await Store.open(opts));
  }

  get root(): string {
    return this.store.root;
  }

  /** `images`: one row per name (untagged images once), newest first. */
  async images(opts: ListOptions = {}): Promise<ImageRow[]> {
    return (await import('./image/query.js')).listImageRows(this.store, opts);
  }

  async history(name: string): Promise<HistoryRow[]> {
    return (await import('./image/query.js')).imageHistory(this.store, name);
  }

  /** Docker's `image inspect` document. */
  async inspect(name: string): Promise<ImageInspect> {
    return (await import('./image/query.js')).inspectImage(this.store, name);
  }

  /** Name an image; returns the canonical name given. */
  async tag(source: string, target: string): Promise<string> {
    return (await import('./image/tags.js')).tagImage(this.store, source, target);
  }

  /** `rmi`: the names removed and the images and layers deleted, as Docker prints them. */
  async remove(name: string, opts: RemoveOptions = {}): Promise<RemoveEvent[]> {
    return (await import('./image/tags.js')).removeImage(this.store, name, opts);
  }

  /**
   * `load`: an image archive (docker-archive or OCI layout, any compression), read once — a
   * stream, or `{ file }` (then a layer is never copied while it streams: see transfer/origin.ts).
   */
  async load(archive: ByteOrigin, progress?: CopyProgress): Promise<LoadResult> {
    return (await import('./archive/load.js')).loadArchive(this.store, archive, progress);
  }

  /** `save`: the images `names` select, as one archive streamed into `out`. */
  async save(names: string[], out: NodeJS.WritableStream, opts: SaveOptions = {}): Promise<SaveResult> {
    return (await import('./archive/save.js')).saveImages(this.store, names, opts.format ?? 'docker-archive', out, opts.progress);
  }

  /** `import`: a root filesystem tar (plain, gzip or zstd) as a one-layer image. */
  async import(rootfs: ByteOrigin | Readable, opts: ImportOptions = {}): Promise<StoredImageResult & { tag?: string }> {
    return (await import('./archive/import.js')).importImage(this.store, rootfs, opts);
  }

  /** `pull`: an image from its registry (a tag, default `latest`, or a digest), layers the store has skipped. */
  async pull(reference: string, opts: PullOptions = {}): Promise<PullResult> {
    return (await import('./registry/transfer.js')).pullImage(this.store, reference, opts);
  }

  /** `push`: a local image to its registry under its tag; blobs the repository has are skipped. */
  async push(reference: string, opts: PushOptions = {}): Promise<PushResult> {
    return (await import('./registry/transfer.js')).pushImage(this.store, reference, opts);
  }

  /** A repository's tags in its registry (`pull --all-tags`). */
  async remoteTags(repository: string, access: RegistryAccess = {}): Promise<string[]> {
    return (await import('./registry/transfer.js')).remoteTags(repository, access);
  }

  /** The local tags of a repository, canonical (`push --all-tags`). */
  async repositoryTags(repository: string): Promise<string[]> {
    return (await import('./registry/transfer.js')).localTags(this.store, repository);
  }

  /** `image squash`: the image's layers (all, or those above the bottom N) merged into one. */
  async squash(name: string, opts: SquashOptions = {}): Promise<StoredImageResult> {
    return (await import('./transfer/squash.js')).squashImage(this.store, name, opts);
  }

  /** `image mount`: the image's file system, read-only; returns where. */
  async mount(name: string): Promise<{ id: Digest; target: string }> {
    return (await import('./image/mount.js')).mountImage(this.store, name);
  }

  /** `image umount`: one mount less (all with `all`); returns how many are left. */
  async unmount(name: string, opts: { all?: boolean } = {}): Promise<{ id: Digest; left: number }> {
    return (await import('./image/mount.js')).unmountImage(this.store, name, opts);
  }

  async mounts(): Promise<MountedImage[]> {
    const { mountedImages } = await import('./image/mount.js');
    return mountedImages(this.store).map((m) => ({ ...m, names: tagsOf(this.store.db, m.id).map((t) => parseReference(t).familiarString()) }));
  }

  async info(): Promise<StoreInfo> {
    let contentBlobs = 0;
    let contentBytes = 0;
    for await (const b of this.store.content.walk()) {
      contentBlobs++;
      contentBytes += b.size;
    }
    return { root: this.store.root, schemaVersion: SCHEMA_VERSION, images: listImages(this.store.db).length, tags: listTags(this.store.db).length, contentBlobs, contentBytes, compressedBlobs: this.store.compressedBlobs };
  }

  /**
   * `registry serve`: serve this store's repositories over the distribution API on
   * `host:port` (port 0: a free one) until `close`.
   */
  async serveRegistry(host: string, port: number, opts: RegistryServeOptions = {}): Promise<{ address: AddressInfo; repositories: number; close(): Promise<void> }> {
    const { RegistryServer, loadTls } = await import('./distribution/server.js');
    const { Htpasswd } = await import('./distribution/auth.js');
    const server = new RegistryServer(this.store, {
      ...(opts.readOnly ? { readOnly: true } : {}),
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
      ...(opts.maxUploads !== undefined ? { maxUploads: opts.maxUploads } : {}),
      ...(opts.uploadIdleMs !== undefined ? { uploadIdleMs: opts.uploadIdleMs } : {}),
      ...(opts.htpasswdFile !== undefined ? { htpasswd: Htpasswd.load(opts.htpasswdFile) } : {}),
      ...(opts.tlsCertFile !== undefined && opts.tlsKeyFile !== undefined ? { tls: loadTls(opts.tlsCertFile, opts.tlsKeyFile) } : {}),
    });
    const address = await server.listen(host, port);
    const { allRepositories } = await import('./metadata/registry.js');
    return { address, repositories: allRepositories(this.store.db).length, close: () => server.close() };
  }

  /** `registry gc`: links no served manifest needs dropped (untagged manifests too, if asked), then a collection. */
  async registryGc(opts: RegistryGcOptions = {}): Promise<RegistryGcResult> {
    return (await import('./distribution/gc.js')).collectRegistry(this.store, opts);
  }

  /** `volume create`: a new volume, or the existing one of that name as it is. */
  async volumeCreate(opts: CreateVolumeOptions = {}): Promise<Volume> {
    return (await import('./volume/index.js')).createVolume(this.store, opts);
  }

  /** `volume ls`: the volumes Docker's filters (KEY=VALUE: dangling, driver, label, name) select, by name. */
  async volumes(filters: readonly string[] = []): Promise<Volume[]> {
    return (await import('./volume/index.js')).listVolumes(this.store, { filters, inUse: this.volumeUsers });
  }

  /** `volume inspect`: one volume (NotFoundError "No such volume: NAME"). */
  async volumeInspect(name: string): Promise<Volume> {
    return (await import('./volume/index.js')).inspectVolume(this.store, name);
  }

  /** `volume rm`: refused while a container uses it; with `force`, a volume that is not there is no error. Returns whether one was removed. */
  async volumeRemove(name: string, opts: { force?: boolean } = {}): Promise<boolean> {
    return (await import('./volume/index.js')).removeVolume(this.store, name, { force: opts.force ?? false, inUse: this.volumeUsers });
  }

  /** `volume prune`: every local volume without options that no container uses (label= / label!= filters narrow it). */
  async volumePrune(filters: readonly string[] = []): Promise<VolumePruneResult> {
    return (await import('./volume/index.js')).pruneVolumes(this.store, { filters, inUse: this.volumeUsers });
  }

  /** Remove what nothing uses (it also runs after every removal and copy). */
  gc(): Promise<GcResult> {
    return this.store.gc();
  }

  close(): void {
    this.store.close();
  }
}
