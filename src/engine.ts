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
import { NotFoundError } from './errors.js';
import type { Digest } from './digest/digest.js';
import { damagedImages, listImages, listTags, tagsOf } from './metadata/records.js';
import { containersOfVolume } from './container/records.js';
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
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerRecord, HealthState } from './container/model.js';
import type { CreateOptions } from './container/options.js';
import type { CreateContainerOptions } from './container/create.js';
import type { CommitLayerResult } from './container/commit.js';
import type { BuildOptions, BuildResult } from './build/builder.js';
import type { Change } from './container/changes.js';
import type { ContainerArchive } from './container/copy-from.js';
import type { CopyInput } from './container/copy-to.js';
import type { CopyMount } from './container/cp-mounts.js';
import type { ContainerConfig } from './oci/types.js';
import type { PsRow } from './container/ps.js';
import type { PsQuery } from './container/ps-filter.js';
import type { DockerContainerInspect } from './container/inspect.js';
import type { ForegroundContainer } from './container/foreground.js';
import type { RemovedContainer, RemoveContainerOptions } from './container/lifecycle.js';
import type { RuntimeProcess, Stdio, StdioMode } from './runtime/oci-runtime.js';
import type { ExecOptions } from './container/exec.js';
import type { DetachedStart } from './container/detached.js';
import type { AttachStdioOptions } from './container/attach.js';
import type { LogLine, ReadLogOptions } from './container/logfile.js';
import type { RegistryGcOptions, RegistryGcResult } from './distribution/gc.js';
import type { CreateVolumeOptions, PruneResult as VolumePruneResult, Volume, VolumeUsers } from './volume/index.js';
import type { DiskUsage } from './disk-usage/index.js';
import type { CheckOptions, CheckReport } from './check/check.js';
import type { BuilderPruneOptions, BuilderPruneResult, ContainerPruneResult, ImagePruneOptions, ImagePruneResult, SystemPruneOptions, SystemPruneResult } from './prune/index.js';
import { primeCgroupAttach } from './runtime/cgroup-prime.js';

