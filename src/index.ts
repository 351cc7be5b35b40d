/**
 * cairn's library API: what the CLI calls, and what tests and other programs can call.
 *
 * The front door is {@link Cairn}: one object per store, a method per operation, typed
 * results, one options type ({@link CairnOptions}). Below it, the building blocks that have
 * more than one implementation or are useful alone are exported too: the image model sources
 * and sinks speak and the copy function, archive sources and sinks, the Differ, the content
 * store, the layer applier and differs, the tar codec, compression, the OCI model, references,
 * digests and the Dockerfile frontend. The metadata database is not: it is the store's own.
 */
export * from './errors.js';
export * from './digest/digest.js';
export * from './reference/reference.js';
export * from './oci/index.js';

// The front door.
export { Cairn, type CairnOptions, type StoreInfo, type MountedImage, type SaveOptions, type RegistryServeOptions } from './engine.js';
export type { Affects, CheckOptions, CheckReport, Finding, FindingKind } from './check/check.js';
export { defaultRoot } from './store/store.js';
export type { ImageRow, ListOptions, HistoryRow, ImageInspect, InspectContainerConfig } from './image/query.js';
export type { RemoveEvent, RemoveOptions } from './image/tags.js';
export type { ImportOptions } from './archive/import.js';
export type { CompressedBlobs } from './store/store.js';
export type { LoadResult, LoadedImage } from './archive/load.js';
export type { ArchiveFormat, SaveResult } from './archive/sink.js';
export type { SquashOptions } from './transfer/squash.js';
export type { StoredImageResult } from './transfer/store-sink.js';
export type { GcResult } from './store/gc.js';
export type { Volume, CreateVolumeOptions, VolumeOptions, PruneResult as VolumePruneResult } from './volume/index.js';
export type { DiskUsage, UsageTotals, ImageDiskUsage, ContainerDiskUsage, VolumeDiskUsage, BuildCacheDiskUsage, CompressedBlobDiskUsage } from './disk-usage/index.js';
export type { BuilderPruneOptions, BuilderPruneResult, ContainerPruneResult, ImagePruneOptions, ImagePruneResult, SystemPruneOptions, SystemPruneResult } from './prune/index.js';

// Images between sources and sinks.
export type { ImageSource, ImageSink, SourceImage, CopyProgress, BlobHint, ReceivedBlob, PutLayerOptions, ResolveOptions } from './transfer/types.js';
export type { ByteOrigin, FileBytes } from './transfer/origin.js';
export { copyImages, type CopyOptions } from './transfer/copy.js';
export { ArchiveSource, type ArchiveKind } from './archive/source.js';
export { ArchiveSink } from './archive/sink.js';
export { RootfsSource, type RootfsImageOptions } from './archive/rootfs.js';
export type { SinkVerbs } from './transfer/types.js';

// Registries.
export type { PullOptions, PullResult, PushOptions, PushResult, RegistryAccess } from './registry/transfer.js';
export { RegistryClient, type RegistryOptions } from './registry/client.js';
export { RegistrySource } from './registry/source.js';
export { RegistrySink, type PushedImage, type BlobMemory } from './registry/sink.js';
export { RegistryError } from './registry/http.js';
export { login, logout, type LoginOptions } from './registry/login.js';
export { lookupCredentials, type Credentials } from './registry/credentials.js';

// File systems and layers.
export { OverlayDiffer, WalkingDiffer, differFor, type Differ, type Scratch } from './diff/differ.js';
export { mountAll, unmount, type Snapshotter, type Mount, type DriverName, type Info as SnapshotInfo, type Usage } from './snapshot/index.js';
export { applyLayer, type ApplyOptions, type ApplyResult, type WhiteoutMode } from './layer/apply.js';
export { diffOverlayUpper, diffDirs, type DiffOptions } from './layer/diff.js';
export { diffToLayer } from './layer/encode.js';
export type { ContentStore, ContentWriter, BlobInfo, Expected } from './content/content.js';
export { LocalContentStore } from './content/local.js';
export { MemoryContentStore } from './content/memory.js';
export { TarSplitRecorder, reassembleTar, type TarSplitResult, type TarSplitSink, type TarSplitRecorderOptions, type ReassembleOptions } from './layer/tarsplit.js';
export { readTar, createTarWriter, type TarEntry, type TarHeader, type TarTap } from './tar/index.js';
export { decompressStream, compressStream, detectCompression, type Compression } from './compression/index.js';
export { parse as parseDockerfile, planDockerfile, checkDockerfile, formatCheckReport } from './dockerfile/index.js';

// Containers' runtime: root filesystem paths, users, OCI runtime specs and bundles, crun and runc.
export * from './runtime/index.js';
