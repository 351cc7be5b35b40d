/**
 * A small file read whole as text when it is there: what cairn keeps or finds beside its work
 * (a runtime's log, conmon's pid and exit files, cached filters and conversions, cgroup files).
 */
import { readFileSync } from 'node:fs';
import { errnoCode } from './errors.js';

/** The file's text (UTF-8), or undefined when it does not exist; any other failure is thrown. */
export function readTextIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}