/** A container's resource use (`stats`). */
export interface ContainerStats {
  id: string;
  name: string;
  cpuPercent: number;
  memUsage: number;
  memLimit: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
  netRx: number;
  netTx: number;
}

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
  /** The process ends right after close(): the database connection ends with it (see StoreOptions). */
  endsWithProcess?: boolean;
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
  /** Images `system check --repair` marked damaged, not loaded or pulled again since. */
  damagedImages: number;
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
  /** The containers using a volume (volume rm and prune refuse it, ls -f dangling=false lists it). */
  private readonly volumeUsers: VolumeUsers = (name) => containersOfVolume(this.store.db, name);

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

  /** Whether the store has the image `name` names. */
  async hasImage(name: string): Promise<boolean> {
    return (await import('./image/resolve.js')).tryResolveImage(this.store.db, name) !== undefined;
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
    const { containersOfImage } = await import('./container/records.js');
    const { isLive } = await import('./container/model.js');
    const usedBy = (id: Digest) => containersOfImage(this.store.db, id).map((c) => ({ id: c.id, running: isLive(c.status) }));
    return (await import('./image/tags.js')).removeImage(this.store, name, { usedBy, ...opts });
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
    return { root: this.store.root, schemaVersion: SCHEMA_VERSION, images: listImages(this.store.db).length, tags: listTags(this.store.db).length, contentBlobs, contentBytes, compressedBlobs: this.store.compressedBlobs, damagedImages: damagedImages(this.store.db).size };
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

  // --- containers -------------------------------------------------------------------------

  /** `create`: a container on the image `settings.image` names, with its writable layer; nothing runs. */
  /**
   * A container is about to be started by this process (`run`: called before it is created):
   * the kernel's wait in the runtime's cgroup attach runs meanwhile (runtime/cgroup-prime.ts).
   * The start methods do it themselves; earlier is better.
   */
  primeContainerStart(): void {
    void primeCgroupAttach();
  }

  async createContainer(opts: CreateOptions, how: CreateContainerOptions = {}): Promise<ContainerRecord> {
    return (await import('./container/create.js')).createContainer(this.store, opts, how);
  }

  /** The container `ref` (ID, unique ID prefix or name) as it is now. */
  async container(ref: string): Promise<ContainerRecord> {
    const { getContainer } = await import('./container/records.js');
    const { refresh } = await import('./container/lifecycle.js');
    return refresh(this.store, getContainer(this.store.db, ref));
  }

  /** Every container (`ps -a`), newest first, each brought up to date. */
  async containers(): Promise<ContainerRecord[]> {
    const { listContainers } = await import('./container/records.js');
    const { refresh } = await import('./container/lifecycle.js');
    const out: ContainerRecord[] = [];
    for (const c of listContainers(this.store.db)) {
      const now = await refresh(this.store, c);
      // A `--rm` container that ended is gone once refreshed.
      if ((await import('./container/records.js')).findContainer(this.store.db, c.id) !== undefined) out.push(now);
    }
    return out;
  }

  /**
   * `ps`: the containers Docker's daemon would list for `query` (`-a`, `-n`, `--filter`, in its
   * order and words: container/ps-filter.ts), newest first, each with Docker's row (`trunc`
   * unless `--no-trunc`; `size`: the writable layer's size and the whole root filesystem's).
   */
  async containerRows(query: PsQuery, opts: { trunc: boolean; size?: boolean; now?: number }): Promise<Array<{ container: ContainerRecord; row: PsRow }>> {
    const { psInputOf, psFilterFactsOf } = await import('./container/describe.js');
    const { psRow } = await import('./container/ps.js');
    const { selectContainers } = await import('./container/ps-filter.js');
    const { findContainer } = await import('./container/records.js');
    const { tryResolveImage } = await import('./image/resolve.js');
    const { childrenOf } = await import('./metadata/records.js');
    const db = this.store.db;
    const family = (id: Digest): string[] => [id, ...childrenOf(db, id).flatMap(family)];
    const all = (await this.containers()).map((c) => ({ ...psFilterFactsOf(c), rec: c }));
    const chosen = selectContainers(all, query, {
      containerByIdOrName: (ref) => {
        const name = ref.replace(/^\//, '');
        return all.find((c) => c.id === ref)?.id ?? all.find((c) => c.name === name)?.id ?? (findContainer(db, ref)?.id === ref ? ref : undefined);
      },
      imageFamily: (ref) => {
        const found = tryResolveImage(db, ref);
        return found === undefined ? undefined : family(found.image.id);
      },
    });
    const now = opts.now ?? Date.now();
    const rows: Array<{ container: ContainerRecord; row: PsRow }> = [];
    for (const { rec } of chosen) {
      const input = psInputOf(this.store.root, rec);
      if (opts.size) {
        const sizes = await this.containerSizes(rec);
        input.sizeRw = sizes.rw;
        input.sizeRootFs = sizes.rootFs;
      }
      rows.push({ container: rec, row: psRow(input, { now, trunc: opts.trunc }) });
    }
    return rows;
  }

  /** Docker's `inspect` document of a container (`size`: with SizeRw and SizeRootFs, as `ps -s` counts them). */
  async inspectContainer(ref: string, opts: { size?: boolean } = {}): Promise<DockerContainerInspect> {
    const rec = await this.container(ref);
    const { inspectOf } = await import('./container/describe.js');
    const { imageConfigOf } = await import('./container/prepare.js');
    const sn = await this.store.snapshots();
    const sizes = opts.size ? await this.containerSizes(rec) : undefined;
    return inspectOf(this.store.root, rec, await imageConfigOf(this.store, rec), sn.driver, await sn.mounts(rec.snapshot), sizes);
  }

  /** A container's writable layer's size (Docker's SizeRw) and its whole root filesystem's (SizeRootFs: the image's too). */
  private async containerSizes(rec: ContainerRecord): Promise<{ rw: number; rootFs: number }> {
    const { containerChangesSize } = await import('./container/changes.js');
    const { getImage } = await import('./metadata/records.js');
    const rw = await containerChangesSize(this.store, rec.snapshot);
    return { rw, rootFs: (getImage(this.store.db, rec.imageId)?.size ?? 0) + rw };
  }

  /**
   * `commit`: the container's changes as one new layer of a new image (`pause`, the default:
   * a running container is frozen meanwhile). Docker's config and history; no layer when
   * nothing changed.
   */
  /** `build`: a Dockerfile and its context made into an image (build/builder.ts). */
  async build(opts: BuildOptions): Promise<BuildResult> {
    const { build } = await import('./build/builder.js');
    return build(this.store, opts);
  }

  /** Run `fn` with a scratch directory of the store (a build context read from stdin), removed afterwards whatever happened. */
  async withScratchDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const scratch = await this.store.scratchDir();
    try {
      return await fn(scratch.path);
    } finally {
      await scratch.dispose();
    }
  }

  async commitContainer(ref: string, opts: { author?: string; message?: string; changes?: string[]; pause?: boolean; tag?: string } = {}): Promise<CommitLayerResult> {
    const rec = await this.container(ref);
    const { commitLayer } = await import('./container/commit.js');
    const { pauseContainer, unpauseContainer } = await import('./container/lifecycle.js');
    const { imageConfigOf } = await import('./container/prepare.js');
    const { dockerConfig } = await import('./container/config.js');
    // Docker commits the container's whole Config (its hostname, attach flags, image name too); its nulls are left out
    const full = dockerConfig(rec.settings.create, await imageConfigOf(this.store, rec), { id: rec.id, hostHostname: hostname() });
    const containerConfig: ContainerConfig = {};
    for (const [key, value] of Object.entries(full)) if (value !== null && value !== undefined) containerConfig[key] = value;
    const pause = (opts.pause ?? true) && rec.state.status === 'running';
    if (pause) await pauseContainer(this.store, rec);
    try {
      return await commitLayer(this.store, {
        snapshotKey: rec.snapshot,
        image: rec.imageId,
        containerConfig,
        containerId: rec.id,
        ...(opts.author !== undefined ? { author: opts.author } : {}),
        ...(opts.message !== undefined ? { message: opts.message } : {}),
        ...(opts.changes !== undefined ? { changes: opts.changes } : {}),
        ...(opts.tag !== undefined ? { tag: opts.tag } : {}),
      });
    } finally {
      if (pause) await unpauseContainer(this.store, await this.container(rec.id));
    }
  }

  /** `diff`: what the container changed, as Docker lists it (A, C, D). */
  async containerChanges(ref: string): Promise<Change[]> {
    const rec = await this.container(ref);
    return (await import('./container/changes.js')).containerChanges(this.store, rec.snapshot);
  }

  /** `export`: the container's whole root filesystem as a tar stream. */
  async exportContainer(ref: string): Promise<AsyncIterable<Uint8Array>> {
    const rec = await this.container(ref);
    const { exportRootfs } = await import('./container/export.js');
    const { containerFiles } = await import('./container/files.js');
    const { isMountPoint } = await import('./container/prepare.js');
    const files = containerFiles(this.store.root, rec.id);
    return exportRootfs(this.store, isMountPoint(files.rootfs) ? { rootfs: files.rootfs } : { snapshotKey: rec.snapshot });
  }

  /**
   * Run `fn` with the container's root filesystem mounted (a stopped container's is mounted for
   * the length of `fn`): `cp` reads and writes there, every path resolved inside it.
   */
  async withContainerRootfs<T>(ref: string, fn: (rootfs: string, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const rec = await this.container(ref);
    const { isMountPoint, mountRootfs, unmountRootfs } = await import('./container/prepare.js');
    const { containerFiles } = await import('./container/files.js');
    const files = containerFiles(this.store.root, rec.id);
    if (isMountPoint(files.rootfs)) return fn(files.rootfs, rec);
    const rootfs = await mountRootfs(this.store, rec);
    try {
      return await fn(rootfs, rec);
    } finally {
      unmountRootfs(this.store.root, rec.id);
    }
  }

  /**
   * `cp CONTAINER:SRC ...`: an archive of a container path handed to `consume` while the root
   * filesystem is mounted. No such container: Docker's "No such container:path: CONTAINER:SRC".
   */
  async copyFromContainer<T>(ref: string, path: string, opts: { followLink?: boolean }, consume: (archive: ContainerArchive) => Promise<T>): Promise<T> {
    const { copyFromContainer, ContainerPathNotFoundError } = await import('./container/copy-from.js');
    const { findContainer } = await import('./container/records.js');
    const { copyView } = await import('./container/cp-mounts.js');
    if (findContainer(this.store.db, ref) === undefined) throw new ContainerPathNotFoundError(ref, path);
    return this.withContainerRootfs(ref, (rootfs, rec) =>
      this.withCopyMounts(rec, async (mounts) => {
        const view = copyView(rootfs, mounts, path);
        let archive;
        try {
          archive = copyFromContainer(view.root, view.path, { ...(opts.followLink ? { followLink: true } : {}), container: ref, ...(view.top !== undefined ? { topName: view.top } : {}) });
        } catch (e) {
          // said with the path as the container names it
          if (e instanceof ContainerPathNotFoundError && view.mount !== undefined) throw new ContainerPathNotFoundError(ref, path);
          throw e;
        }
        return consume(archive);
      }),
    );
  }

  /**
   * The container's mounts as `cp` sees them (container/cp-mounts.ts): its binds, its volumes
   * (acquired for the length of `fn`) and, once it ran, its /etc files.
   */
  private async withCopyMounts<T>(rec: ContainerRecord, fn: (mounts: CopyMount[]) => Promise<T>): Promise<T> {
    const { acquireVolume, releaseVolume } = await import('./volume/index.js');
    const { containerFiles } = await import('./container/files.js');
    const files = containerFiles(this.store.root, rec.id);
    const mounts: CopyMount[] = [];
    const acquired: string[] = [];
    try {
      for (const m of rec.settings.mounts) {
        if (m.type === 'bind') mounts.push({ destination: m.destination, source: m.source, readOnly: m.readOnly, file: statSync(m.source, { throwIfNoEntry: false })?.isDirectory() !== true });
        else if (m.type === 'volume' && m.name !== undefined) {
          const source = await acquireVolume(this.store, m.name);
          acquired.push(m.name);
          mounts.push({ destination: m.destination, source, readOnly: m.readOnly, file: false });
        }
      }
      for (const [destination, source] of [['/etc/hostname', files.hostname], ['/etc/hosts', files.hosts], ['/etc/resolv.conf', files.resolvConf]] as const) {
        if (existsSync(source) && !mounts.some((m) => m.destination === destination)) mounts.push({ destination, source, readOnly: false, file: true });
      }
      return await fn(mounts);
    } finally {
      for (const name of acquired) await releaseVolume(this.store, name);
    }
  }

  /**
   * `cp ... CONTAINER:DEST`: a tar stream or a host path copied in. Without `archive` (-a) the
   * files become the container user's (root unless `-u`), as Docker's cp makes them. No such
   * container: Docker's errors in its order (copyToMissingContainer).
   */
  async copyIntoContainer(ref: string, dest: string, input: CopyInput, opts: { archive?: boolean } = {}): Promise<void> {
    const { copyToContainer, copyToMissingContainer } = await import('./container/copy-to.js');
    const { findContainer } = await import('./container/records.js');
    // No such container: what Docker's CLI still checks, then "No such container:path" where the copy would go
    if (findContainer(this.store.db, ref) === undefined) copyToMissingContainer(dest, input, ref);
    const { readFileInRoot } = await import('./runtime/rootpath.js');
    const { execUserFrom } = await import('./runtime/user.js');
    const { copyView } = await import('./container/cp-mounts.js');
    const { ContainerPathNotFoundError } = await import('./container/copy-from.js');
    await this.withContainerRootfs(ref, (rootfs, rec) => this.withCopyMounts(rec, async (mounts) => {
      let owner: { uid: number; gid: number } | undefined;
      if (!opts.archive) {
        const user = rec.settings.create.user;
        if (user === undefined || user === '') owner = { uid: 0, gid: 0 };
        else {
          const u = execUserFrom(user, readFileInRoot(rootfs, '/etc/passwd'), readFileInRoot(rootfs, '/etc/group'));
          owner = { uid: u.uid, gid: u.gid };
        }
      }
      const view = copyView(rootfs, mounts, dest);
      // Docker's daemon's refusals, in its words: a read-only mount, a read-only root filesystem
      const readOnly = view.mount !== undefined ? (view.mount.readOnly ? 'mounted volume is marked read-only' : undefined) : rec.settings.create.readOnly ? 'container rootfs is marked read-only' : undefined;
      try {
        await copyToContainer(view.root, view.path, input, { container: ref, ...(owner !== undefined ? { owner } : {}), ...(readOnly !== undefined ? { readOnly } : {}) });
      } catch (e) {
        if (e instanceof ContainerPathNotFoundError && view.mount !== undefined) throw new ContainerPathNotFoundError(ref, dest);
        throw e;
      }
    }));
  }

  /**
   * `stats`: each container's resource use over `intervalMs` (two readings of its cgroups);
   * a container that does not run reads as zeros.
   */
  async containerStats(refs: readonly string[], opts: { all?: boolean; intervalMs?: number } = {}): Promise<ContainerStats[]> {
    const { sampleStats, cpuPercent } = await import('./container/stats.js');
    const list = refs.length > 0 ? await Promise.all(refs.map((r) => this.container(r))) : (await this.containers()).filter((c) => opts.all || c.state.status === 'running' || c.state.status === 'paused');
    const first = list.map((c) => sampleStats(c.id));
    await sleep(opts.intervalMs ?? 500);
    return list.map((c, i) => {
      const a = first[i];
      const b = sampleStats(c.id);
      return { id: c.id, name: c.name, cpuPercent: a !== undefined && b !== undefined ? cpuPercent(a, b) : 0, memUsage: b?.memUsage ?? 0, memLimit: b?.memLimit ?? 0, pids: b?.pids ?? 0, blockRead: b?.blockRead ?? 0, blockWrite: b?.blockWrite ?? 0, netRx: 0, netTx: 0 };
    });
  }

  /**
   * Start a container in the foreground: this process is its monitor until it exits. A stream
   * given as 'inherit' or 'ignore' is not logged (meant for `--rm`, whose log goes with it).
   */
  async startForeground(ref: string, stdio: Stdio): Promise<ForegroundContainer> {
    void primeCgroupAttach();
    const rec = await this.container(ref);
    return (await import('./container/foreground.js')).startForeground(this.store, rec, stdio);
  }

  /** `exec`: one more process in a running container, run from this process. */
  async exec(ref: string, opts: ExecOptions, stdio: StdioMode, detach = false): Promise<RuntimeProcess> {
    void primeCgroupAttach();
    const rec = await this.container(ref);
    return (await import('./container/exec.js')).execInContainer(this.store, rec, opts, stdio, detach, ref);
  }

  async pauseContainer(ref: string): Promise<void> {
    await (await import('./container/lifecycle.js')).pauseContainer(this.store, await this.container(ref));
  }

  async unpauseContainer(ref: string): Promise<void> {
    await (await import('./container/lifecycle.js')).unpauseContainer(this.store, await this.container(ref));
  }

  /** The host pids of a running container's processes (`top`). */
  async containerProcesses(ref: string): Promise<number[]> {
    return (await import('./container/lifecycle.js')).containerProcesses(this.store, await this.container(ref));
  }

  /** `healthcheck run`: the container's health check, once, now; the health it leaves. */
  async healthcheck(ref: string): Promise<HealthState> {
    const rec = await this.container(ref);
    const { imageConfigOf } = await import('./container/prepare.js');
    return (await import('./container/health.js')).runHealthcheck(this.store, rec, (await imageConfigOf(this.store, rec))?.Healthcheck);
  }

  /**
   * `rename`: a new name, checked in Docker's daemon's order and words — both names given, the
   * container found, not its own name, then the name reserved ("Error when allocating new
   * name: " a name Docker refuses, or one in use).
   */
  async renameContainer(ref: string, name: string): Promise<void> {
    const { InvalidArgumentError } = await import('./errors.js');
    if (ref === '' || name === '') throw new InvalidArgumentError('Neither old nor new names may be empty');
    const rec = await this.container(ref);
    const slashed = name.startsWith('/') ? name : `/${name}`;
    if (slashed === `/${rec.name}`) throw new InvalidArgumentError('Renaming a container with the same name as its current name');
    const { RESTRICTED_NAME_CHARS } = await import('./container/mounts.js');
    if (!/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(slashed.slice(1))) {
      throw new InvalidArgumentError(`Error when allocating new name: Invalid container name (${slashed}), only ${RESTRICTED_NAME_CHARS} are allowed`);
    }
    (await import('./container/lifecycle.js')).renameContainerTo(this.store, rec, slashed.slice(1));
  }

  /** Start a container under conmon (`run -d`, `start`): it runs on after this process. */
  async startDetached(ref: string): Promise<DetachedStart> {
    void primeCgroupAttach();
    const rec = await this.container(ref);
    return (await import('./container/detached.js')).startDetached(this.store, rec);
  }

  /** conmon's exit command: record a container's exit and clean up after it. */
  async cleanupContainer(id: string): Promise<void> {
    await (await import('./container/lifecycle.js')).cleanupContainer(this.store, id);
  }

  /**
   * `logs`: the container's output as its monitor wrote it, line by line (`follow`: until the
   * container stops).
   */
  async logs(ref: string, opts: Omit<ReadLogOptions, 'stopped'> = {}): Promise<AsyncGenerator<LogLine>> {
    const rec = await this.container(ref);
    const { containerFiles } = await import('./container/files.js');
    const { readLog } = await import('./container/logfile.js');
    const { findContainer } = await import('./container/records.js');
    const { refresh } = await import('./container/lifecycle.js');
    const { isLive } = await import('./container/model.js');
    const stopped = async () => {
      const now = findContainer(this.store.db, rec.id);
      return now === undefined || !isLive((await refresh(this.store, now)).state.status);
    };
    return readLog(containerFiles(this.store.root, rec.id).log, { ...opts, stopped });
  }

  /**
   * `attach`: the caller's stdio joined to a running container conmon holds, until it exits
   * (its exit code then) or the detach keys are typed (`detached`).
   */
  async attach(ref: string, opts: Omit<AttachStdioOptions, 'afterConnect'>): Promise<{ detached: boolean; exitCode?: number }> {
    const rec = await this.container(ref);
    const { ConflictError } = await import('./errors.js');
    // Docker's CLI finds these itself: said without "Error: "
    if (rec.state.status !== 'running') throw new ConflictError(rec.state.status === 'paused' ? `You cannot attach to a paused container, unpause it first` : `You cannot attach to a stopped container, start it first`, { bare: true });
    if (rec.state.monitor?.kind !== 'conmon') throw new ConflictError(`container ${rec.name} runs in the foreground of another cairn process: its output is there`);
    const { containerFiles } = await import('./container/files.js');
    const { attachStdio } = await import('./container/attach.js');
    let r;
    try {
      r = await attachStdio(containerFiles(this.store.root, rec.id).bundle, opts);
    } catch (e) {
      // it ended between the look at its state and the attach (its conmon gone): its exit code, as Docker's attach gives it
      if (!(e instanceof NotFoundError)) throw e;
      const done = await this.waitContainer(rec.id);
      if (done.state.status === 'running' || done.state.status === 'paused') throw e;
      return { detached: false, exitCode: done.state.exitCode };
    }
    if (r.detached) return r;
    const done = await this.waitContainer(rec.id);
    return { detached: false, exitCode: done.state.exitCode };
  }

  /**
   * `run -t` and `start -a` of a container with a terminal: start it under conmon with this
   * process attached through conmon's socket (its terminal, resized with the caller's), and wait
   * for its exit code; with `--rm` it is removed here once its code is read.
   */
  async runAttached(ref: string, opts: Omit<AttachStdioOptions, 'afterConnect'>): Promise<{ detached: boolean; exitCode?: number; warnings: string[] }> {
    const rec = await this.container(ref);
    const { createDetached } = await import('./container/detached.js');
    const { containerFiles } = await import('./container/files.js');
    const { attachStdio } = await import('./container/attach.js');
    const { waitForExit } = await import('./container/conmon.js');
    const files = containerFiles(this.store.root, rec.id);
    const created = await createDetached(this.store, rec, true);
    let r: { detached: boolean };
    try {
      r = await attachStdio(files.bundle, { ...opts, afterConnect: () => created.start() });
    } catch (e) {
      await created.abort(e);
      throw e;
    }
    if (r.detached) return { detached: true, warnings: created.warnings };
    const { conmonPid, conmonStartTime } = created.started;
    const exit = await waitForExit(files.persistDir, { conmonPid, ...(conmonStartTime !== undefined ? { conmonStartTime } : {}) });
    const done = await this.waitContainer(rec.id);
    const exitCode = exit?.exitCode ?? done.state.exitCode;
    if (rec.settings.create.autoRemove) await this.removeContainer(rec.id, { force: true, volumes: true });
    return { detached: false, exitCode, warnings: created.warnings };
  }


  /** The exit conmon recorded for a container it watched, if it did. */
  async containerExit(ref: string): Promise<{ exitCode: number; oomKilled: boolean } | undefined> {
    const { getContainer } = await import('./container/records.js');
    return (await import('./container/lifecycle.js')).recordedExit(this.store.root, getContainer(this.store.db, ref).id);
  }

  /** `stop`: the stop signal, then SIGKILL after `timeoutSeconds` (default the container's, else 10). */
  async stopContainer(ref: string, timeoutSeconds?: number): Promise<ContainerRecord> {
    const rec = await this.container(ref);
    const { stopContainer, stopSignalOf } = await import('./container/lifecycle.js');
    const { imageConfigOf } = await import('./container/prepare.js');
    return stopContainer(this.store, rec, stopSignalOf(rec, (await imageConfigOf(this.store, rec))?.StopSignal), timeoutSeconds);
  }

  /**
   * `restart`: a live container stopped as `stop` does (its `--rm` does not remove it meanwhile),
   * then started under conmon, whatever its state was. A failure after the container was found
   * is Docker's "Cannot restart container REF: ...".
   */
  async restartContainer(ref: string, timeoutSeconds?: number): Promise<DetachedStart> {
    const rec = await this.container(ref);
    const { stopForRestart, endRestart, stopSignalOf } = await import('./container/lifecycle.js');
    const { imageConfigOf } = await import('./container/prepare.js');
    const { CairnError } = await import('./errors.js');
    try {
      await stopForRestart(this.store, rec, stopSignalOf(rec, (await imageConfigOf(this.store, rec))?.StopSignal), timeoutSeconds);
      return await this.startDetached(rec.id);
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      throw new CairnError(e.code, `Cannot restart container ${ref}: ${e.message}`, { cause: e, exitCode: e.exitCode });
    } finally {
      await endRestart(this.store, rec.id);
    }
  }

  /**
   * `kill`: a signal (default SIGKILL) to a running container. Any failure is said as Docker's
   * daemon says it: "Cannot kill container: REF: ...".
   */
  async killContainer(ref: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const { CairnError } = await import('./errors.js');
    try {
      const rec = await this.container(ref);
      const { imageConfigOf } = await import('./container/prepare.js');
      const configured = rec.settings.create.stopSignal ?? (await imageConfigOf(this.store, rec))?.StopSignal;
      const stopSignal = configured === undefined || configured === '' ? undefined : ((configured.startsWith('SIG') ? configured : `SIG${configured}`) as NodeJS.Signals);
      await (await import('./container/lifecycle.js')).killContainer(this.store, rec, signal, stopSignal !== undefined ? { stopSignal } : {});
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      throw new CairnError(e.code, `Cannot kill container: ${ref}: ${e.message}`, { cause: e, exitCode: e.exitCode });
    }
  }

  /** `wait`: until the container is not running; its record then. */
  async waitContainer(ref: string): Promise<ContainerRecord> {
    const rec = await this.container(ref);
    const done = await (await import('./container/lifecycle.js')).waitContainer(this.store, rec.id);
    return done ?? rec;
  }

  /** `rm`: the container, its writable layer and files (`force`: killed first if running). */
  async removeContainer(ref: string, opts: RemoveContainerOptions = {}): Promise<RemovedContainer> {
    const { getContainer } = await import('./container/records.js');
    const rec = getContainer(this.store.db, ref);
    const removed = await (await import('./container/lifecycle.js')).removeContainer(this.store, rec.id, opts);
    return removed ?? { id: rec.id, name: rec.name, anonymousVolumes: [] };
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

  /**
   * `volume prune`: the anonymous local volumes without options that no container uses (`all`:
   * named ones too, Docker 23's rule; label= / label!= filters narrow it), with the bytes of
   * disk that went.
   */
  async volumePrune(filters: readonly string[] = [], opts: { all?: boolean } = {}): Promise<VolumePruneResult> {
    return (await import('./volume/index.js')).pruneVolumes(this.store, { filters, inUse: this.volumeUsers, ...(opts.all === true ? { all: true } : {}) });
  }

  /**
   * `system df`: the bytes on disk of images, containers, volumes, the build cache and the
   * compressed layer blobs kept beside layers, each thing counted once (disk-usage/).
   */
  async diskUsage(): Promise<DiskUsage> {
    const { measureDiskUsage } = await import('./disk-usage/index.js');
    const containers = await this.containers();
    const volumes = (await this.volumes()).map((volume) => ({ volume, links: this.volumeUsers(volume.name).length }));
    return measureDiskUsage(this.store, { containers, volumes });
  }

  /**
   * `system check`: every problem of the store as a finding (`quick`: no re-hashing, no
   * re-emission); `repair`: what is safe repaired, images with damaged content marked (never removed).
   */
  async systemCheck(opts: CheckOptions = {}): Promise<CheckReport> {
    return (await import('./check/check.js')).checkStore(this.store, opts);
  }

  /**
   * `image prune`: dangling images (`all`: every image no container uses), Docker's filters
   * (dangling, until, label, label!); the names untagged, images and layers deleted, bytes freed.
   */
  async imagePrune(opts: ImagePruneOptions = {}): Promise<ImagePruneResult> {
    return (await import('./prune/index.js')).pruneImages(this.store, opts);
  }

  /** `container prune`: every container that does not run (filters until, label, label!); their IDs and the bytes freed. */
  async containerPrune(filters: readonly string[] = []): Promise<ContainerPruneResult> {
    return (await import('./prune/index.js')).pruneContainers(this.store, filters);
  }

  /** `builder prune`: unused dangling build cache (`all`: all unused cache; `keepStorage`; filter until); what went and the bytes freed. */
  async builderPrune(opts: BuilderPruneOptions = {}): Promise<BuilderPruneResult> {
    return (await import('./prune/index.js')).pruneBuildCache(this.store, opts);
  }

  /** `system prune`: stopped containers, (anonymous unused volumes,) dangling or unused images, build cache; each part's result and the total. */
  async systemPrune(opts: SystemPruneOptions = {}): Promise<SystemPruneResult> {
    return (await import('./prune/index.js')).pruneSystem(this.store, { ...opts, volumeUsers: this.volumeUsers });
  }

  /** Remove what nothing uses (it also runs after every removal and copy); `measure`: say how many bytes of disk went. */
  gc(opts: { measure?: boolean } = {}): Promise<GcResult> {
    return this.store.gc(opts);
  }

  close(): void {
    this.store.close();
  }
}
