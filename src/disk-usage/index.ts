/** `system df`'s accounting: what the store holds on disk, by what holds it (measure.ts), each thing once (tally.ts). */
export { measureDiskUsage } from './measure.js';
export type { BuildCacheDiskUsage, CompressedBlobDiskUsage, ContainerDiskUsage, DiskUsage, DiskUsageInput, ImageDiskUsage, UsageTotals, VolumeDiskUsage } from './measure.js';
export { heldKeys, tally, type Holding, type ObjectKey, type Tally } from './tally.js';
