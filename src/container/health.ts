/**
 * Health checks, with no daemon to schedule them: `healthcheck run NAME` (podman's command)
 * runs the container's check once, now, and records the result in the container's state as
 * Docker keeps it (Status starting|healthy|unhealthy, FailingStreak, the last five results with
 * their output); `ps` and `inspect` show it. A scheduler (cron, a systemd timer) can call it.
 *
 * The check is the container's `--health-*` flags over the image's HEALTHCHECK (a zero field
 * inherits the image's; `--no-healthcheck` is `NONE`), with Docker's defaults: every 30 s,
 * 30 s timeout, 3 retries, no start period. A failure inside the start period does not count.
 * The command runs as `exec` runs one (CMD: as given; CMD-SHELL: through /bin/sh -c); one that
 * outlives the timeout is killed and fails. Output is kept up to 4 KiB, as Docker keeps it.
 */
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { RuntimeFailure } from '../runtime/oci-runtime.js';
import { writeTx } from '../metadata/db.js';
import type { HealthConfig } from '../oci/types.js';
import type { Store } from '../store/store.js';
import { execInContainer } from './exec.js';
import { refresh } from './lifecycle.js';
import type { ContainerRecord, HealthState } from './model.js';
import type { HealthConfig as HealthcheckSetting } from './options.js';
import { findContainer, setState } from './records.js';

const SECOND = 1e9;
export const DEFAULT_INTERVAL = 30 * SECOND;
export const DEFAULT_TIMEOUT = 30 * SECOND;
export const DEFAULT_RETRIES = 3;
const MAX_OUTPUT = 4096;
const KEPT_RESULTS = 5;

/** The check in force: the container's fields over the image's (Docker's merge). Undefined: none. */
export function effectiveHealthcheck(image: HealthConfig | undefined, own: HealthcheckSetting | undefined): HealthcheckSetting | undefined {
  const test = own?.Test !== undefined && own.Test.length > 0 ? own.Test : image?.Test;
  if (test === undefined || test.length === 0 || test[0] === 'NONE') return undefined;
  const pick = (a: number | undefined, b: number | undefined) => (a !== undefined && a !== 0 ? a : b !== undefined && b !== 0 ? b : undefined);
  const out: HealthcheckSetting = { Test: test };
  const interval = pick(own?.Interval, image?.Interval);
  const timeout = pick(own?.Timeout, image?.Timeout);
  const start = pick(own?.StartPeriod, image?.StartPeriod);
  const retries = pick(own?.Retries, image?.Retries);
  if (interval !== undefined) out.Interval = interval;
  if (timeout !== undefined) out.Timeout = timeout;
  if (start !== undefined) out.StartPeriod = start;
  if (retries !== undefined) out.Retries = retries;
  return out;
}

/** The argv a check's Test runs. */
export function checkCommand(test: readonly string[]): string[] {
  switch (test[0]) {
    case 'CMD':
      return test.slice(1);
    case 'CMD-SHELL':
      return ['/bin/sh', '-c', test.slice(1).join(' ')];
    default:
      throw new InvalidArgumentError(`unknown health check type ${JSON.stringify(test[0])}: CMD, CMD-SHELL or NONE`);
  }
}

export function initialHealth(): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: [] };
}

/** Docker's Go duration text of a nanosecond count, as its error messages print it (30s, 1m30s). */
function goDuration(ns: number): string {
  const s = ns / SECOND;
  if (s < 60) return `${s}s`;
  const m = Math.trunc(s / 60);
  return `${m}m${s - m * 60}s`;
}

/** The state after one result (pure): Docker's rules for the streak, the start period and the log. */
export function nextHealth(prev: HealthState | undefined, result: { start: string; end: string; exitCode: number; output: string }, check: HealthcheckSetting, startedAt: string): HealthState {
  const h: HealthState = prev !== undefined ? { ...prev, Log: [...prev.Log] } : initialHealth();
  h.Log.push({ Start: result.start, End: result.end, ExitCode: result.exitCode, Output: result.output });
  while (h.Log.length > KEPT_RESULTS) h.Log.shift();
  if (result.exitCode === 0) {
    h.Status = 'healthy';
    h.FailingStreak = 0;
    return h;
  }
  const inStartPeriod = check.StartPeriod !== undefined && (Date.parse(result.start) - Date.parse(startedAt)) * 1e6 < check.StartPeriod;
  if (inStartPeriod && h.Status !== 'healthy') return h;
  h.FailingStreak += 1;
  if (h.FailingStreak >= (check.Retries ?? DEFAULT_RETRIES)) h.Status = 'unhealthy';
  return h;
}

/** Run the container's check once and record it; the health afterwards. */
export async function runHealthcheck(store: Store, rec: ContainerRecord, image: HealthConfig | undefined): Promise<HealthState> {
  const check = effectiveHealthcheck(image, rec.settings.create.healthcheck);
  if (check === undefined) throw new ConflictError(`container ${rec.name} has no defined healthcheck`);
  const now = await refresh(store, rec);
  if (now.state.status !== 'running') throw new ConflictError(`container ${rec.name} is not running`);
  const start = new Date().toISOString();
  const proc = await execInContainer(store, now, { args: checkCommand(check.Test!) }, 'pipe');
  proc.stdin?.end();
  let output = '';
  const take = (d: Buffer) => {
    if (output.length < MAX_OUTPUT) output = (output + d.toString()).slice(0, MAX_OUTPUT);
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  const timeoutNs = check.Timeout ?? DEFAULT_TIMEOUT;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.signal('SIGKILL');
  }, timeoutNs / 1e6);
  let exitCode: number;
  try {
    exitCode = await proc.wait();
  } catch (e) {
    // The command could not be run (not found, not executable): a failed check, as Docker has it.
    if (!(e instanceof RuntimeFailure)) throw e;
    exitCode = e.exitCode;
    output = e.message;
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    exitCode = -1;
    output = `Health check exceeded timeout (${goDuration(timeoutNs)})`;
  }
  const result = { start, end: new Date().toISOString(), exitCode, output };
  return writeTx(store.db, () => {
    const current = findContainer(store.db, rec.id);
    if (current === undefined) throw new ConflictError(`container ${rec.name} was removed during its health check`);
    const health = nextHealth(current.state.health, result, check, current.state.startedAt);
    setState(store.db, rec.id, { ...current.state, health });
    return health;
  });
}
