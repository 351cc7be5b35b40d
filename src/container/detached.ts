/**
 * Starting a container watched by conmon (`run -d`, `start`, and `run -t`, whose terminal
 * conmon holds): the root filesystem mounted and the bundle written (prepare.ts), the
 * container created by conmon (conmon.ts: it holds the container's stdio, writes its log,
 * serves attach, records the exit code), recorded as running with conmon as its monitor, then
 * started. No cairn process stays: when the container exits, conmon runs
 * `cairn container cleanup ID` (the exit command), which records the exit and cleans up as any
 * process that notices the end would (lifecycle.ts `finishContainer`; `--rm` removes it).
 *
 * A start that fails leaves the container as it was before (created or exited, with the error
 * recorded), nothing mounted and nothing in the runtime.
 */
import { writeTx } from '../metadata/db.js';
import { bootId, processStartTime } from '../process.js';
import type { Store } from '../store/store.js';
import { ConflictError } from '../errors.js';
import { createWithConmon, type ConmonStarted } from './conmon.js';
import { cairnCommand, containerFiles } from './files.js';
import { effectiveHealthcheck, initialHealth } from './health.js';
import { deleteFromRuntime, runtimeOf } from './lifecycle.js';
import { isLive, type ContainerRecord, type ContainerState } from './model.js';
import { imageConfigOf, prepareStart, releaseVolumes, unmountRootfs } from './prepare.js';
import { findContainer, setState } from './records.js';

export interface DetachedStart {
  warnings: string[];
  started: ConmonStarted;
}

/** A container created under conmon, recorded as running, its process not started yet. */
export interface DetachedCreated extends DetachedStart {
  /** Start its process (a failure undoes everything, as `abort`). */
  start(): Promise<void>;
  /** Undo the creation: the runtime's container, the mount; the record as it was. */
  abort(error: unknown): Promise<void>;
}

/**
 * Start `rec` under conmon; resolves once its process runs. `attached`: this process stays
 * attached to it (run -t) and will read its exit and do `--rm` itself.
 */
export async function startDetached(store: Store, rec: ContainerRecord): Promise<DetachedStart> {
  const created = await createDetached(store, rec, false);
  await created.start();
  return { warnings: created.warnings, started: created.started };
}

/** Create `rec` under conmon and record it running; its process starts with `start()` (so an attach can connect first). */
export async function createDetached(store: Store, rec: ContainerRecord, attached: boolean): Promise<DetachedCreated> {
  const image = await imageConfigOf(store, rec);
  const runtime = runtimeOf(store, rec);
  const prepared = await prepareStart(store, rec, image, runtime);
  const files = containerFiles(store.root, rec.id);
  let started: ConmonStarted;
  try {
    started = await createWithConmon({
      id: rec.id,
      bundle: prepared.bundle,
      runtime: { name: runtime.name, binary: runtime.executable(), root: runtime.root },
      logPath: files.log,
      tty: rec.settings.create.tty,
      interactive: rec.settings.create.openStdin,
      leaveStdinOpen: rec.settings.create.openStdin,
      exitDir: files.exitDir,
      persistDir: files.persistDir,
      exitCommand: [...cairnCommand(), '--root', store.root, 'container', 'cleanup', rec.id],
      name: rec.name,
    });
  } catch (e) {
    await releaseVolumes(store, prepared.volumes);
    unmountRootfs(store.root, rec.id);
    // Removed meanwhile by another process (a prune between create and start took its directory,
    // conmon's pid file with it): said as when the removal is seen after the start, not as conmon's failure.
    const now = findContainer(store.db, rec.id);
    if (now === undefined || now.state.status === 'removing') throw new ConflictError(`container ${rec.name} is already running or being removed`, { cause: e });
    throw e;
  }
  const recorded = writeTx(store.db, () => {
    const now = findContainer(store.db, rec.id);
    if (now === undefined || isLive(now.state.status) || now.state.status === 'removing') return false;
    const state: ContainerState = {
      ...now.state,
      status: 'running',
      pid: started.pid,
      exitCode: 0,
      error: '',
      oomKilled: false,
      startedAt: new Date().toISOString(),
      monitor: { kind: 'conmon', pid: started.conmonPid, startTime: started.conmonStartTime ?? 0, bootId: bootId() },
    };
    delete state.attachedBy;
    if (attached) state.attachedBy = { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 };
    delete state.health;
    state.volumes = { bootId: bootId(), names: prepared.volumes };
    if (effectiveHealthcheck(image?.Healthcheck, rec.settings.create.healthcheck) !== undefined) state.health = initialHealth();
    setState(store.db, rec.id, state);
    return true;
  });
  if (!recorded) {
    await deleteFromRuntime(runtime, rec.id);
    await releaseVolumes(store, prepared.volumes);
    unmountRootfs(store.root, rec.id);
    throw new ConflictError(`container ${rec.name} is already running or being removed`);
  }
  let aborted = false;
  const abort = async (e: unknown): Promise<void> => {
    if (aborted) return;
    aborted = true;
    await deleteFromRuntime(runtime, rec.id);
    await releaseVolumes(store, prepared.volumes);
    unmountRootfs(store.root, rec.id);
    writeTx(store.db, () => {
      const now = findContainer(store.db, rec.id);
      if (now === undefined) return;
      const state: ContainerState = { ...now.state, status: rec.state.status === 'created' ? 'created' : 'exited', pid: 0, error: e instanceof Error ? e.message : String(e) };
      delete state.monitor;
      delete state.attachedBy;
      delete state.volumes;
      setState(store.db, rec.id, state);
    });
  };
  const start = async (): Promise<void> => {
    try {
      await runtime.start(rec.id);
    } catch (e) {
      await abort(e);
      throw e;
    }
  };
  return { warnings: prepared.warnings, started, start, abort };
}
