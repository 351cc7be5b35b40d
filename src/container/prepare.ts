/**
 * Getting a container ready to start: its root filesystem mounted (the writable snapshot over
 * the image's layers, at `ROOT/containers/<id>/rootfs`), the /etc files it is given, its
 * user resolved against the image's passwd and group, the OCI spec made from the image's
 * config and its settings (runtime/spec.ts), every path in it resolved inside the root
 * filesystem (runtime/bundle.ts), written as its bundle. Also the way back: unmounting.
 *
 * The /etc files are Docker's: with the host's network, the host's /etc/hosts and
 * /etc/resolv.conf and the host's name; with `--network none`, a hosts file of loopback
 * names, the host's resolv.conf, and the container's ID as its name.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname as osHostname, release } from 'node:os';
import { dirname, join } from 'node:path';
import { NotFoundError, PreconditionError, errnoCode } from '../errors.js';
import { readConfig } from '../image/config.js';
import type { ContainerConfig } from '../oci/types.js';
import { secureSpec, writeBundle } from '../runtime/bundle.js';
import { readHostDevices, readHostFacts } from '../runtime/host.js';
import { memoisedProfile } from '../runtime/seccomp-memo.js';
import { buildSpec, type BindMount, type OciSpec, type RunOptions, type TmpfsMount } from '../runtime/spec.js';
import { resolveInRoot } from '../runtime/rootpath.js';
import { acquireVolume, isVolumeEmpty, populateVolume, releaseVolume } from '../volume/index.js';
import { runtimeBind } from './mounts.js';
import { runtimeTmpfs } from './tmpfs.js';
import { resolveUser } from '../runtime/user.js';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { mountAll, unmount } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { containerFiles, runtimeStateDir } from './files.js';
import type { ContainerRecord } from './model.js';

/** Where `--init` finds its init (tini, statically linked: it runs inside any image). */
export const INIT_BINARIES = ['/usr/bin/tini-static', '/usr/bin/catatonit'];
/** Where Docker puts the init inside the container. */
export const INIT_PATH = '/sbin/docker-init';

const NONE_HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

