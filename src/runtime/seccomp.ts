/**
 * The default seccomp profile: read at run time from the file Debian's containers-common
 * installs (Podman's profile, derived from Docker's) and turned into the runtime-spec's
 * `linux.seccomp`, as Docker and Podman do: only the architecture's own entries of `archMap`,
 * only the rules whose `includes`/`excludes` (capabilities of the bounding set, architectures,
 * minimum kernel) hold for this container. Nothing of the profile is kept in the project.
 */
import { readFileSync } from 'node:fs';
import { DataCorruptError, PreconditionError, errnoCode } from '../errors.js';

/** Where containers-common puts the profile on Debian (and most distributions). */
export const DEFAULT_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

interface ProfileFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface ProfileSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
  includes?: ProfileFilter;
  excludes?: ProfileFilter;
}

/** A profile file (Docker's / containers-common's format). */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: Array<{ architecture: string; subArchitectures: string[] }>;
  architectures?: string[];
  flags?: string[];
  syscalls: ProfileSyscall[];
}

/** The runtime-spec's `linux.seccomp`. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: Array<{ names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }>;
}

/** The architecture a Go arch name runs natively, as libseccomp names it. */
const NATIVE_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function fail(path: string, where: string, what: string): never {
  throw new DataCorruptError(`seccomp profile ${path}: ${where} ${what}`);
}

function obj(v: Json | undefined, path: string, where: string): { [k: string]: Json } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, where, 'is not an object');
  return v;
}

function str(v: Json | undefined, path: string, where: string): string {
  if (typeof v !== 'string') fail(path, where, 'is not a string');
  return v;
}

function int(v: Json | undefined, path: string, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(path, where, 'is not a non-negative integer');
  return v;
}

function strs(v: Json | undefined, path: string, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, where, 'is not a list');
  return v.map((s, i) => str(s, path, `${where}[${i}]`));
}

function filter(v: Json | undefined, path: string, where: string): ProfileFilter {
  if (v === undefined || v === null) return {};
  const o = obj(v, path, where);
  const f: ProfileFilter = {};
  if (o.caps !== undefined && o.caps !== null) f.caps = strs(o.caps, path, `${where}.caps`);
  if (o.arches !== undefined && o.arches !== null) f.arches = strs(o.arches, path, `${where}.arches`);
  if (o.minKernel !== undefined && o.minKernel !== null && o.minKernel !== '') f.minKernel = str(o.minKernel, path, `${where}.minKernel`);
  return f;
}

