/**
 * Platforms: os/architecture[/variant] as OCI and Docker name them. Owns parsing the
 * `--platform` string form, normalising the aliases other tools use (x86_64, aarch64, armhf,
 * ...) the way containerd does, mapping Node's process.arch to OCI names, and matching a wanted
 * platform against an index entry's.
 */
import { endianness } from 'node:os';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import { isManifestType } from './mediatypes.js';
import type { Descriptor, ImageIndex, Platform } from './types.js';

/** `os/arch` or `os/arch/variant`. */
export function platformString(p: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'dragonfly', 'solaris', 'illumos', 'aix', 'android', 'ios', 'plan9', 'js', 'wasip1']);

/**
 * Normalise architecture aliases and default variants as containerd does: x86_64 → amd64,
 * aarch64 → arm64 (variant v8 is the default and dropped), armhf → arm/v7, armel → arm/v6,
 * arm without a variant → arm/v7, i386 → 386; macos → darwin. Lower-cases everything.
 */
export function normalizePlatform(p: Platform): Platform {
  let os = p.os.toLowerCase();
  if (os === 'macos') os = 'darwin';
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
    case '386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
    default:
      break;
  }
  const out: Platform = { ...p, architecture: arch, os };
  if (variant) out.variant = variant;
  else delete out.variant;
  return out;
}

const COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;

/**
 * Parse `os[/arch[/variant]]` (Docker's --platform form), normalised. A single component is an
 * OS when it names one (the architecture is then the host's), otherwise an architecture on the
 * host OS, as containerd reads it.
 */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length > 3 || parts.some((c) => !COMPONENT_RE.test(c))) {
    throw new InvalidArgumentError(`invalid platform ${JSON.stringify(s)}: expected os/arch or os/arch/variant`);
  }
  let p: Platform;
  if (parts.length === 1) {
    const host = hostPlatform();
    const one = parts[0]!.toLowerCase();
    p = KNOWN_OS.has(one) || one === 'macos' ? { ...host, os: one } : { os: host.os, architecture: one };
  } else {
    p = { os: parts[0]!, architecture: parts[1]! };
    if (parts[2] !== undefined) p.variant = parts[2];
  }
  return normalizePlatform(p);
}

/** containerd's known operating systems and architectures (platforms/database.go), for a one-component specifier. */
const CONTAINERD_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'windows', 'zos']);
const CONTAINERD_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'ppc64', 'ppc64le', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);
const CONTAINERD_COMPONENT = /^[A-Za-z0-9_-]+$/;

/**
 * A `--platform` value as Docker 20.10 reads it (containerd 1.6's platforms.Parse, in its CLI
 * for run/create and in its daemon for pull/import), normalised; what it refuses in
 * containerd's words, each an InvalidArgumentError: `"bogus": unknown operating system or
 * architecture: invalid argument`, `"" is an invalid component of "linux//amd64": platform
 * specifier component must match "^[A-Za-z0-9_-]+$": invalid argument`, `"a/b/c/d": cannot
 * parse platform specifier: invalid argument`, wildcards.
 */
export function parsePlatformSpecifier(s: string): Platform {
  const q = (x: string): string => JSON.stringify(x);
  if (s.includes('*')) throw new InvalidArgumentError(`${q(s)}: wildcards not yet supported: invalid argument`);
  const parts = s.split('/');
  for (const part of parts) {
    if (!CONTAINERD_COMPONENT.test(part)) {
      throw new InvalidArgumentError(`${q(part)} is an invalid component of ${q(s)}: platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument`);
    }
  }
  if (parts.length > 3) throw new InvalidArgumentError(`${q(s)}: cannot parse platform specifier: invalid argument`);
  if (parts.length === 1) {
    const one = parts[0]!.toLowerCase();
    if (!CONTAINERD_OS.has(one === 'macos' ? 'darwin' : one) && !CONTAINERD_ARCH.has(normalizePlatform({ os: 'linux', architecture: one }).architecture)) {
      throw new InvalidArgumentError(`${q(s)}: unknown operating system or architecture: invalid argument`);
    }
  }
  return parsePlatform(s);
}

/**
 * Map Node's process.platform/process.arch (plus endianness and, for 32-bit ARM, the build's
 * arm_version) to the OCI platform. Pure; hostPlatform() feeds it the running process's values.
 */
export function platformFromNode(nodePlatform: string, nodeArch: string, endian: 'LE' | 'BE' = 'LE', armVersion?: string): Platform {
  const osMap: Record<string, string> = { linux: 'linux', win32: 'windows', darwin: 'darwin', freebsd: 'freebsd', openbsd: 'openbsd', netbsd: 'netbsd', sunos: 'solaris', aix: 'aix', android: 'android' };
  const os = osMap[nodePlatform];
  if (os === undefined) throw new UnsupportedError(`unsupported host OS ${JSON.stringify(nodePlatform)}`);
  switch (nodeArch) {
    case 'x64':
      return { os, architecture: 'amd64' };
    case 'arm64':
      return { os, architecture: 'arm64' };
    case 'arm':
      return { os, architecture: 'arm', variant: armVersion && /^[5-8]$/.test(armVersion) ? `v${armVersion}` : 'v7' };
    case 'ia32':
      return { os, architecture: '386' };
    case 'ppc64':
      return { os, architecture: endian === 'LE' ? 'ppc64le' : 'ppc64' };
    case 's390x':
      return { os, architecture: 's390x' };
    case 'riscv64':
      return { os, architecture: 'riscv64' };
    case 'loong64':
      return { os, architecture: 'loong64' };
    case 'mips':
      return { os, architecture: 'mips' };
    case 'mipsel':
      return { os, architecture: 'mipsle' };
    default:
      throw new UnsupportedError(`unsupported host architecture ${JSON.stringify(nodeArch)}`);
  }
}

/** The platform of the running process. */
export function hostPlatform(): Platform {
  const vars = process.config.variables as unknown as Record<string, unknown>;
  const armVersion = vars['arm_version'];
  return platformFromNode(process.platform, process.arch, endianness(), typeof armVersion === 'string' ? armVersion : undefined);
}

/**
 * Does an index entry's platform `have` satisfy the wanted platform `want`? OS and architecture
 * must be equal after normalisation. A `want` given without a variant accepts any variant
 * (choosing among several is the caller's business); with a variant, the normalised variants
 * must be equal (so arm64 and arm64/v8 match). os.version and features are not compared.
 */
export function matchPlatform(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  if (!want.variant) return true;
  return (w.variant ?? '') === (h.variant ?? '');
}

/**
 * The manifest an index offers for `want`: the first image manifest whose platform matches,
 * or that names no platform (single-platform indexes written by save tools). Undefined when
 * none does.
 */
export function selectManifest(index: ImageIndex, want: Platform): Descriptor | undefined {
  return index.manifests.find((m) => isManifestType(m.mediaType) && (!m.platform || matchPlatform(want, m.platform)));
}

/**
 * Whether an image's layers are unpacked into snapshots on this (Linux) host: an image whose
 * config names another operating system (Windows) has its layers stored and verified as blobs
 * only, and cannot be mounted or run. A config without an OS is taken as Linux's.
 */
export function unpacksHere(config: { os?: string }): boolean {
  return (config.os || 'linux') === 'linux';
}
