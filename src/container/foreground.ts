/**
 * Starting a container in the foreground (`run` without `-d`, `start -a`): the cairn process
 * itself is the container's monitor. It runs the OCI runtime's `run` with the container's stdio
 * (its own terminal, or pipes it copies), records the container as running (with itself as
 * monitor, so another process can tell when it is gone), and when the process ends records the
 * exit and cleans up (finishContainer; `--rm` removes the container). No conmon: nothing stands
 * between the caller and the runtime, which is what keeps `run --rm` fast.
 */
import { writeTx } from '../metadata/db.js';
import { bootId, processStartTime } from '../process.js';
import { RuntimeFailure, type RuntimeProcess, type Stdio } from '../runtime/oci-runtime.js';
import { existsSync } from 'node:fs';
import { removeFile } from '../rmtree.js';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { ConflictError } from '../errors.js';
import { finishContainer, runtimeOf } from './lifecycle.js';
import { isLive, type ContainerRecord, type ContainerState } from './model.js';
import { imageConfigOf, prepareStart, releaseVolumes, unmountRootfs } from './prepare.js';
import { findContainer, setState } from './records.js';
import { containerFiles } from './files.js';
import { LogWriter } from './logwriter.js';
import { effectiveHealthcheck, initialHealth } from './health.js';

export interface ForegroundContainer {
  /** The runtime process: its stdio (when piped) and signals (forwarded to the container). */
  process: RuntimeProcess;
  /** What changed from what was asked (Docker prints these as WARNING lines). */
  warnings: string[];
  /**
   * The container's exit code once it ended and was recorded (and removed with `--rm`);
   * rejects with the runtime's failure (127, 126, 125) when the command could not start.
   */
  exited: Promise<number>;
}

export async function startForeground(store: Store, rec: ContainerRecord, stdio: Stdio): Promise<ForegroundContainer> {
  const image = await imageConfigOf(store, rec);
  const runtime = runtimeOf(store, rec);
  const prepared = await prepareStart(store, rec, image, runtime);
  const startTime = processStartTime(process.pid);
  const started = writeTx(store.db, () => {
    const now = findContainer(store.db, rec.id);
    if (now === undefined || isLive(now.state.status) || now.state.status === 'removing') return false;
    const state: ContainerState = {
      ...now.state,
      status: 'running',
      pid: 0,
      exitCode: 0,
      error: '',
      startedAt: new Date().toISOString(),
      monitor: { kind: 'foreground', pid: process.pid, startTime: startTime ?? 0, bootId: bootId() },
    };
    delete state.health;
    state.volumes = { bootId: bootId(), names: prepared.volumes };
    if (effectiveHealthcheck(image?.Healthcheck, rec.settings.create.healthcheck) !== undefined) state.health = initialHealth();
    setState(store.db, rec.id, state);
    return true;
  });
  if (!started) {
    await releaseVolumes(store, prepared.volumes);
    unmountRootfs(store.root, rec.id);
    throw new ConflictError(`container ${rec.name} is already running or being removed`);
  }
  const pidFile = join(containerFiles(store.root, rec.id).dir, 'pid');
  removeFile(pidFile);
  const raw = runtime.run(rec.id, prepared.bundle, { stdio, pidFile });
  // A signal that reaches the runtime before the container's process exists is lost: held until
  // the runtime wrote the process's pid, then passed on.
  const held: NodeJS.Signals[] = [];
  const poll = setInterval(() => {
    if (!existsSync(pidFile)) return;
    clearInterval(poll);
    for (const sig of held.splice(0)) raw.signal(sig);
  }, 5);
  const proc: RuntimeProcess = {
    ...raw,
    signal: (sig) => {
      if (existsSync(pidFile)) raw.signal(sig);
      else held.push(sig);
    },
  };
  void raw.wait().finally(() => clearInterval(poll)).catch(() => undefined);
  // Its piped output is also its log (as conmon would write it), unless it goes with its exit (--rm).
  const piped = typeof stdio === 'string' ? stdio === 'pipe' : stdio[1] === 'pipe' || stdio[2] === 'pipe';
  const log = piped && !rec.settings.create.autoRemove ? new LogWriter(containerFiles(store.root, rec.id).log) : undefined;
  if (log !== undefined) {
    proc.stdout?.on('data', (d: Buffer) => log.write('stdout', d));
    proc.stderr?.on('data', (d: Buffer) => log.write('stderr', d));
  }
  const exited = proc.wait().then(
    async (code) => {
      log?.close();
      await finishContainer(store, rec.id, code);
      return code;
    },
    async (e: unknown) => {
      log?.close();
      const code = e instanceof RuntimeFailure ? e.exitCode : 125;
      await finishContainer(store, rec.id, code, e instanceof Error ? e.message : String(e));
      throw e;
    },
  );
  // The caller awaits it; keep an early rejection from counting as unhandled meanwhile.
  exited.catch(() => undefined);
  return { process: proc, warnings: prepared.warnings, exited };
}
