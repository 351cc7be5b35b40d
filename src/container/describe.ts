/**
 * How a container is described: its record turned into what `ps` and `inspect` print (ps.ts,
 * inspect.ts, config.ts make Docker's shapes; this module gathers the facts from the record,
 * the image's config, the volumes' directories and the snapshot's directories).
 */
import { hostname } from 'node:os';
import type { ContainerConfig } from '../oci/types.js';
import type { Mount } from '../snapshot/types.js';
import { volumeMountpoint } from '../volume/index.js';
import { dockerConfig, dockerHostConfig, pathAndArgs } from './config.js';
import { containerFiles } from './files.js';
import { inspectContainer, type ContainerInspectInput, type DockerContainerInspect } from './inspect.js';
import { ZERO_TIME, type ContainerRecord } from './model.js';
import { dockerMountPoint, type DockerMountPoint } from './mounts.js';
import { containerState, type PsInput } from './ps.js';
import type { PsFilterFacts } from './ps-filter.js';

/** The container's mounts as Docker's MountPoints (volumes with their directories). */
export function mountPoints(root: string, rec: ContainerRecord): DockerMountPoint[] {
  return rec.settings.mounts.map((m) => (m.type === 'volume' && m.name !== undefined ? dockerMountPoint(m, { name: m.name, source: volumeMountpoint(root, m.name) }) : dockerMountPoint(m)));
}

const time = (t: string): number | undefined => (t === ZERO_TIME || t === '' ? undefined : Date.parse(t));

/** What a `ps` row is made from. */
export function psInputOf(root: string, rec: ContainerRecord): PsInput {
  const [path = '', ...args] = rec.settings.command;
  const s = rec.state;
  const startedAt = time(s.startedAt);
  const finishedAt = time(s.finishedAt);
  return {
    id: rec.id,
    name: rec.name,
    image: rec.settings.create.image,
    imageId: rec.imageId,
    path,
    args,
    created: Date.parse(rec.created),
    state: {
      status: s.status,
      exitCode: s.exitCode,
      ...(startedAt !== undefined ? { startedAt } : {}),
      ...(finishedAt !== undefined ? { finishedAt } : {}),
      ...(s.health !== undefined ? { health: { Status: s.health.Status } } : {}),
    },
    labels: rec.settings.create.labels,
    mounts: mountPoints(root, rec),
    networks: [rec.settings.create.network],
  };
}

/** What `ps --filter` looks at in a container (ps-filter.ts). */
export function psFilterFactsOf(rec: ContainerRecord): PsFilterFacts {
  const s = rec.state;
  const started = s.startedAt !== ZERO_TIME && s.startedAt !== '';
  return {
    id: rec.id,
    name: rec.name,
    labels: rec.settings.create.labels,
    state: containerState({ status: s.status, exitCode: s.exitCode, ...(started ? { startedAt: Date.parse(s.startedAt) } : {}) }),
    running: s.status === 'running' || s.status === 'paused' || s.status === 'restarting',
    started,
    exitCode: s.exitCode,
    health: s.health?.Status ?? 'none',
    imageId: rec.imageId,
    networks: [rec.settings.create.network],
    mounts: rec.settings.mounts.map((m) => ({ ...(m.type === 'volume' && m.name !== undefined ? { name: m.name } : {}), source: m.type === 'bind' ? m.source : '', destination: m.destination })),
  };
}

/** Docker's `inspect` document of a container. `mounts`: its writable snapshot's mounts (GraphDriver); `sizes` with `--size`. */
export function inspectOf(root: string, rec: ContainerRecord, image: ContainerConfig | undefined, driver: string, snapshotMounts: readonly Mount[], sizes?: { rw: number; rootFs: number }): DockerContainerInspect {
  const files = containerFiles(root, rec.id);
  const config = dockerConfig(rec.settings.create, image, { id: rec.id, hostHostname: hostname() });
  const { path, args } = pathAndArgs(config);
  const started = rec.state.startedAt !== ZERO_TIME;
  const m = snapshotMounts[0];
  const graph: ContainerInspectInput['graphDriverData'] =
    m?.type === 'overlay'
      ? { LowerDir: (m.lowerdirs ?? []).join(':'), MergedDir: files.rootfs, UpperDir: m.upperdir ?? '', WorkDir: m.workdir ?? '' }
      : m !== undefined
        ? { MergedDir: files.rootfs, UpperDir: m.source }
        : null;
  const s = rec.state;
  return inspectContainer({
    id: rec.id,
    name: rec.name,
    created: rec.created,
    imageId: rec.imageId,
    config,
    hostConfig: dockerHostConfig(rec.settings.create, { runtime: rec.settings.runtime, cgroupnsMode: 'host', logDriver: 'k8s-file' }),
    path,
    args,
    state: {
      status: s.status,
      pid: s.pid,
      exitCode: s.exitCode,
      error: s.error,
      oomKilled: s.oomKilled,
      ...(s.startedAt !== ZERO_TIME ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt !== ZERO_TIME ? { finishedAt: s.finishedAt } : {}),
      ...(s.health !== undefined ? { health: s.health } : {}),
    },
    ...(started ? { resolvConfPath: files.resolvConf, hostnamePath: files.hostname, hostsPath: files.hosts } : {}),
    logPath: files.log,
    driver,
    graphDriverData: graph,
    mounts: mountPoints(root, rec),
    ...(sizes !== undefined ? { sizeRw: sizes.rw, sizeRootFs: sizes.rootFs } : {}),
  });
}
