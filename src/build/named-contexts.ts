/**
 * `--build-context NAME=DIR|docker-image://REF` (buildx's flag, BuildKit's named contexts,
 * frontend/dockerui/namedcontext.go): a name that `FROM NAME`, `COPY --from=NAME` and
 * `RUN --mount=from=NAME` read instead of the image of that name — and a stage of that name
 * is replaced by the context altogether (dockerfile2llb: its instructions are not run).
 *
 * Names compare as BuildKit compares them: normalised as image references (`alpine`,
 * `alpine:latest` and `docker.io/library/alpine` are one name; a stage's name the same way).
 * `scratch` and `context` cannot be overridden (namedContextFunc leaves them alone).
 *
 * - `docker-image://REF`: the local image REF, with its config (as BuildKit resolves it).
 * - a directory: its files, read as the main context is (owners 0:0, its own `.dockerignore`
 *   at its root applies — namedcontext.go reads it for a `local:` context), made into one
 *   layer on nothing, with an empty image's config (BuildKit's emptyImage). That layer is what
 *   every use reads (a FROM builds on it, COPY --from and mounts view it), and it is cached by
 *   the content of what it holds like a COPY from the context.
 * Other sources buildx knows (git and https URLs, oci-layout://, target:) are refused.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Digest } from '../digest/digest.js';
import { parseDockerignore } from '../dockerfile/index.js';
import type { Plan, PlanStage } from '../dockerfile/index.js';
import type { StageSource } from '../dockerfile/steps.js';
import { InvalidArgumentError, UnsupportedError, errnoCode } from '../errors.js';
import type { LayerForImage } from '../image/commit.js';
import type { Ref } from '../metadata/refs.js';
import { layerMediaType } from '../oci/mutate.js';
import type { ImageConfig, Platform } from '../oci/types.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { cacheKey, type StepInputs } from './cache-key.js';
import { liveCacheEntry, putCacheEntry, touchCacheEntry } from './cache-records.js';
import { copyInto } from './copy.js';
import { buildLayer } from './layer.js';
import type { BuildProgress } from './progress.js';
import { contextSourcesDigest } from './source-digest.js';

/** One `--build-context`: the name as given, and what it stands for. */
export interface NamedContext {
  name: string;
  source: { dir: string } | { image: string };
}

/** What a named context gives a build: an image to start from or read, as the builder's base images are. */
export interface NamedBase {
  id: Digest;
  config: ImageConfig;
  layers: LayerForImage[];
  chainId: Digest | undefined;
}

/** A name in full (`docker.io/library/alpine:latest`): how contexts, stages and images are matched. */
function fullName(name: string): string {
  return withDefaultTag(parseNormalizedReference(name)).toString();
}

/**
 * One `--build-context` value: `NAME=docker-image://REF` or `NAME=DIR` (a directory that must
 * exist). Errors in buildx's words where it has them.
 */
