/**
 * Whether a process still exists. Work in progress is named after its process (ingest files,
 * scratch dirs, leases, temp snapshots); what a dead process left is cleaned up by the next one.
 */
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
