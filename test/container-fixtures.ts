/**
 * Fixtures for the tests of a container's writable layer (commit, diff, export, cp): a
 * busybox-like image of two layers loaded into a temporary store by the CLI (on the driver
 * asked for), containers as active snapshots on its top layer — mounted where the test
 * writes into them, as a running container would — and cleanup of every mount and snapshot.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../src/digest/digest.js';
import { NotFoundError } from '../src/errors.js';
import { resolveImage } from '../src/image/resolve.js';
import { type Mount, mountAll, type Snapshotter, unmount, writableLayer } from '../src/snapshot/index.js';
import { type Lease, Store } from '../src/store/store.js';
import { snapshotRef } from '../src/metadata/refs.js';
import { readTar } from '../src/tar/index.js';
import { cairnOk, makeDockerArchive, makeTar, unmountUnder } from './helpers.js';

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The image's base layer: busybox, /etc, /dir, /opq, /tmp. */
export async function baseLayer(): Promise<Buffer> {
  const bin = readFileSync('/bin/busybox');
  return makeTar([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', content: bin, mode: 0o755 },
    ...['sh', 'cat', 'echo', 'ls', 'rm', 'mkdir', 'touch', 'chmod', 'ln', 'mv', 'true'].map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nu1:x:1234:1235::/:/bin/sh\n' },
    { path: 'etc/keep', content: 'keep\n' },
    { path: 'etc/motd', content: 'base motd\n' },
    { path: 'dir/', type: 'dir' },
    { path: 'dir/a', content: 'one\n' },
    { path: 'dir/sub/', type: 'dir' },
    { path: 'dir/sub/b', content: 'two\n' },
    { path: 'opq/', type: 'dir' },
    { path: 'opq/old', content: 'old\n' },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
  ]);
}

/** The image: the base layer and a second one changing /etc/motd. */
export async function imageArchive(tag = 'bb:1'): Promise<Buffer> {
  const base = await baseLayer();
  const second = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', content: 'second motd\n' }]);
  return makeDockerArchive([{ layers: [base, second], repoTags: [tag], config: { config: { Cmd: ['sh'], Env: ['PATH=/bin'] } } }]);
}

export interface Container {
  key: string;
  /** Where its root filesystem is mounted (read-write). */
  rootfs: string;
  /** Its writable layer's directory (overlay: the upper directory; native: the whole tree). */
  upper: string;
  mounts: Mount[];
}

/** A store holding the image, and the containers a test made on it (leased, as a container record would keep them; removed by `close`). */
export class Fixture {
  readonly containers: Container[] = [];
  private readonly lease: Lease;
  private constructor(
    readonly dir: string,
    readonly root: string,
    readonly store: Store,
    readonly sn: Snapshotter,
    readonly imageId: Digest,
    readonly topChainId: Digest,
  ) {
    this.lease = store.lease();
  }

  /** A store on `driver` holding the two-layer image as `tag` (or, given `rootfs`, that tar imported as one layer). */
  static async create(dir: string, driver: 'overlay' | 'native', tag = 'bb:1', rootfs?: Buffer): Promise<Fixture> {
    const root = join(dir, `root-${driver}`);
    if (rootfs !== undefined) await cairnOk(root, ['--storage-driver', driver, 'import', '-', tag], { input: rootfs });
    else await cairnOk(root, ['--storage-driver', driver, 'load'], { input: await imageArchive(tag) });
    const store = await Store.open({ root });
    const { image } = resolveImage(store.db, tag);
    return new Fixture(dir, root, store, await store.snapshots(), image.id, image.topChainId!);
  }

  /** A container: an active snapshot on the image's top layer (or `on`), mounted (unless `mount` is false). */
  async container(name: string, mount = true, on: Digest = this.topChainId): Promise<Container> {
    const key = `ctr-${name}`;
    this.lease.protect(snapshotRef(key));
    const mounts = await this.sn.prepare(key, on);
    const rootfs = join(this.dir, `rootfs-${name}`);
    const c: Container = { key, rootfs, upper: writableLayer(mounts).dir, mounts };
    this.containers.push(c);
    if (mount) {
      mkdirSync(rootfs, { recursive: true });
      mountAll(mounts, rootfs);
    }
    return c;
  }

  /** Every snapshot key, sorted. */
  async snapshotKeys(): Promise<string[]> {
    const out: string[] = [];
    for await (const i of this.sn.walk()) out.push(i.key);
    return out.sort();
  }

  /** Every blob digest in the content store, sorted. */
  async blobs(): Promise<string[]> {
    const out: string[] = [];
    for await (const b of this.store.content.walk()) out.push(b.digest);
    return out.sort();
  }

  async close(): Promise<void> {
    try {
      for (const c of this.containers) {
        unmountUnder(c.rootfs);
        await this.sn.remove(c.key).catch((e: unknown) => {
          if (!(e instanceof NotFoundError)) throw e;
        });
      }
    } finally {
      this.lease.release();
      this.store.close();
      unmountUnder(this.dir);
    }
  }
}

/** Unmount a container's root filesystem (before a check that needs it unmounted). */
export function unmountContainer(c: Container): void {
  unmount(c.rootfs);
}

/** Run a shell script inside a container's mounted root filesystem (chroot, the image's static busybox): its writes land as a container's would. */
export function inContainer(c: Container, script: string): string {
  const r = spawnSync('chroot', [c.rootfs, '/bin/sh', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chroot sh -c ${JSON.stringify(script)} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export interface TarListing {
  name: string;
  type: string;
  size: number;
  uid: number;
  gid: number;
  mode: number;
  linkname: string;
  /** sha256 of a file's body. */
  body?: string;
}

/** Every entry of a tar stream (bodies hashed). */
export async function listTar(bytes: AsyncIterable<Uint8Array> | Buffer): Promise<TarListing[]> {
  const out: TarListing[] = [];
  for await (const e of readTar(bytes)) {
    const h = e.header;
    const item: TarListing = { name: h.name, type: h.type, size: h.size, uid: h.uid, gid: h.gid, mode: h.mode, linkname: h.linkname };
    if (h.type === 'file') {
      const hash = createHash('sha256');
      for await (const c of e.body) hash.update(c);
      item.body = hash.digest('hex');
    }
    out.push(item);
  }
  return out;
}
