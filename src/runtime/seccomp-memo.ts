/**
 * The default seccomp profile's conversions, kept: reading the profile (16 KB of JSON, some 350
 * rules), checking it and converting it for a container costs ~1.3 ms of every container start
 * here, for a result that only changes when the profile file, the container's target
 * (capabilities, architecture, kernel) or cairn's converting code does. `memoisedProfile` is a
 * SeccompSource that converts once per such inputs and keeps the section in a directory of
 * the store; later starts read it back (one small JSON file).
 *
 * An entry is named by a 64-bit FNV-1a of its inputs' description and holds that description,
 * compared whole when read (a name collision is a miss, never a wrong section). The inputs: the
 * profile file's identity (device, inode, size, modification and change times in ns), the
 * target, and the identity of the code converting it (this module's file: the bundle, or
 * dist/src/runtime/seccomp-memo.js), so a new build converts again. An entry that is not
 * whole JSON (a crash mid-write cannot leave one: written to a temporary file, then renamed)
 * is converted again. At most MAX_ENTRIES are kept; the oldest go when a new one is written.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errnoCode } from '../errors.js';
import { randomBytes } from '../random.js';
import { DEFAULT_SECCOMP_PROFILE, loadSeccompProfile, seccompForSpec, type OciSeccomp, type SeccompSource, type SeccompTarget } from './seccomp.js';
import { readTextIfPresent } from '../text-file.js';

/** How many conversions are kept (each ~10 KB): one per target and build in use. */
export const MAX_ENTRIES = 32;

interface Entry {
  inputs: string;
  section: OciSeccomp;
}

/** 64-bit FNV-1a of `text` (UTF-16 code units), as 16 hex digits: a name, not a check. */
export function fnv1a64(text: string): string {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    // (hi:lo) *= 0x100000001b3, modulo 2^64
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) >>> 0;
    lo = loMul >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** A file's identity: what changes when it is replaced or written. */
function identity(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

let code: string | undefined;
/** The identity of the code that converts (this module's own file). */
function codeIdentity(): string {
  code ??= identity(fileURLToPath(import.meta.url));
  return code;
}

/** The entry at `file` if it is one for `inputs`. */
function readEntry(file: string, inputs: string): OciSeccomp | undefined {
  const text = readTextIfPresent(file);
  if (text === undefined) return undefined;
  let entry: Partial<Entry>;
  try {
    entry = JSON.parse(text) as Partial<Entry>;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined; // not ours, or damaged: converted again
    throw e;
  }
  return entry.inputs === inputs && typeof entry.section === 'object' && entry.section !== null ? entry.section : undefined;
}

/** Keep `section` for `inputs` as `file` in `dir`; then drop the oldest entries past MAX_ENTRIES. */
function writeEntry(dir: string, file: string, inputs: string, section: OciSeccomp): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify({ inputs, section } satisfies Entry), { mode: 0o600 });
  renameSync(tmp, file);
  const entries = readdirSync(dir).filter((n) => n.endsWith('.json'));
  if (entries.length <= MAX_ENTRIES) return;
  const aged = entries.flatMap((n) => {
    try {
      return [{ n, t: statSync(join(dir, n)).mtimeMs }];
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return []; // another process dropped it meanwhile
      throw e;
    }
  });
  aged.sort((a, b) => a.t - b.t);
  for (const { n } of aged.slice(0, aged.length - MAX_ENTRIES)) rmSync(join(dir, n), { force: true });
}

/**
 * The seccomp profile at `path`, converted once per target and kept in `dir`. A missing or
 * unreadable profile fails as loadSeccompProfile does, whatever is kept.
 */
export function memoisedProfile(dir: string, path: string = DEFAULT_SECCOMP_PROFILE): SeccompSource {
  return {
    section(target: SeccompTarget): OciSeccomp {
      let profileId: string;
      try {
        profileId = identity(path);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'EACCES') loadSeccompProfile(path); // throws its one-line error
        throw e;
      }
      const inputs = JSON.stringify({
        code: codeIdentity(),
        profile: [path, profileId],
        capabilities: [...target.capabilities].sort(),
        arch: target.arch,
        kernel: target.kernel,
      });
      const file = join(dir, `${fnv1a64(inputs)}.json`);
      const kept = readEntry(file, inputs);
      if (kept !== undefined) return kept;
      const section = seccompForSpec(loadSeccompProfile(path), target);
      writeEntry(dir, file, inputs, section);
      return section;
    },
  };
}
