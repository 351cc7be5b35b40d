/**
 * Volume names as Docker's local driver has them: the rule a name must follow (with Docker's
 * error words), the random 64-hex name of a volume created without one, and the order
 * `docker volume ls` lists names in (natural order: digit runs compared as numbers).
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { goQuote } from '../template/fmt.js';

/** Docker's names.RestrictedNameChars, as its error message quotes it. */
export const VOLUME_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** A directory entry's name, at most (the volume's directory is named after it). */
const NAME_MAX = 255;

/**
 * Why `name` cannot name a local volume, in Docker's words (without its "create NAME: "
 * prefix), or undefined when it can. `where` is the volume's directory, named in the error for
 * a name too long to be one.
 */
export function volumeNameProblem(name: string, where: string): string | undefined {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  if (!VOLUME_NAME.test(name)) {
    return `${goQuote(name)} includes invalid characters for a local volume name, only ${goQuote(VOLUME_NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`;
  }
  if (Buffer.byteLength(name) > NAME_MAX) return `error while creating volume root path '${where}': mkdir ${where}: file name too long`;
  return undefined;
}

/** Throw Docker's error for a name no local volume can have (`create NAME: ...`). */
export function validateVolumeName(name: string, where: string): void {
  const problem = volumeNameProblem(name, where);
  if (problem !== undefined) throw new InvalidArgumentError(`create ${name}: ${problem}`);
}

/** A name for a volume created without one: 64 random hex digits, as Docker's stringid. */
export function randomVolumeName(): string {
  return randomBytes(32).toString('hex');
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/**
 * sortorder.NaturalLess, which Docker's CLI sorts `volume ls` with: runs of digits compare as
 * numbers (leading zeros ignored, fewer zeros first on a tie), digits before other characters,
 * the rest byte by byte.
 */
export function naturalCompare(a: string, b: string): number {
  const s1 = Buffer.from(a);
  const s2 = Buffer.from(b);
  let i = 0;
  let j = 0;
  while (i < s1.length && j < s2.length) {
    const c1 = s1[i]!;
    const c2 = s2[j]!;
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1 ? -1 : 1;
    if (!d1) {
      if (c1 !== c2) return c1 - c2;
      i++;
      j++;
      continue;
    }
    while (i < s1.length && s1[i] === 0x30) i++;
    while (j < s2.length && s2[j] === 0x30) j++;
    const nz1 = i;
    const nz2 = j;
    while (i < s1.length && isDigit(s1[i]!)) i++;
    while (j < s2.length && isDigit(s2[j]!)) j++;
    if (i - nz1 !== j - nz2) return i - nz1 - (j - nz2);
    const cmp = Buffer.compare(s1.subarray(nz1, i), s2.subarray(nz2, j));
    if (cmp !== 0) return cmp;
    if (nz1 !== nz2) return nz1 - nz2;
  }
  // Equal so far: the shorter string (of the two whole strings) first.
  return s1.length - s2.length;
}
