/**
 * The snapshot module's entry point: `openSnapshotter` picks the store's storage driver
 * (the one recorded in the store, else the one asked for, else the machine's default) from
 * the driver registry (drivers.ts: overlay.ts, native.ts), records it on first use so a root
 * is never opened with the wrong driver, cleans what killed processes left, and returns the
 * {@link Snapshotter}. `mountAll` / `unmount` perform the mounts a snapshotter describes.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, PreconditionError, UnsupportedError } from '../errors.js';
import { type Db, writeTx } from '../metadata/db.js';
import { cleanProbeLeftovers, detectDefaultDriver } from './detect.js';
import { snapshotterDriver } from './drivers.js';
import { getRow, recordDriver, recordedDriver } from './meta.js';
import { DRIVER_NAMES, type DriverName, type Snapshotter } from './types.js';
import { processAlive } from '../process.js';

export type { Capabilities, CommitOptions, DriverName, Info, Kind, Labels, Mount, RemoveOptions, SnapshotOptions, Snapshotter, Usage } from './types.js';
export { DRIVER_NAMES } from './types.js';
export { BaseSnapshotter, type DriverContext, type SnapshotterDriver } from './base.js';
export { OverlaySnapshotter } from './overlay.js';
export { NativeSnapshotter } from './native.js';
export { snapshotterDriver } from './drivers.js';
export { detectDefaultDriver, probeOverlay } from './detect.js';
export { isMountedAt, mountAll, mountsUsing, unmount, unmountBelow, OVERLAY_MAX_STACK, type MountOptions } from './mount.js';
export { writableLayer, type WritableLayer } from './writable.js';
export { copyTree, diskUsage } from './copy.js';
export { recordedDriver } from './meta.js';

/** Whether snapshot `key` is recorded now (a read: another process may have removed it since a listing). */
export function isRecorded(db: Db, key: string): boolean {
  return getRow(db, key) !== undefined;
}

/** What the snapshotter needs of a store: its root directory and metadata database. */
export interface SnapshotStore {
  root: string;
  db: Db;
}

export function isDriverName(s: string): s is DriverName {
  return (DRIVER_NAMES as readonly string[]).includes(s);
}

/**
 * Open the snapshotter of `store`. `driver` (e.g. from `--storage-driver`) must match the
 * driver recorded in the store, if any (PreconditionError otherwise, naming both). A store
 * with no recorded driver records `driver`, or the machine's default (overlay where a probe
 * mount works, else native).
 */
export async function openSnapshotter(store: SnapshotStore, driver?: DriverName): Promise<Snapshotter> {
  if (driver !== undefined && !isDriverName(driver)) {
    throw new InvalidArgumentError(`unknown storage driver ${JSON.stringify(driver)}: use ${DRIVER_NAMES.join(' or ')}`);
  }
  const root = resolve(store.root);
  const base = join(root, 'snapshots');
  mkdirSync(base, { recursive: true });
  await cleanProbeLeftovers(base, processAlive);

  let chosen: DriverName;
  const recorded = recordedDriver(store.db);
  if (recorded !== undefined) {
    if (!isDriverName(recorded)) {
      throw new UnsupportedError(`store ${root} uses the storage driver ${JSON.stringify(recorded)}, which this cairn does not know`);
    }
    if (driver !== undefined && driver !== recorded) throw mismatch(root, recorded, driver);
    chosen = recorded;
  } else {
    chosen = driver ?? (await detectDefaultDriver(base));
    const why = await snapshotterDriver(chosen).unusable(base);
    if (why !== undefined) throw new UnsupportedError(`storage driver ${chosen} cannot be used for ${root}: ${why}`);
    const now = writeTx(store.db, () => recordDriver(store.db, chosen));
    // Another process recorded a different driver first.
    if (now !== chosen) throw mismatch(root, now, chosen);
  }

  const dir = join(base, chosen);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const snapshotter = snapshotterDriver(chosen).open({ db: store.db, dir });
  await snapshotter.cleanup(processAlive);
  return snapshotter;
}

function mismatch(root: string, recorded: string, asked: string): PreconditionError {
  return new PreconditionError(`store ${root} uses the storage driver ${recorded}; it cannot be opened with ${asked}`);
}

