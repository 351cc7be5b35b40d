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
import { dirname } from 'node:path';
import { PreconditionError, errnoCode } from '../errors.js';
import { readConfig } from '../image/config.js';
import type { ContainerConfig } from '../oci/types.js';
import { secureSpec, writeBundle } from '../runtime/bundle.js';
import { readHostDevices, readHostFacts } from '../runtime/host.js';
import { loadSeccompProfile } from '../runtime/seccomp.js';
import { buildSpec, parseSecurityOpts, type OciSpec, type RunOptions } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { mountAll, unmount } from '../snapshot/index.js';
import type { Store } from '../store/store.js';
import { containerFiles } from './files.js';
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
  if (rec.settings.hostname !== undefined && rec.settings.hostname !== '') return rec.settings.hostname;
  return rec.settings.network === 'host' ? osHostname() : rec.id.slice(0, 12);
}

/** Mount the container's root filesystem (if it is not mounted); returns where. */
export async function mountRootfs(store: Store, rec: ContainerRecord): Promise<string> {
  const files = containerFiles(store.root, rec.id);
  mkdirSync(files.rootfs, { recursive: true });
  if (isMountPoint(files.rootfs)) return files.rootfs;
  const sn = await store.snapshots();
  mountAll(await sn.mounts(rec.snapshot), files.rootfs);
  return files.rootfs;
}

/** Unmount the container's root filesystem if it is mounted. */
export function unmountRootfs(root: string, id: string): void {
  const { rootfs } = containerFiles(root, id);
  if (existsSync(rootfs)) unmount(rootfs);
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
}

/**
 * Mount the root filesystem, write the /etc files and the bundle. On failure the root
 * filesystem is unmounted again (nothing is left mounted by a container that did not start).
 */
export async function prepareStart(store: Store, rec: ContainerRecord, image: ContainerConfig | undefined, runtime: OciRuntime): Promise<Prepared> {
  const files = containerFiles(store.root, rec.id);
  const s = rec.settings;
  const rootfs = await mountRootfs(store, rec);
  try {
    const hostname = containerHostname(rec);
    writeFileSync(files.hostname, `${hostname}\n`);
    if (s.network === 'host' && existsSync('/etc/hosts')) copyFileSync('/etc/hosts', files.hosts);
    else writeFileSync(files.hosts, NONE_HOSTS);
    if (existsSync('/etc/resolv.conf')) writeFileSync(files.resolvConf, readFileSync('/etc/resolv.conf'));
    else writeFileSync(files.resolvConf, '');

    const userSpec = s.user !== undefined && s.user !== '' ? s.user : image?.User;
    const user = resolveUser(rootfs, userSpec);
    const binds = [...s.binds];
    let entrypoint = s.entrypoint;
    let args = s.args;
    if (s.init) {
      const init = INIT_BINARIES.find((p) => existsSync(p));
      if (init === undefined) throw new PreconditionError('--init needs tini-static or catatonit on the host: install tini (scripts/setup.sh does)');
      binds.push({ source: init, destination: INIT_PATH, readOnly: true });
      const ep = entrypoint ?? image?.Entrypoint ?? [];
      const cmd = args.length > 0 ? args : entrypoint !== undefined ? [] : (image?.Cmd ?? []);
      entrypoint = [INIT_PATH, '--', ...ep];
      args = cmd;
    }
    const security = parseSecurityOpts(s.securityOpt);
    const options: RunOptions = {
      args,
      ...(entrypoint !== undefined ? { entrypoint } : {}),
      env: s.env,
      ...(s.workdir !== undefined ? { workdir: s.workdir } : {}),
      user,
      hostname,
      tty: s.tty,
      readOnly: s.readOnly,
      network: s.network,
      ...(s.memory !== undefined ? { memory: s.memory } : {}),
      ...(s.memorySwap !== undefined ? { memorySwap: s.memorySwap } : {}),
      ...(s.cpus !== undefined ? { cpus: s.cpus } : {}),
      ...(s.pidsLimit !== undefined ? { pidsLimit: s.pidsLimit } : {}),
      ulimits: s.ulimits,
      capAdd: s.capAdd,
      capDrop: s.capDrop,
      privileged: s.privileged,
      securityOpt: s.securityOpt,
      binds,
      tmpfs: s.tmpfs,
      etcFiles: { hosts: files.hosts, hostname: files.hostname, resolvConf: files.resolvConf },
      labels: s.labels,
      ...(s.stopSignal !== undefined ? { stopSignal: s.stopSignal } : {}),
    };
    const confined = !s.privileged && security.seccomp === 'default';
    const { spec, warnings } = buildSpec({
      id: rec.id,
      image,
      rootfs,
      options,
      host: readHostFacts(),
      kernel: release(),
      ...(confined ? { seccompProfile: loadSeccompProfile() } : {}),
      ...(s.privileged ? { hostDevices: readHostDevices() } : {}),
    });
    const secured = await runtime.optimise(secureSpec(spec));
    writeBundle(files.bundle, secured);
    return { spec: secured, bundle: files.bundle, rootfs, warnings };
  } catch (e) {
    unmount(rootfs);
    throw e;
  }
}
