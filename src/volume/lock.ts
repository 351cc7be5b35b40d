/**
 * A volume's lock and the count of its users, one small file (ROOT/volumes/<name>/users)
 * shared by every cairn process: flock(2) on it serialises whatever changes the volume's
 * mount state or content (acquire, release, populate, remove), and it holds how many users
 * have acquired the volume and not yet released it, with the boot it was counted in. A count
 * from an earlier boot is no count at all: a reboot unmounted everything and ended every
 * user. The count is written in place, at a fixed width, in one write; a process killed
 * between a mount and the write of its count is caught by its caller, which checks the mount
 * table rather than trusting the count (use.ts).
 */
import { closeSync, constants as fsc, fstatSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { NotFoundError, errnoCode } from '../errors.js';
import { constants, flock } from '../native/index.js';
import { usersFile } from './layout.js';
import { volumeNameProblem } from './names.js';

/** The count of a volume's users, read under its lock. */
export interface Users {
  readonly count: number;
  /** Record a new count (in place, at once). */
  set(count: number): void;
}

let bootId: string | undefined;

/** This boot's id (the kernel's random boot_id). */
function currentBoot(): string {
  bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return bootId;
}

const WIDTH = 10;

function readCount(fd: number): number {
  const buf = Buffer.alloc(128);
  const n = readSync(fd, buf, 0, buf.length, 0);
  const m = /^(\S+) (\d+)\n/.exec(buf.subarray(0, n).toString());
  if (!m || m[1] !== currentBoot()) return 0;
  return Number(m[2]);
}

function writeCount(fd: number, count: number): void {
  const text = Buffer.from(`${currentBoot()} ${String(Math.max(0, count)).padStart(WIDTH, '0')}\n`);
  writeSync(fd, text, 0, text.length, 0);
}

/**
 * Run `fn` holding the lock of volume `name`, with its count of users. NotFoundError when
 * the volume has no directory (never made, or removed meanwhile: a process that waited for a
 * lock whose file was removed takes the new volume's, if one was made under the name since).
 */
export async function withVolumeLock<T>(root: string, name: string, fn: (users: Users) => Promise<T>): Promise<T> {
  // A name no volume can have names no directory of ours: never a path to make a file at.
  if (volumeNameProblem(name, '') !== undefined) throw new NotFoundError(`No such volume: ${name}`);
  const path = usersFile(root, name);
  for (;;) {
    let fd: number;
    try {
      fd = openSync(path, fsc.O_RDWR | fsc.O_CREAT, 0o600);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`No such volume: ${name}`, { cause: e });
      throw e;
    }
    try {
      flock(fd, constants.LOCK_EX);
      let current: boolean;
      try {
        current = statSync(path).ino === fstatSync(fd).ino;
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        current = false;
      }
      if (!current) continue;
      let count = readCount(fd);
      return await fn({
        get count() {
          return count;
        },
        set(n: number) {
          writeCount(fd, n);
          count = Math.max(0, n);
        },
      });
    } finally {
      // Closing the file releases the lock.
      closeSync(fd);
    }
  }
}
