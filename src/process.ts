/**
 * Whether a process still exists. Work in progress is named after its process (ingest files,
 * scratch dirs, leases, temp snapshots); what a dead process left is cleaned up by the next one.
 */
import { readFileSync } from 'node:fs';
import { errnoCode } from './errors.js';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else. ESRCH: it is gone.
    return errnoCode(e) === 'EPERM';
  }
}

/**
 * When process `pid` started (clock ticks since boot, field 22 of /proc/PID/stat), or
 * undefined when it is gone: with the pid, it names one process even after its pid is reused.
 */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ESRCH') return undefined;
    throw e;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const value = Number(rest[19]);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Whether process `pid` runs: it exists and is not a zombie (an exited process its parent has
 * not reaped still answers kill(pid, 0)), and, given `startTime` ({@link processStartTime} when
 * it started), it is that process, not a later one that got the pid.
 */
export function processRunning(pid: number, startTime?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ESRCH') return false;
    throw e;
  }
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[0] !== 'Z' && rest[0] !== 'X' && rest[0] !== 'x' && (startTime === undefined || Number(rest[19]) === startTime);
}

let boot: string | undefined;

/** This boot's ID (a reboot changes it). */
export function bootId(): string {
  boot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return boot;
}
