/**
 * cairn's library API: what the CLI calls, and what tests and other programs can call directly.
 * Grouped by module, lowest first (see docs/ARCHITECTURE.md).
 */
export * from './errors.js';
export * from './digest/digest.js';
export * from './reference/reference.js';
export * from './oci/index.js';
export type { ContentStore, ContentWriter, BlobInfo, Expected } from './content/content.js';
export { LocalContentStore } from './content/local.js';
export { MemoryContentStore } from './content/memory.js';
export { openDatabase, SCHEMA_VERSION } from './metadata/db.js';
export type { ImageRecord, LayerRecord, ImageLayerRecord, TagRecord } from './metadata/records.js';
export { Store, defaultRoot, type StoreOptions } from './store/store.js';
export { resolveImage, tryResolveImage, type Resolved } from './image/resolve.js';
export { listImageRows, imageHistory, inspectImage, type ImageRow, type HistoryRow, type ListOptions } from './image/query.js';
export { tagImage, removeImage, type RemoveEvent, type RemoveOptions } from './image/tags.js';
export { importImage, type ImportOptions } from './image/import.js';
export { applyChanges } from './image/changes.js';
export { storeImage, type NewImage, type StoredImage } from './image/commit.js';
export { loadArchive, type LoadResult, type LoadedImage } from './archive/load.js';
export { saveImages, type ArchiveFormat, type SaveResult } from './archive/save.js';
export { unpackLayers, collectSnapshots, type UnpackLayer } from './image/unpack.js';
export { mountImage, unmountImage, mountedImages, isImageMounted } from './image/mount.js';
export { openSnapshotter, detectDefaultDriver, mountAll, unmount, type Snapshotter, type Mount, type DriverName, type Info as SnapshotInfo, type Usage } from './snapshot/index.js';
export { applyLayer, type ApplyOptions, type ApplyResult, type WhiteoutMode } from './layer/apply.js';
export { diffOverlayUpper, diffDirs, type DiffOptions } from './layer/diff.js';
export { diffToLayer } from './layer/encode.js';
export { TarSplitRecorder, reassembleTar, type TarSplitResult, type TarSplitSink, type TarSplitRecorderOptions, type ReassembleOptions } from './layer/tarsplit.js';
export { readTar, createTarWriter, type TarEntry, type TarHeader, type TarTap } from './tar/index.js';
export { decompressStream, compressStream, detectCompression, type Compression } from './compression/index.js';
export { parse as parseDockerfile, planDockerfile, checkDockerfile, formatCheckReport } from './dockerfile/index.js';
