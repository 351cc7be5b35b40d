/**
 * The storage driver registry: one entry per driver, each its own module. A new driver
 * (fuse-overlayfs, a lazy one) is a new module extending BaseSnapshotter, its name in
 * DriverName (types.ts) and one line here; no other driver changes.
 */
import type { SnapshotterDriver } from './base.js';
import { nativeDriver } from './native.js';
import { overlayDriver } from './overlay.js';
import type { DriverName } from './types.js';

const DRIVERS: Readonly<Record<DriverName, SnapshotterDriver>> = {
  overlay: overlayDriver,
  native: nativeDriver,
};

export function snapshotterDriver(name: DriverName): SnapshotterDriver {
  return DRIVERS[name];
}
