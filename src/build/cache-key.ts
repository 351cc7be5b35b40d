/**
 * A build step's cache key, and why a step missed the cache. Pure.
 *
 * The key is the digest of the step's inputs: the layer it stands on (its chainID: content,
 * not history, so the same parent reached by another way hits too), and the step resolved —
 * RUN: its argv (a heredoc's body is in it, or is the inline script mounted beside it), environment
 * (ENV and the ARGs in scope), working directory, user, network and mounts; COPY/ADD: sources, the
 * heredoc sources' names and content, destination, flags, and where the sources come from — the content
 * digest of what they name in the context (source-digest.ts), or the chainID of the stage or
 * image they are read from; WORKDIR: the directory, its mode and owner. Never a time.
 *
 * Explaining a miss compares the inputs with those of the closest cached result of the same
 * step (the last one recorded in its slot) and names the first that differs: the parent layer,
 * a file, a build argument or environment variable, the command, an argument.
 */
import { type Digest, digestOf } from '../digest/digest.js';
import { canonicalJson } from '../oci/json.js';

export type StepOp =
  | {
      kind: 'run';
      argv: string[];
      env: string[];
      cwd: string;
      user: string;
      network: string;
      mounts: unknown[];
      /** A shebang heredoc's script, mounted at /dev/pipes (heredoc.ts): its body is not in argv. */
      inline?: Array<{ name: string; data: string; mode: number }>;
    }
  | {
      kind: 'copy';
      instruction: string;
      sources: string[];
      dest: string;
      chown?: string;
      chmod?: string;
      parents?: boolean;
      /** COPY --link: made on nothing (the key's parent is then null). */
      link?: boolean;
      exclude: string[];
      /** Heredoc sources (`COPY <<EOF /dest`): each file's name and content, after expansion. */
      heredocs?: Array<{ path: string; data: string }>;
      /** `context` with the content digest, or the chainID of the root the sources are read from. */
      from: { context: Digest } | { chainId: Digest | null };
      /** ADD --checksum: what a URL's content must be. */
      checksum?: string;
    }
  | { kind: 'mkdir'; path: string; mode: number; user: string };

export interface StepInputs {
  /** The chainID of the layer the step stands on (null: none). */
  parent: Digest | null;
  op: StepOp;
  /** A COPY from the context: each file's content digest (not part of the key: the op holds their digest). */
  files?: Record<string, Digest>;
  /** SOURCE_DATE_EPOCH, when the layer's times are clamped to it (another layer than without). */
  epoch?: number;
  /** The result depends on something the key cannot hold (an ADD of a URL without --checksum): never taken from the cache. */
  volatile?: boolean;
}

/** The cache key of a step with these inputs. */
export function cacheKey(inputs: StepInputs): Digest {
  return digestOf(canonicalJson({ v: 1, parent: inputs.parent, op: inputs.op, ...(inputs.epoch !== undefined ? { epoch: inputs.epoch } : {}) }));
}

/** Why a step with inputs `now` missed, against the closest earlier inputs (`before`: none recorded). */
export function explainMiss(before: StepInputs | undefined, now: StepInputs): string {
  if (before === undefined) return 'no earlier result of this step is cached';
  if (before.epoch !== now.epoch) return `SOURCE_DATE_EPOCH changed (${before.epoch ?? 'unset'} -> ${now.epoch ?? 'unset'})`;
  if (before.parent !== now.parent) return `the layer below changed (${short(before.parent)} -> ${short(now.parent)})`;
  const a = before.op;
  const b = now.op;
  if (a.kind !== b.kind) return 'the instruction changed';
  if (a.kind === 'run' && b.kind === 'run') {
    if (a.argv.join('\0') !== b.argv.join('\0')) return 'the command changed';
    const env = firstEnvChange(a.env, b.env);
    if (env !== undefined) return env;
    if (a.cwd !== b.cwd) return `the working directory changed (${a.cwd} -> ${b.cwd})`;
    if (a.user !== b.user) return `the user changed (${a.user || 'root'} -> ${b.user || 'root'})`;
    if (a.network !== b.network) return `the network changed (${a.network} -> ${b.network})`;
    if (JSON.stringify(a.inline ?? []) !== JSON.stringify(b.inline ?? [])) return 'the heredoc script changed';
    return 'the mounts changed';
  }
  if (a.kind === 'copy' && b.kind === 'copy') {
    if (JSON.stringify(a.heredocs ?? []) !== JSON.stringify(b.heredocs ?? [])) return 'the content of a heredoc source changed';
    if (JSON.stringify({ ...a, from: null }) !== JSON.stringify({ ...b, from: null })) return 'the instruction\'s sources, destination or flags changed';
    if ('context' in a.from && 'context' in b.from) return firstFileChange(before.files ?? {}, now.files ?? {}) ?? 'the content of the sources changed';
    if ('chainId' in a.from && 'chainId' in b.from) return `the stage or image copied from changed (${short(a.from.chainId)} -> ${short(b.from.chainId)})`;
    return 'where the sources come from changed';
  }
  return 'the instruction changed';
}

function short(d: Digest | null): string {
  return d === null ? 'none' : d.slice(0, 19);
}

/** The first environment variable (ENV or ARG) that is new, gone or different. */
function firstEnvChange(before: string[], now: string[]): string | undefined {
  const split = (kv: string): [string, string] => {
    const i = kv.indexOf('=');
    return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
  };
  const a = new Map(before.map(split));
  const b = new Map(now.map(split));
  for (const [k, v] of b) {
    if (!a.has(k)) return `build argument or environment variable ${k} is new (${JSON.stringify(v)})`;
    if (a.get(k) !== v) return `build argument or environment variable ${k} changed (${JSON.stringify(a.get(k))} -> ${JSON.stringify(v)})`;
  }
  for (const k of a.keys()) if (!b.has(k)) return `build argument or environment variable ${k} is gone`;
  if (before.join('\0') !== now.join('\0')) return 'the order of the environment changed';
  return undefined;
}

/** The first file (in path order) that changed, was added or was removed. */
function firstFileChange(before: Record<string, Digest>, now: Record<string, Digest>): string | undefined {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  for (const p of paths) {
    if (!(p in before)) return `file ${p} was added`;
    if (!(p in now)) return `file ${p} was removed`;
    if (before[p] !== now[p]) return `file ${p} changed`;
  }
  return undefined;
}
