/**
 * The fixture of tests that run containers on real runtimes: a temporary store holding a
 * busybox image (Debian's busybox-static with every applet linked) imported by the CLI, and
 * per container a writable snapshot prepared on the image's top layer, mounted as overlay, with
 * a bundle written from the image's config by spec.ts. Everything made is undone by `remove`
 * (the container's layer) and `close` (the store and the directory).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../src/image/config.js';
import { resolveImage } from '../src/image/resolve.js';
import { secureSpec, writeBundle } from '../src/runtime/bundle.js';
import { readHostFacts } from '../src/runtime/host.js';
import { fromProfile, loadSeccompProfile } from '../src/runtime/seccomp.js';
import { buildSpec, type OciSpec, type RunOptions } from '../src/runtime/spec.js';
import { resolveUser } from '../src/runtime/user.js';
import type { ContainerConfig } from '../src/oci/types.js';
import { mountAll, unmount, type Snapshotter } from '../src/snapshot/index.js';
import { Store } from '../src/store/store.js';
import { busyboxRunTar, cairnOk, tempDir, unmountUnder } from './helpers.js';

/** A busybox image's root filesystem tar (every applet, passwd and group with nobody, /tmp). */
export const busyboxImageTar = busyboxRunTar;

/** A container's writable layer, mounted. */
export interface ContainerLayer {
  /** Where the root filesystem is mounted. */
  rootfs: string;
  /** Unmount it and remove its snapshot. */
  remove(): Promise<void>;
}

export interface ContainerFixture {
  /** The temporary directory everything lives in. */
  dir: string;
  store: Store;
  /** The image's config (Env, Cmd, ...). */
  image: ContainerConfig | undefined;
  /** A new writable layer on the image, mounted under dir. */
  layer(key: string): Promise<ContainerLayer>;
  /** The spec of a container on `rootfs` (network none, hostname = id, the default seccomp profile). */
  spec(id: string, rootfs: string, options: Partial<RunOptions> & { args: string[] }): OciSpec;
  /** Write the bundle of container `id` at `bundle` for `rootfs`. */
  bundle(bundle: string, id: string, rootfs: string, options: Partial<RunOptions> & { args: string[] }): void;
  /** Close the store, unmount whatever is left under dir, remove dir. */
  close(): Promise<void>;
}

/** A store in a new temporary directory with the busybox image `busybox:test` in it. */
export async function openContainerFixture(prefix: string): Promise<ContainerFixture> {
  const tmp = await tempDir(prefix);
  let store: Store | undefined;
  try {
    const root = join(tmp.path, 'root');
    await cairnOk(root, ['import', '-', 'busybox:test'], { input: await busyboxImageTar() });
    store = await Store.open({ root });
    const { image: img } = resolveImage(store.db, 'busybox:test');
    const image = (await readConfig(store.content, img.id)).config.config;
    const topChainId = img.topChainId!;
    const sn: Snapshotter = await store.snapshots();
    const s = store;
    const fixture: ContainerFixture = {
      dir: tmp.path,
      store: s,
      image,
      async layer(key) {
        const mounts = await sn.prepare(key, topChainId);
        const rootfs = join(tmp.path, 'rootfs', key);
        try {
          mkdirSync(rootfs, { recursive: true });
          mountAll(mounts, rootfs);
        } catch (e) {
          await sn.remove(key);
          throw e;
        }
        return {
          rootfs,
          async remove() {
            unmount(rootfs);
            rmSync(rootfs, { recursive: true, force: true });
            await sn.remove(key);
          },
        };
      },
      spec(id, rootfs, options) {
        return secureSpec(buildSpec({
          id,
          image,
          rootfs,
          options: { user: resolveUser(rootfs, image?.User), hostname: id, network: 'none', ...options },
          host: readHostFacts(),
          kernel: release(),
          seccomp: fromProfile(loadSeccompProfile()),
        }).spec);
      },
      bundle(bundle, id, rootfs, options) {
        writeBundle(bundle, fixture.spec(id, rootfs, options));
      },
      async close() {
        try {
          s.close();
        } finally {
          unmountUnder(tmp.path);
          await tmp.cleanup();
        }
      },
    };
    return fixture;
  } catch (e) {
    store?.close();
    unmountUnder(tmp.path);
    await tmp.cleanup();
    throw e;
  }
}