/** Whether `path` is a mount point (its device differs from its parent's). */
export function isMountPoint(path: string): boolean {
  try {
    return statSync(path).dev !== statSync(dirname(path)).dev;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** The hostname a container gets. */
export function containerHostname(rec: ContainerRecord): string {
  const h = rec.settings.create.hostname;
  if (h !== undefined && h !== '') return h;
  return rec.settings.create.network === 'host' ? osHostname() : rec.id.slice(0, 12);
}

/** Mount the container's root filesystem (if it is not mounted); returns where. */
export async function mountRootfs(store: Store, rec: ContainerRecord): Promise<string> {
  const files = containerFiles(store.root, rec.id);
  mkdirSync(files.rootfs, { recursive: true });
  if (isMountPoint(files.rootfs)) return files.rootfs;
  const sn = await store.snapshots();
  // A container removed when it ends needs no durable writable layer: no sync at its unmount.
  mountAll(await sn.mounts(rec.snapshot), files.rootfs, { volatile: rec.settings.create.autoRemove === true });
  return files.rootfs;
}

/** Unmount the container's root filesystem if it is mounted. */
export function unmountRootfs(root: string, id: string): void {
  const { rootfs } = containerFiles(root, id);
  try {
    unmount(rootfs);
  } catch (e) {
    // no directory, nothing mounted: also when another process (a prune's rm) removed the
    // container's directory since this one read its record — a test for it first was a race
    if (e instanceof NotFoundError) return;
    throw e;
  }
}

/** The image's config, read again at every start (as Docker reads it). */
export async function imageConfigOf(store: Store, rec: ContainerRecord): Promise<ContainerConfig | undefined> {
  return (await readConfig(store.content, rec.imageId)).config.config;
}

export interface Prepared {
  spec: OciSpec;
  bundle: string;
  rootfs: string;
  warnings: string[];
  /** The named volumes acquired for it (release each once, when it stops). */
  volumes: string[];
}

/**
 * The container's volumes, acquired (mounted if they have options) and, unless `nocopy`, an
 * empty one filled with what the image has at its mount point (as Docker does on first use);
 * binds of their directories. On failure, what was acquired is released.
 */
async function volumeBinds(store: Store, rec: ContainerRecord, rootfs: string): Promise<{ binds: BindMount[]; acquired: string[] }> {
  const binds: BindMount[] = [];
  const acquired: string[] = [];
  try {
    for (const m of rec.settings.mounts) {
      if (m.type !== 'volume' || m.name === undefined) continue;
      const path = await acquireVolume(store, m.name);
      acquired.push(m.name);
      if (!m.noCopy && isVolumeEmpty(store, m.name)) {
        const inImage = resolveInRoot(rootfs, m.destination);
        if (inImage.kind === 'dir') await populateVolume(store, m.name, inImage.hostPath);
      }
      binds.push({ source: path, destination: m.destination, readOnly: m.readOnly });
    }
    return { binds, acquired };
  } catch (e) {
    await releaseVolumes(store, acquired);
    throw e;
  }
}

/** Release volumes acquired for a container (each once). */
export async function releaseVolumes(store: Store, names: readonly string[]): Promise<void> {
  for (const n of names) await releaseVolume(store, n);
}

/** The runtime's mounts of the container's binds and tmpfs mounts (volumes apart). */
function otherMounts(rec: ContainerRecord): { binds: BindMount[]; tmpfs: TmpfsMount[] } {
  const binds: BindMount[] = [];
  const tmpfs: TmpfsMount[] = [...rec.settings.create.tmpfs];
  for (const m of rec.settings.mounts) {
    if (m.type === 'bind') binds.push(runtimeBind(m));
    else if (m.type === 'tmpfs') tmpfs.push(runtimeTmpfs(m));
  }
  return { binds, tmpfs };
}

/**
 * Mount the root filesystem, acquire the volumes, write the /etc files and the bundle. On
 * failure everything is undone: nothing is left mounted or acquired by a container that did
 * not start.
 */
export async function prepareStart(store: Store, rec: ContainerRecord, image: ContainerConfig | undefined, runtime: OciRuntime): Promise<Prepared> {
  const files = containerFiles(store.root, rec.id);
  const c = rec.settings.create;
  const rootfs = await mountRootfs(store, rec);
  let acquired: string[] = [];
  try {
    const hostname = containerHostname(rec);
    writeFileSync(files.hostname, `${hostname}\n`);
    if (c.network === 'host' && existsSync('/etc/hosts')) copyFileSync('/etc/hosts', files.hosts);
    else writeFileSync(files.hosts, NONE_HOSTS);
    if (existsSync('/etc/resolv.conf')) writeFileSync(files.resolvConf, readFileSync('/etc/resolv.conf'));
    else writeFileSync(files.resolvConf, '');

    const userSpec = c.user !== undefined && c.user !== '' ? c.user : image?.User;
    const user = resolveUser(rootfs, userSpec);
    const volumes = await volumeBinds(store, rec, rootfs);
    acquired = volumes.acquired;
    const other = otherMounts(rec);
    const binds = [...other.binds, ...volumes.binds];
    let command = rec.settings.command;
    if (c.init === true) {
      const init = INIT_BINARIES.find((p) => existsSync(p));
      if (init === undefined) throw new PreconditionError('--init needs tini-static or catatonit on the host: install tini (scripts/setup.sh does)');
      binds.push({ source: init, destination: INIT_PATH, readOnly: true });
      command = [INIT_PATH, '--', ...command];
    }
    const options: RunOptions = {
      // The command was resolved at create (Docker's Path and Args): given whole as the entrypoint.
      args: [],
      entrypoint: command,
      env: c.env,
      ...(c.workdir !== undefined && c.workdir !== '' ? { workdir: c.workdir } : {}),
      user,
      hostname,
      tty: c.tty,
      readOnly: c.readOnly,
      network: c.network,
      ...(c.shmSize > 0 ? { shmSize: c.shmSize } : {}),
      ...(c.memory > 0 ? { memory: c.memory } : {}),
      ...(c.memorySwap !== 0 ? { memorySwap: c.memorySwap } : {}),
      ...(c.nanoCpus > 0 ? { cpus: c.nanoCpus / 1e9 } : {}),
      ...(c.pidsLimit !== undefined ? { pidsLimit: c.pidsLimit } : {}),
      ulimits: c.ulimits,
      capAdd: c.capAdd,
      capDrop: c.capDrop,
      privileged: c.privileged,
      securityOpt: c.securityOpt,
      binds,
      tmpfs: other.tmpfs,
      etcFiles: { hosts: files.hosts, hostname: files.hostname, resolvConf: files.resolvConf },
      labels: c.labels,
      ...(c.stopSignal !== undefined ? { stopSignal: c.stopSignal } : {}),
    };
    const confined = !c.privileged && c.security.seccomp === 'default';
    const { spec, warnings } = buildSpec({
      id: rec.id,
      image,
      rootfs,
      options,
      host: readHostFacts(),
      kernel: release(),
      ...(confined ? { seccomp: memoisedProfile(join(runtimeStateDir(store.root), 'seccomp-sections')) } : {}),
      ...(c.privileged ? { hostDevices: readHostDevices() } : {}),
    });
    // The runtime's part (crun: its seccomp filter's cache key, hashed on the pool) runs while
    // the mount targets are resolved here: it touches only the seccomp section and the
    // annotations, secureSpec only the mounts and the working directory.
    const optimising = runtime.optimise(spec);
    let resolved: OciSpec;
    try {
      resolved = secureSpec(spec);
    } catch (e) {
      await optimising.catch(() => undefined);
      throw e;
    }
    const optimised = await optimising;
    const secured: OciSpec = { ...optimised, mounts: resolved.mounts, process: resolved.process };
    writeBundle(files.bundle, secured);
    return { spec: secured, bundle: files.bundle, rootfs, warnings, volumes: acquired };
  } catch (e) {
    await releaseVolumes(store, acquired);
    unmount(rootfs);
    throw e;
  }
}