/** Check and type a parsed profile; `path` names it in errors. */
export function parseSeccompProfile(text: string, path: string): SeccompProfile {
  let raw: Json;
  try {
    raw = JSON.parse(text) as Json;
  } catch (e) {
    throw new DataCorruptError(`seccomp profile ${path} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const o = obj(raw, path, 'the document');
  const profile: SeccompProfile = { defaultAction: str(o.defaultAction, path, 'defaultAction'), syscalls: [] };
  if (o.defaultErrnoRet !== undefined && o.defaultErrnoRet !== null) profile.defaultErrnoRet = int(o.defaultErrnoRet, path, 'defaultErrnoRet');
  if (Array.isArray(o.archMap)) {
    profile.archMap = o.archMap.map((a, i) => {
      const m = obj(a, path, `archMap[${i}]`);
      return { architecture: str(m.architecture, path, `archMap[${i}].architecture`), subArchitectures: strs(m.subArchitectures, path, `archMap[${i}].subArchitectures`) };
    });
  }
  if (o.architectures !== undefined && o.architectures !== null) profile.architectures = strs(o.architectures, path, 'architectures');
  if (o.flags !== undefined && o.flags !== null) profile.flags = strs(o.flags, path, 'flags');
  const calls = o.syscalls ?? [];
  if (!Array.isArray(calls)) fail(path, 'syscalls', 'is not a list');
  profile.syscalls = calls.map((c, i) => {
    const where = `syscalls[${i}]`;
    const s = obj(c, path, where);
    const names = [...(typeof s.name === 'string' && s.name !== '' ? [s.name] : []), ...strs(s.names, path, `${where}.names`)];
    const call: ProfileSyscall = { names, action: str(s.action, path, `${where}.action`) };
    if (s.errnoRet !== undefined && s.errnoRet !== null) call.errnoRet = int(s.errnoRet, path, `${where}.errnoRet`);
    if (Array.isArray(s.args) && s.args.length > 0) {
      call.args = s.args.map((a, j) => {
        const ao = obj(a, path, `${where}.args[${j}]`);
        const arg: SeccompArg = { index: int(ao.index, path, `${where}.args[${j}].index`), value: int(ao.value, path, `${where}.args[${j}].value`), op: str(ao.op, path, `${where}.args[${j}].op`) };
        if (ao.valueTwo !== undefined && ao.valueTwo !== null && ao.valueTwo !== 0) arg.valueTwo = int(ao.valueTwo, path, `${where}.args[${j}].valueTwo`);
        return arg;
      });
    }
    call.includes = filter(s.includes, path, `${where}.includes`);
    call.excludes = filter(s.excludes, path, `${where}.excludes`);
    return call;
  });
  return profile;
}

/**
 * Read the profile at `path`. A missing file is a one-line PreconditionError saying what to
 * install or how to run without it.
 */
export function loadSeccompProfile(path: string = DEFAULT_SECCOMP_PROFILE): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new PreconditionError(`the default seccomp profile ${path} is missing: install containers-common (golang-github-containers-common on Debian), or run with --security-opt seccomp=unconfined`, { cause: e });
    }
    throw new PreconditionError(`cannot read the seccomp profile ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseSeccompProfile(text, path);
}

/** "5.10" < "6.1.2"? (Only the numbers before any suffix count.) */
function kernelAtLeast(kernel: string, min: string): boolean {
  const nums = (v: string) => v.split(/[^\d.]/)[0]!.split('.').map((n) => Number(n) || 0);
  const a = nums(kernel);
  const b = nums(min);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

export interface SeccompTarget {
  /** The container's bounding capabilities (CAP_* names). */
  capabilities: readonly string[];
  /** Go's name of the architecture (amd64, arm64, ...). */
  arch: string;
  /** The running kernel's release (os.release()), for `minKernel` filters. */
  kernel: string;
}

/**
 * Where a container's seccomp section comes from: a profile converted for its target. Two
 * kinds: {@link fromProfile} (a profile in memory, converted at each call) and
 * seccomp-memo.ts's `memoisedProfile` (a profile file, converted once per target and kept).
 */
export interface SeccompSource {
  section(target: SeccompTarget): OciSeccomp;
}

/** `profile`, converted at each call. */
export function fromProfile(profile: SeccompProfile): SeccompSource {
  return { section: (target) => seccompForSpec(profile, target) };
}

/** The runtime-spec form of `profile` for one container: what Docker's and Podman's converters produce. */
export function seccompForSpec(profile: SeccompProfile, target: SeccompTarget): OciSeccomp {
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const native = NATIVE_ARCH[target.arch];
  if (profile.archMap !== undefined && profile.archMap.length > 0) {
    const entry = profile.archMap.find((a) => a.architecture === native);
    if (entry !== undefined) out.architectures = [entry.architecture, ...entry.subArchitectures];
  } else if (profile.architectures !== undefined) {
    out.architectures = [...profile.architectures];
  }
  if (profile.flags !== undefined && profile.flags.length > 0) out.flags = [...profile.flags];
  const caps = new Set(target.capabilities);
  const holds = (f: ProfileFilter | undefined, include: boolean): boolean => {
    if (f === undefined) return true;
    if (f.caps !== undefined && f.caps.length > 0 && (include ? !f.caps.every((c) => caps.has(c)) : f.caps.some((c) => caps.has(c)))) return false;
    if (f.arches !== undefined && f.arches.length > 0 && f.arches.includes(target.arch) !== include) return false;
    if (f.minKernel !== undefined && kernelAtLeast(target.kernel, f.minKernel) !== include) return false;
    return true;
  };
  out.syscalls = profile.syscalls
    .filter((s) => s.names.length > 0 && holds(s.includes, true) && holds(s.excludes, false))
    .map((s) => ({
      names: [...s.names],
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args !== undefined ? { args: s.args.map((a) => ({ ...a })) } : {}),
    }));
  return out;
}