export async function parseBuildContext(spec: string, cwd = process.cwd()): Promise<NamedContext> {
  const i = spec.indexOf('=');
  if (i < 0) throw new InvalidArgumentError(`invalid context value: ${spec}, expected key=value`);
  const name = spec.slice(0, i);
  const value = spec.slice(i + 1);
  try {
    parseNormalizedReference(name);
  } catch (e) {
    throw new InvalidArgumentError(`invalid context name ${name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (value.startsWith('docker-image://')) {
    const ref = value.slice('docker-image://'.length);
    try {
      parseNormalizedReference(ref);
    } catch (e) {
      throw new InvalidArgumentError(`invalid context ${name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return { name, source: { image: ref } };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(value);
  if (scheme !== null || value.startsWith('target:') || value.startsWith('git@')) {
    throw new UnsupportedError(`build context ${name}: ${JSON.stringify(value)} is not supported: cairn reads a directory or docker-image://REF`);
  }
  const dir = resolve(cwd, value);
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e;
    throw new InvalidArgumentError(`failed to get build context ${name}: stat ${value}: no such file or directory`);
  }
  if (!isDir) throw new InvalidArgumentError(`failed to get build context ${name}: ${value} is not a directory`);
  return { name, source: { dir } };
}

/** The named contexts of one build, by full name; later ones of the same name win (a map, as buildx's). */
export class NamedContexts {
  private readonly byName = new Map<string, NamedContext>();

  constructor(contexts: readonly NamedContext[]) {
    for (const c of contexts) {
      const lower = c.name.toLowerCase();
      if (lower === 'scratch' || lower === 'context') continue; // BuildKit never looks these up
      this.byName.set(fullName(c.name), c);
    }
  }

  get size(): number {
    return this.byName.size;
  }

  /** The context a name (an image reference or a stage name) stands for, if any. */
  get(name: string): NamedContext | undefined {
    if (this.byName.size === 0) return undefined;
    return this.byName.get(fullName(name));
  }

  /**
   * The plan with every stage a context names replaced by it (dockerfile2llb: the stage's
   * FROM and instructions are not used): the stage starts from the context as an image and has
   * no steps; stages only it needed are dropped, and the waves recomputed.
   */
  override(plan: Plan): Plan {
    if (this.byName.size === 0) return plan;
    const replaced = plan.stages.map((s): PlanStage => {
      if (s.name === undefined || this.get(s.name) === undefined) return s;
      return { ...s, base: { type: 'image', ref: s.name, normalized: fullName(s.name) }, steps: [], images: [s.name], dependsOn: [] };
    });
    const byIndex = new Map(replaced.map((s) => [s.index, s]));
    const needed = new Set<number>();
    const visit = (i: number): void => {
      if (needed.has(i)) return;
      needed.add(i);
      for (const d of stageDeps(byIndex.get(i)!)) visit(d);
    };
    visit(plan.target);
    const stages = replaced.filter((s) => needed.has(s.index)).map((s) => ({ ...s, dependsOn: stageDeps(s) }));
    return { ...plan, stages, groups: waves(stages) };
  }

  /**
   * The base a name resolves to through its context (undefined: none names it): the local
   * image a docker-image:// context names (`loadImage`), or a directory's files as one layer.
   */
  async base(
    store: Store,
    name: string,
    opts: { protect: (ref: Ref) => void; progress: BuildProgress; platform: Platform; loadImage: (ref: string) => Promise<NamedBase> },
  ): Promise<NamedBase | undefined> {
    const c = this.get(name);
    if (c === undefined) return undefined;
    if ('image' in c.source) return opts.loadImage(c.source.image);
    return dirBase(store, c.name, c.source.dir, opts);
  }
}

/** The earlier stages a (possibly replaced) stage reads: its base, COPY --from and mounts. */
function stageDeps(s: PlanStage): number[] {
  const deps = new Set<number>();
  const add = (src: StageSource | undefined): void => {
    if (src !== undefined && 'stage' in src) deps.add(src.stage);
  };
  if (s.base.type === 'stage') deps.add(s.base.stage);
  for (const step of s.steps) {
    if (step.instruction === 'COPY' || step.instruction === 'ADD') add(step.from);
    if (step.instruction === 'RUN') for (const m of step.mounts) add(m.fromSource);
  }
  return [...deps].sort((a, b) => a - b);
}

/** The plan's parallel waves (plan.ts assignLevels): a stage one level after its deepest dependency. */
function waves(stages: PlanStage[]): number[][] {
  const levelOf = new Map<number, number>();
  const groups: number[][] = [];
  for (const s of stages) {
    let level = 0;
    for (const dep of s.dependsOn) level = Math.max(level, (levelOf.get(dep) ?? 0) + 1);
    levelOf.set(s.index, level);
    s.level = level;
    (groups[level] ??= []).push(s.index);
  }
  return groups.filter((g) => g !== undefined);
}

/** The patterns of the `.dockerignore` at a named directory context's root (none: no file). */
async function dirDockerignore(dir: string): Promise<string[]> {
  try {
    return parseDockerignore(await readFile(`${dir}/.dockerignore`, 'utf8'));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}

/** A directory context as a base: its files as one layer (cached by their content), on an empty image's config. */
async function dirBase(store: Store, name: string, dir: string, opts: { protect: (ref: Ref) => void; progress: BuildProgress; platform: Platform }): Promise<NamedBase> {
  const v = opts.progress.start({ name: `[context ${name}] load from client` });
  try {
    const dockerignore = await dirDockerignore(dir);
    const content = await contextSourcesDigest(store.db, dir, ['.'], { dockerignore });
    v.status(`transferring ${name}: ${content.bytesRead}B done`);
    const inputs: StepInputs = {
      parent: null,
      op: { kind: 'copy', instruction: 'CONTEXT', sources: ['.'], dest: '/', exclude: [], from: { context: content.digest } },
      files: Object.fromEntries(content.files),
    };
    const key = cacheKey(inputs);
    let layer: { diffId: Digest; chainId: Digest; size: number; tarSplit: Digest } | undefined = await liveCacheEntry(store, key, opts.protect);
    if (layer !== undefined) {
      touchCacheEntry(store.db, key);
      v.cached();
    } else {
      const made = await buildLayer(store, undefined, opts.protect, async (rootfs) => {
        await copyInto({ sources: ['.'], dest: '/', workdir: '/', targetRoot: rootfs, sourceRoot: dir, fromContext: true, dockerignore });
      });
      putCacheEntry(store.db, { key, chainId: made.chainId, diffId: made.diffId, size: made.size, tarSplit: made.tarSplit, slot: `context\0${name}`, inputs: JSON.stringify(inputs) }, new Date());
      layer = made;
      v.done();
    }
    const config: ImageConfig = {
      architecture: opts.platform.architecture,
      os: opts.platform.os,
      ...(opts.platform.variant ? { variant: opts.platform.variant } : {}),
      config: { Env: [`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [],
    };
    const record: LayerForImage = { mediaType: layerMediaType('none', 'docker'), digest: layer.diffId, size: layer.size, diffId: layer.diffId, uncompressedSize: layer.size, tarSplit: layer.tarSplit };
    return { id: layer.chainId, config, layers: [record], chainId: layer.chainId };
  } catch (e) {
    v.error(e instanceof Error ? e.message : String(e));
    throw e;
  }
}

