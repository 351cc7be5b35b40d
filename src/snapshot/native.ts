/**
 * The native driver: every snapshot is a whole tree. A writable snapshot's fs/ is a full copy
 * of its parent (reflinks where the file system has them, copy.ts) and its mount a read-write
 * bind; a view binds its parent read-only, since a committed snapshot never changes. It needs
 * nothing of the kernel but bind mounts; a parent cannot be given at commit time (the copy is
 * made when the snapshot is prepared).
 */
import { join } from 'node:path';
import { BaseSnapshotter, bind, type SnapshotterDriver } from './base.js';
import { copyTree } from './copy.js';
import type { SnapshotRow } from './meta.js';
import type { Capabilities, Kind, Mount } from './types.js';

export class NativeSnapshotter extends BaseSnapshotter {
  readonly driver = 'native' as const;
  readonly capabilities: Readonly<Capabilities> = Object.freeze({ rebase: false });

  protected async populate(kind: Exclude<Kind, 'committed'>, tmp: string, parent: SnapshotRow | undefined): Promise<void> {
    if (kind === 'active' && parent !== undefined) await copyTree(this.fsDir(parent.id), join(tmp, 'fs'));
  }

  protected mountsOf(row: SnapshotRow, parents: SnapshotRow[]): Mount[] {
    if (row.kind === 'view') return [bind(parents.length === 0 ? this.fsDir(row.id) : this.fsDir(parents[0]!.id), true)];
    return [bind(this.fsDir(row.id), false)];
  }
}

export const nativeDriver: SnapshotterDriver = {
  name: 'native',
  unusable: async () => undefined,
  open: (ctx) => new NativeSnapshotter(ctx),
};
