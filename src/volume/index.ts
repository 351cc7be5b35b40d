/**
 * The volume module's entry point: named and anonymous volumes kept in the store outside
 * every layer (volumes.ts: create, list, inspect, remove, prune), used by containers
 * (use.ts: acquire, release; populate.ts: an empty volume filled from the image), and
 * what crashes left removed (sweep.ts), checked for `system check` (check.ts: missing data
 * directories, leftovers). Whether a container uses a volume is asked of the
 * caller (`VolumeUsers`): containers are another module's records.
 */
export { createVolume, inspectVolume, listVolumes, pruneVolumes, removeVolume, LOCAL_DRIVER, NO_USERS } from './volumes.js';
export type { CreateVolumeOptions, PruneResult, RemoveVolumeOptions, Volume, VolumeUsers } from './volumes.js';
export { acquireVolume, releaseVolume } from './use.js';
export { isVolumeEmpty, populateVolume } from './populate.js';
export { sweepVolumeLeftovers } from './sweep.js';
export { missingVolumeData, restoreMountpoint, volumeLeftovers, type MissingVolumeData, type VolumeLeftover } from './check.js';
export type { VolumeOptions } from './options.js';
export { VOLUME_NAME_CHARS, naturalCompare } from './names.js';
export { dataDir as volumeMountpoint } from './layout.js';
export { mountsUnder } from './mount.js';
