/**
 * Build-arg scoping outside the stages: the automatic platform ARGs, the global ARGs before
 * the first FROM (defaults expanded in order, `--build-arg` overrides), the predefined proxy
 * ARGs, and which build args no ARG consumed.
 */
import { InvalidArgumentError, isCairnError } from '../errors.js';
import { hostPlatform, parsePlatform, platformString } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';
import type { EnvGetter } from './ast.js';
import { withLocation, type SourceFile } from './errors.js';
import type { ArgInstruction } from './instructions.js';
import type { Lexer } from './shell.js';

/** BuildKit's proxy args: usable without an ARG, passed to RUN, kept out of the image. */
const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** The automatic platform ARGs (BuildKit's defaultArgs). */
const PLATFORM_ARGS = [
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDOSVERSION',
  'BUILDARCH',
  'BUILDVARIANT',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETOSVERSION',
  'TARGETARCH',
  'TARGETVARIANT',
  'TARGETSTAGE',
];

/** Args BuildKit reads without adding them to the environment. */
export const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

/** EnvGetter over a Map, keeping insertion order like llb.EnvList. */
export function mapGetter(m: Map<string, string>): EnvGetter {
  return { get: (k) => m.get(k), keys: () => [...m.keys()] };
}

/** A platform option: parsed when given as text, the host's when absent. */
function toPlatform(p: string | Platform | undefined): Platform {
  if (p === undefined) return hostPlatform();
  return typeof p === 'string' ? parsePlatform(p) : p;
}

/** Global ARG values and declarations (BuildKit's buildMetaArgs). */
export interface MetaArgs {
  /** Platform defaults, then the global ARGs, in declaration order. */
  env: Map<string, string>;
  declared: Map<string, { value?: string; line: number }>;
}

/** The target and build platforms: as given, else the host's. */
export function resolvePlatforms(platform: string | Platform | undefined, buildPlatform: string | Platform | undefined): { build: Platform; target: Platform } {
  try {
    return { target: toPlatform(platform), build: toPlatform(buildPlatform) };
  } catch (err) {
    if (!isCairnError(err)) throw err;
    throw new InvalidArgumentError(`invalid platform: ${err.message}`, { cause: err });
  }
}

/** The automatic platform ARGs (BuildKit's defaultArgs), overridable by build args. */
export function platformArgs(p: { build: Platform; target: Platform }, targetStageName: string, buildArgs: Record<string, string>): Map<string, string> {
  const { build, target } = p;
  const defaults = new Map<string, string>([
    ['BUILDPLATFORM', platformString(build)],
    ['BUILDOS', build.os],
    ['BUILDOSVERSION', build['os.version'] ?? ''],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', platformString(target)],
    ['TARGETOS', target.os],
    ['TARGETOSVERSION', target['os.version'] ?? ''],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['TARGETSTAGE', targetStageName],
  ]);
  for (const k of defaults.keys()) {
    const v = buildArgs[k];
    if (v !== undefined) defaults.set(k, v);
  }
  return defaults;
}

/** The global ARGs in order: a build arg overrides, else the default expands over what came before. */
export function expandMetaArgs(src: SourceFile, lexer: Lexer, metaArgs: ArgInstruction[], defaults: Map<string, string>, overrides: Record<string, string> | undefined): MetaArgs {
  const env = new Map(defaults);
  const declared = new Map<string, { value?: string; line: number }>();
  for (const cmd of metaArgs) {
    for (const a of cmd.args) {
      let value: string | undefined = overrides?.[a.key];
      if (value === undefined && a.value !== undefined) {
        const word = a.value;
        value = withLocation(src, [cmd.lines], () => lexer.processWordWithMatches(word, mapGetter(env)).result);
      }
      if (value !== undefined) {
        env.delete(a.key);
        env.set(a.key, value);
      }
      declared.set(a.key, value === undefined ? { line: cmd.lines.start } : { value, line: cmd.lines.start });
    }
  }
  return { env, declared };
}

/** Proxy settings from the build args, passed to RUN without being declared or stored. */
export function proxyEnv(buildArgs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(buildArgs)) if (PROXY_ARGS.includes(k) || PROXY_ARGS.includes(k.toUpperCase())) out[k] = v;
  return out;
}

/** Build args that no ARG consumed and BuildKit does not read itself. */
export function unusedBuildArgs(buildArgs: Record<string, string>, usedArgs: Set<string>): string[] {
  return Object.keys(buildArgs)
    .filter((k) => !usedArgs.has(k) && !PROXY_ARGS.includes(k) && !PLATFORM_ARGS.includes(k) && !k.startsWith('BUILDKIT_') && !NON_ENV_ARGS.has(k))
    .sort();
}
