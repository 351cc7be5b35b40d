/**
 * Random bytes for IDs and names (container IDs, lease and scratch names, container names), read
 * from the kernel's /dev/urandom. node:crypto gives the same bytes, but loading it costs ~2.4 ms
 * of a command's start (measured: a script calling its randomBytes starts in 24.8 ms, one
 * reading /dev/null in 22.4), which every `run --rm` would pay only to name what it makes.
 * Digests are another matter: they come from node:crypto or the addon's hashing.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** `n` random bytes. */
export function randomBytes(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    // /dev/urandom gives what is asked up to 32 MiB a read; loop all the same
    for (let got = 0; got < n; ) {
      const r = readSync(fd, out, got, n - got, null);
      if (r === 0) throw new Error('/dev/urandom ended');
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** `n` random bytes in lowercase hex (2n characters). */
export function randomHex(n: number): string {
  return randomBytes(n).toString('hex');
}

/** A uniformly random integer in [0, max) for 0 < max <= 2^32 (rejection sampling: no modulo bias). */
export function randomInt(max: number): number {
  if (!Number.isInteger(max) || max <= 0 || max > 2 ** 32) throw new RangeError(`randomInt: max must be an integer in 1..2^32, not ${max}`);
  const limit = 2 ** 32 - (2 ** 32 % max);
  for (;;) {
    const v = randomBytes(4).readUInt32LE(0);
    if (v < limit) return v % max;
  }
}
