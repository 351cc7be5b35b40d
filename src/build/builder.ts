/**
 * `cairn build`: a Dockerfile's plan (dockerfile/plan.ts) executed into an image. Each stage
 * starts from scratch, a local image or an earlier stage; each step either changes only the
 * config and history (image-config.ts, as BuildKit does it) or makes one layer — RUN in a real
 * container (run-container.ts), COPY/ADD written straight into the step's snapshot (copy.ts),
 * WORKDIR's directory — on a writable snapshot of the previous step, captured as a committed
 * layer stored once (layer.ts). Stages of one plan level run at once. The image is recorded
 * by the one image-recording path (image/commit.ts storeImages), visible only when complete,
 * with its tags; everything made meanwhile is leased, so a failed build leaves nothing the
 * collector does not remove.
 */
import { type Digest } from '../digest/digest.js';
import { CairnError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { storeImages, storedLayers, type LayerForImage } from '../image/commit.js';
import { removeImage, tagImage } from '../image/tags.js';
import { squashImage } from '../transfer/squash.js';
import { readConfig, readManifest, requireUnpacked } from '../image/config.js';
import { tryResolveImage } from '../image/resolve.js';
import { getImage, imageLayers } from '../metadata/records.js';
import { blobRef, layerRef, type Ref } from '../metadata/refs.js';
import { canonicalJson } from '../oci/json.js';
import { buildManifest, configMediaType, layerMediaType } from '../oci/mutate.js';
import { parsePlatform } from '../oci/platform.js';
import type { ImageConfig } from '../oci/types.js';
import { parseNormalizedReference, withDefaultTag } from '../reference/reference.js';
import type { Store } from '../store/store.js';
import { planDockerfile, type Plan, type PlanStage, type Step } from '../dockerfile/index.js';
import type { CopyStep, RunStep, StageSource } from '../dockerfile/steps.js';
import { resolveInRoot } from '../runtime/rootpath.js';
import { resolveUser } from '../runtime/user.js';
import { chown, mkdir } from 'node:fs/promises';
import { buildLayer, placeLayer, withChainView } from './layer.js';
import { failureBox, type BuildProgress, type VertexHandle } from './progress.js';
import { runInRootfs } from './run-container.js';
import { withRunMounts } from './run-mounts.js';
import type { SecretSource } from './secrets.js';
import { applyStep, finishImage, goTime, initialImage, recordLayer, type CopyAction, type ImageState, type RunAction, type StepAction } from './image-config.js';
import { copyInto, type CopyIntoOptions } from './copy.js';
import { addInto } from './add.js';
import { CopySourceNotFoundError } from './copy-source.js';
import { cacheKey, explainMiss, type StepInputs } from './cache-key.js';
import { lastOfSlot, liveCacheEntry, putCacheEntry, touchCacheEntry, type CacheEntry } from './cache-records.js';
import { contextSourcesDigest } from './source-digest.js';
import { cacheStoreFor } from './cache-stores.js';
import { exportCache, ImportedCache, type CacheExportSpec, type CacheImportSpec, type ExportEntry } from './cache-transfer.js';
import { chainIds } from '../oci/chainid.js';
import { BaseImageError, ensureBaseImage } from './base-pull.js';
import { INLINE_DIR, copyInlineFiles, prepareStep, withInlineFiles, type InlineFile } from './heredoc.js';
import { NamedContexts, type NamedContext } from './named-contexts.js';
import { exportBuild, type BuildOutput } from './outputs.js';
import { checkBasePlatforms, checkRunnable } from './platform.js';

export interface BuildOptions {
  /** The build context: a directory on this host, read in place. */
  contextDir: string;
  /** The Dockerfile's text and the name messages use for it. */
  dockerfile: { text: string; name: string };
  /** The patterns of the .dockerignore that applies (none: read everything COPY names). */
  dockerignore?: string[];
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  /** `--label`: added to the image's labels at the end. */
  labels?: Record<string, string>;
  /** RUN's network when a step names none: `default` is the host's (cairn has no bridge). */
  network?: 'default' | 'none' | 'host';
  /** `--secret`s: what RUN --mount=type=secret can mount (secrets.ts parseSecretSpec). */
  secrets?: SecretSource[];
  progress: BuildProgress;
  /** `--no-cache`: every step runs (its result is still cached for later builds). */
  noCache?: boolean;
  /** `--no-cache-filter`: the stages (names or indexes) whose steps run whatever the cache holds. */
  noCacheFilter?: string[];
  /** `--explain-cache`: say, for each step that ran, what differed from its closest cached result. */
  explainCache?: boolean;
  /**
   * SOURCE_DATE_EPOCH (seconds): the image's and its new history entries' time, and no time in
   * a new layer's tar later than it — the same input gives the same image wherever and whenever
   * it is built.
   */
  sourceDateEpoch?: number;
  /** `--cache-to`: where this build's cache goes (cache-transfer.ts). */
  cacheTo?: CacheExportSpec[];
  /** `--cache-from`: caches a step not cached here is looked up in. */
  cacheFrom?: CacheImportSpec[];
  /** `--squash`: the layers the build added merged into one (as Podman's and Buildah's). */
  squash?: boolean;
  /** `--pull`: ask the registry for every base image, even one the store has (base-pull.ts). */
  pull?: boolean;
  /** `--build-context`s: names FROM, COPY --from and RUN --mount from= read instead of a stage or image (named-contexts.ts). */
  namedContexts?: NamedContext[];
  /** `--platform`: the target platform (`linux/arm64`); only the host's can RUN (platform.ts). Default: the host's. */
  platform?: string;
  /** `--output` other than the image store: the result exported, no image recorded, no tag (outputs.ts). */
  output?: BuildOutput;
}

export interface BuildResult {
  /** The image's ID (its config's digest); with `output`, the ID the image would have (it is not stored). */
  imageId: Digest;
  /** The tags given, familiar form (`app:latest`); none when the result was exported. */
  tags: string[];
  /** The output type the result was exported as, when it was not stored. */
  exported?: BuildOutput['type'];
}

/** A build failed in a step: the message names the step, where it is in the Dockerfile, and why. */
export class BuildStepError extends CairnError {
  /** BuildKit's box for the failed vertex. */
  readonly box: string;
  constructor(message: string, box: string) {
    super('internal', message, { exitCode: 1 });
    this.name = 'BuildStepError';
    this.box = box;
  }
}

/** What a finished stage is: its image state and the layers under it. */
interface StageResult {
  image: ImageState;
  layers: LayerForImage[];
  chainId: Digest | undefined;
}

/** A RUN that re-adds at least this many bytes unchanged is warned about. */
export const DUPLICATE_WARNING_BYTES = 1_000_000;

/** The one line said when a step's layer holds files the layers below hold already (point 6 of issue 12). */
export function duplicateWarning(step: string, d: { files: number; bytes: number }): string {
  const mb = (d.bytes / 1e6).toFixed(1);
  return `WARNING: ${step} adds ${mb} MB again (${d.files} file${d.files === 1 ? '' : 's'} unchanged from the layers below, only their owner, mode or times changed): set them as the files are added, with COPY --chown/--chmod`;
}

/** A base image from the store: its config and layers as an image to build on. */
interface BaseImage {
  id: Digest;
  config: ImageConfig;
  layers: LayerForImage[];
  chainId: Digest | undefined;
}

/** Build the Dockerfile in `opts` (see the module comment). */
export async function build(store: Store, opts: BuildOptions): Promise<BuildResult> {
  const tags = (opts.tags ?? []).map((t) => {
    const ref = withDefaultTag(parseNormalizedReference(t));
    if (ref.digest) throw new InvalidArgumentError(`invalid argument ${JSON.stringify(t)} for "-t, --tag" flag: a tag cannot hold a digest`);
    return ref;
  });
  const progress = opts.progress;
  const def = progress.start({ name: `[internal] load build definition from ${opts.dockerfile.name}` });
  def.status(`transferring dockerfile: ${Buffer.byteLength(opts.dockerfile.text)}B done`);
  def.done();
  const ignore = progress.start({ name: '[internal] load .dockerignore' });
  ignore.status(`transferring context: ${Buffer.byteLength((opts.dockerignore ?? []).join('\n')) + 2}B done`);
  ignore.done();

  const planOpts = {
    text: opts.dockerfile.text,
    file: opts.dockerfile.name,
    buildArgs: opts.buildArgs ?? {},
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.platform !== undefined ? { platform: opts.platform } : {}),
  };
  const named = new NamedContexts(opts.namedContexts ?? []);
  const first = named.override(planDockerfile(planOpts));
  checkRunnable(first);
  const bases = new Bases();
  // Leased from here: a directory context becomes a layer before the plan is final.
  const lease = store.lease();
  try {
    const platform = parsePlatform(first.platforms.target);
    const loadBases = async (p: Plan): Promise<void> => {
      for (const ref of new Set(p.stages.flatMap((s) => s.images).map(normalizedName))) {
        if (bases.find(ref) !== undefined) continue;
        const name = `[internal] load metadata for ${ref}`;
        const v = progress.start({ name });
        try {
          const fromNamed = await named.base(store, ref, { protect: lease.protect, progress, platform, loadImage: (r) => baseImage(store, r, lease.protect) });
          if (fromNamed !== undefined) bases.set(ref, fromNamed);
          else {
            await ensureBaseImage(store, ref, { pull: opts.pull === true, vertex: v, vertexName: name });
            bases.set(ref, await baseImage(store, ref, lease.protect));
          }
        } catch (e) {
          v.error(e instanceof BaseImageError ? e.detail : (e as Error).message);
          throw e;
        }
        v.done();
      }
    };
    await loadBases(first);
    // A base image's ONBUILD triggers run first in the stage built on it (planned there, as
    // BuildKit); a stage a named context replaces is planned as written too (its base never loaded).
    const replan = (): Plan =>
      named.override(planDockerfile({ ...planOpts, imageEnv: (ref) => bases.find(ref)?.config.config?.Env, imageTriggers: (ref) => bases.find(ref)?.config.config?.OnBuild ?? undefined }));
    let plan = replan();
    if (plan.stages.some((s) => s.images.some((i) => bases.find(i) === undefined))) {
      // The triggers named further images (COPY --from=IMAGE).
      await loadBases(plan);
      plan = replan();
    }
    checkBasePlatforms(plan, opts.platform !== undefined, (ref) => bases.get(ref).config);

    const results = new Map<number, StageResult>();
    const ctx: BuildContextState = { loaded: false, imported: await importCaches(store, opts), results: new Map() };
    const multi = first.stages.length > 1 || plan.stages.some((s) => s.index > 0);
    for (const group of plan.groups) {
      await Promise.all(group.map(async (index) => {
        const stage = plan.stages.find((s) => s.index === index)!;
        results.set(index, await runStage(store, opts, plan, stage, multi, bases, results, lease.protect, ctx));
      }));
    }
    const final = results.get(plan.target)!;
    const built = finishImage(final.image, {
      labels: opts.labels ?? {},
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
      ...(opts.platform !== undefined ? { platform: parsePlatform(plan.platforms.target) } : {}),
    });
    const raw = canonicalJson(built);
    const config = JSON.parse(raw.toString('utf8')) as ImageConfig;
    const manifest = buildManifest('docker', { raw, mediaType: configMediaType('docker') }, final.layers);
    if (opts.output !== undefined) {
      const image = { configRaw: raw, config, manifestRaw: manifest.raw, manifest: manifest.manifest, manifestMediaType: manifest.manifest.mediaType!, layers: final.layers, chainId: final.chainId };
      await exportBuild(store, opts.output, image, lease.protect, progress);
      await exportCaches(store, opts, ctx, final.layers);
      return { imageId: manifest.manifest.config.digest, tags: [], exported: opts.output.type };
    }
    const exporting = progress.start({ name: 'exporting to image' });
    exporting.status('exporting layers done');
    const [stored] = await storeImages(
      store,
      [{ manifestRaw: manifest.raw, manifestMediaType: manifest.manifest.mediaType!, configRaw: raw, configMediaType: configMediaType('docker'), config, layers: final.layers, ...(opts.squash ? {} : { tags: tags.map((t) => t.toString()) }) }],
      lease.protect,
    );
    let id = stored!.id;
    if (opts.squash) id = await squashNewLayers(store, id, baseLayerCount(plan, plan.target, bases), tags.map((t) => t.toString()));
    exporting.status(`writing image ${id} done`);
    for (const t of tags) exporting.status(`naming to ${t.toString()} done`);
    exporting.done();
    await exportCaches(store, opts, ctx, final.layers);
    return { imageId: id, tags: tags.map((t) => t.familiarString()) };
  } finally {
    lease.release();
  }
}

/** How many layers the stage's first base (an image, or scratch: none) brings. */
function baseLayerCount(plan: Plan, index: number, bases: Bases): number {
  const stage = plan.stages.find((s) => s.index === index)!;
  if (stage.base.type === 'scratch') return 0;
  if (stage.base.type === 'stage') return baseLayerCount(plan, stage.base.stage, bases);
  return bases.get(stage.base.normalized).layers.length;
}

/**
 * `--squash` (as Podman's and Buildah's): the layers the build added above its base image
 * merged into one (transfer/squash.ts), the tags given to the squashed image, and the image
 * with the separate layers removed (its layers stay in the build cache).
 */
async function squashNewLayers(store: Store, id: Digest, baseLayers: number, tags: string[]): Promise<Digest> {
  const squashed = (await squashImage(store, id, { from: baseLayers, ...(tags[0] !== undefined ? { tag: tags[0] } : {}) })).id;
  for (const t of tags.slice(1)) tagImage(store, squashed, t);
  if (squashed !== id) await removeImage(store, id);
  return squashed;
}

/** `--cache-from`: each cache's document read before the steps; one that cannot be is empty, with a warning (cache-transfer.ts). */
async function importCaches(store: Store, opts: BuildOptions): Promise<ImportedCache[]> {
  const out: ImportedCache[] = [];
  for (const spec of opts.cacheFrom ?? []) {
    const cache = cacheStoreFor(store, spec);
    const v = opts.progress.start({ name: `importing cache manifest from ${cache.name}` });
    const imported = await ImportedCache.open(cache);
    if (imported.warning !== undefined) v.status(`WARNING: ${imported.warning}`);
    v.done();
    out.push(imported);
  }
  return out;
}

/** `--cache-to`: mode=min the layers of the image built, mode=max every step's (cache-transfer.ts). A failure is one line, after the image is stored. */
async function exportCaches(store: Store, opts: BuildOptions, ctx: BuildContextState, layers: readonly LayerForImage[]): Promise<void> {
  const inImage = new Set(chainIds(layers.map((l) => l.diffId)));
  for (const spec of opts.cacheTo ?? []) {
    const cache = cacheStoreFor(store, spec);
    const v = opts.progress.start({ name: 'exporting cache' });
    const entries = [...ctx.results.values()].filter((e) => spec.mode === 'max' || inImage.has(e.chainId));
    let stats;
    try {
      stats = await exportCache(store, cache, entries);
    } catch (e) {
      if (!(e instanceof CairnError)) throw e;
      const line = `exporting cache to ${cache.name}: ${e.message.split('\n')[0]}`;
      v.error(line);
      throw new CairnError(e.code, line, { cause: e });
    }
    v.status(`${stats.written} layer blobs written, ${stats.kept} already there`);
    v.status(`writing ${entries.length} cache entries to ${cache.name} done`);
    v.done();
  }
}

/** An image name in full (`docker.io/library/busybox:latest`), as BuildKit names base images. */
function normalizedName(ref: string): string {
  return withDefaultTag(parseNormalizedReference(ref)).toString();
}

/** The base images a build uses, by any name that normalises to theirs. */
class Bases {
  private readonly byName = new Map<string, BaseImage>();
  set(name: string, image: BaseImage): void {
    this.byName.set(normalizedName(name), image);
  }
  find(name: string): BaseImage | undefined {
    return this.byName.get(normalizedName(name));
  }
  get(name: string): BaseImage {
    const found = this.byName.get(normalizedName(name));
    if (found === undefined) throw new CairnError('internal', `base image ${name} was not loaded`);
    return found;
  }
}

/** A local image named by a stage's FROM or COPY --from: NotFoundError (BuildKit's words) when the store lacks it. */
async function baseImage(store: Store, ref: string, protect: (ref: Ref) => void): Promise<BaseImage> {
  const found = tryResolveImage(store.db, ref);
  if (found === undefined) throw new NotFoundError(`${ref}: not found`);
  const image = found.image;
  // Its layers (and the blobs the new image's manifest names with them) leased for the build:
  // a prune in another process may remove the base image meanwhile, never what the build
  // stands on. Looked up again once leased: gone before that, it is not found.
  if (image.topChainId !== null) protect(layerRef(image.topChainId));
  for (const l of imageLayers(store.db, image.id)) protect(blobRef(l.blob.blobDigest));
  if (getImage(store.db, image.id) === undefined) throw new NotFoundError(`${ref}: not found`);
  await requireUnpacked(store.content, image.id, ref);
  const { config } = await readConfig(store.content, image.id);
  const { manifest } = await readManifest(store.content, image.manifestDigest);
  const records = imageLayers(store.db, image.id);
  const layers: LayerForImage[] = storedLayers(manifest, config, records);
  return { id: image.id, config, layers, chainId: image.topChainId ?? undefined };
}

/** The step's name in progress: `[build 2/4] WORKDIR /src` (the stage's name only when the Dockerfile has several). */
function vertexName(stage: PlanStage, multi: boolean, position: number, total: number, original: string): string {
  return `[${multi ? `${stage.id} ` : ''}${position}/${total}] ${original}`;
}

/** Whether a step is a vertex of its own in BuildKit's progress (an llb op: the layer-making instructions). */
function isVertex(step: Step): boolean {
  return step.instruction === 'RUN' || step.instruction === 'COPY' || step.instruction === 'ADD' || (step.instruction === 'WORKDIR' && step.value !== '/');
}

async function runStage(
  store: Store,
  opts: BuildOptions,
  plan: Plan,
  stage: PlanStage,
  multi: boolean,
  bases: Bases,
  results: Map<number, StageResult>,
  protect: (ref: Ref) => void,
  ctx: BuildContextState,
): Promise<StageResult> {
  // BuildKit counts the stage's own steps only: ONBUILD triggers run as `[2/1]`, `[3/1]`, ...
  const total = 1 + stage.steps.filter((s) => isVertex(s) && s.onbuild !== true).length;
  let state: StageResult;
  if (stage.base.type === 'scratch') {
    state = { image: initialImage({ type: 'scratch', platform: parsePlatform(stage.platform ?? plan.platforms.target) }), layers: [], chainId: undefined };
  } else if (stage.base.type === 'stage') {
    const from = results.get(stage.base.stage)!;
    state = { image: initialImage({ type: 'stage', state: from.image }), layers: [...from.layers], chainId: from.chainId };
  } else {
    const base = bases.get(stage.base.normalized);
    const v = opts.progress.start({ name: vertexName(stage, multi, 1, total, `FROM ${stage.base.normalized}`), digest: base.id });
    v.cached();
    state = { image: initialImage({ type: 'image', config: base.config }), layers: [...base.layers], chainId: base.chainId };
  }
  let position = 1;
  const useCache = opts.noCache !== true && !(opts.noCacheFilter ?? []).some((f) => f === stage.name || f === String(stage.index) || f === stage.id);
  for (const planned of stage.steps) {
    // A RUN's heredocs (heredoc.ts): the command the shell gets, and the files it mounts.
    const { step, inline } = prepareStep(planned, state.image.image.os);
    const outcome = applyStep(state.image, step, { proxyEnv: plan.proxyEnv });
    const action = outcome.action;
    if (action === undefined) {
      state = { ...state, image: outcome.state };
      continue;
    }
    position++;
    const name = vertexName(stage, multi, position, total, step.original);
    // The step's vertex starts once its inputs are known (a COPY's "load build context" comes first), or at its failure.
    let vertex: VertexHandle | undefined;
    const started = (): VertexHandle => (vertex ??= opts.progress.start({ name }));
    try {
      const inputs = await stepInputs(store, opts, ctx, step, action, state.chainId, results, bases, inline);
      if (opts.sourceDateEpoch !== undefined) inputs.epoch = opts.sourceDateEpoch;
      const key = cacheKey(inputs);
      const v = started();
      v.digest(key);
      const slot = `${opts.dockerfile.name}\0${stage.id}\0${position}`;
      const cacheable = useCache && inputs.volatile !== true;
      // COPY --link: the layer is made on nothing, independent of what is below it, then placed there.
      const linked = action.kind === 'copy' && (step as CopyStep).link;
      const base = linked ? undefined : state.chainId;
      let hit: CachedLayer | undefined = cacheable ? await liveCacheEntry(store, key, protect) : undefined;
      if (hit === undefined && cacheable) hit = await importedLayer(store, ctx, key, base, slot, inputs, protect, v);
      let layer: { diffId: Digest; chainId: Digest; size: number; tarSplit: Digest; created: string };
      if (hit !== undefined) {
        touchCacheEntry(store.db, key);
        layer = { ...hit, created: hit.createdAt };
        v.cached();
      } else {
        if (opts.explainCache) {
          const before = lastOfSlot(store.db, slot);
          v.status(`cache miss: ${explainMiss(before === undefined ? undefined : (JSON.parse(before.inputs) as StepInputs), inputs)}`);
        }
        const made = await buildLayer(store, base, protect, (rootfs) => stepWork(store, opts, step, action, rootfs, results, bases, protect, v, inline), {
          ...(opts.sourceDateEpoch !== undefined ? { clampMtime: opts.sourceDateEpoch } : {}),
          duplicates: action.kind === 'run',
        });
        if (made.duplicated !== undefined && made.duplicated.bytes >= DUPLICATE_WARNING_BYTES) v.status(duplicateWarning(name, made.duplicated));
        // The layer's time is its cache entry's: a rebuild from the cache gives the same image.
        const at = new Date();
        putCacheEntry(store.db, { key, chainId: made.chainId, diffId: made.diffId, size: made.size, tarSplit: made.tarSplit, slot, inputs: JSON.stringify(inputs) }, at);
        layer = { ...made, created: at.toISOString() };
        v.done();
      }
      ctx.results.set(key, { key, chainId: layer.chainId, diffId: layer.diffId, tarSplit: layer.tarSplit, createdAt: layer.created });
      if (linked) layer = { ...(await placeLayer(store, layer, state.chainId, protect)), created: layer.created };
      const record: LayerForImage = { mediaType: layerMediaType('none', 'docker'), digest: layer.diffId, size: layer.size, diffId: layer.diffId, uncompressedSize: layer.size, tarSplit: layer.tarSplit };
      state = { image: recordLayer(outcome.state, { diffId: layer.diffId, created: goTime(layer.created) }), layers: [...state.layers, record], chainId: layer.chainId };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      started().error(e instanceof CopySourceNotFoundError ? e.detail : message);
      throw new BuildStepError(`${opts.dockerfile.name}:${step.lines.start}: ${name}: ${message}`, failureBox(name));
    }
  }
  return state;
}

/** What the whole build shares between its stages. */
interface BuildContextState {
  /** Whether the "[internal] load build context" vertex was shown. */
  loaded: boolean;
  /** The caches of --cache-from. */
  imported: ImportedCache[];
  /** Every layer step's result, by key: what --cache-to exports. */
  results: Map<Digest, ExportEntry>;
}

/** A step's cache inputs (cache-key.ts): a COPY from the context has its sources' content hashed here. */
async function stepInputs(
  store: Store,
  opts: BuildOptions,
  ctx: BuildContextState,
  step: Step,
  action: StepAction,
  parent: Digest | undefined,
  results: Map<number, StageResult>,
  bases: Bases,
  inline: InlineFile[],
): Promise<StepInputs> {
  const p = parent ?? null;
  switch (action.kind) {
    case 'run': {
      const run = step as RunStep;
      // A bind mount's content is an input (the stage or image by its chainID, the context by its content);
      // a cache mount's contents and a secret's value never are.
      const mounts: unknown[] = [];
      for (const m of run.mounts) {
        if (m.type !== 'bind') mounts.push(m);
        else if (m.fromSource !== undefined) mounts.push({ ...m, content: ('stage' in m.fromSource ? results.get(m.fromSource.stage)!.chainId : bases.get(m.fromSource.image).chainId) ?? null });
        else mounts.push({ ...m, content: (await contextSourcesDigest(store.db, opts.contextDir, [m.source ?? '.'], { dockerignore: opts.dockerignore ?? [] })).digest });
      }
      return { parent: p, op: { kind: 'run', argv: action.argv, env: action.env, cwd: action.cwd, user: action.user, network: runNetwork(opts, run), mounts, ...(inline.length > 0 ? { inline } : {}) } };
    }
    case 'mkdir':
      return { parent: p, op: { kind: 'mkdir', path: action.path, mode: action.mode, user: action.user } };
    case 'copy': {
      const copy = step as CopyStep;
      // COPY --link's layer does not depend on what is below it: neither does its key.
      const p = copy.link ? null : parent ?? null;
      const base = {
        kind: 'copy' as const,
        instruction: copy.instruction,
        sources: copy.sources,
        dest: action.dest,
        ...(action.chown !== undefined ? { chown: action.chown } : {}),
        ...(copy.chmod !== undefined ? { chmod: copy.chmod } : {}),
        ...(copy.parents ? { parents: true } : {}),
        ...(copy.link ? { link: true } : {}),
        exclude: copy.exclude,
        ...(copy.heredocs.length > 0 ? { heredocs: copy.heredocs.map((h) => ({ path: h.path, data: h.data })) } : {}),
      };
      // Only heredoc sources: nothing is read from the context.
      if (copy.from === undefined && copy.sources.length === 0) return { parent: p, op: { ...base, from: { chainId: null } } };
      if (copy.from !== undefined) {
        const chainId = 'stage' in copy.from ? results.get(copy.from.stage)!.chainId : bases.get(copy.from.image).chainId;
        return { parent: p, op: { ...base, from: { chainId: chainId ?? null } } };
      }
      // ADD's URLs: their content is known only once downloaded — pinned by --checksum, else the step always runs.
      const urls = copy.sources.filter((src) => /^https?:\/\//.test(src));
      const local = copy.sources.filter((src) => !urls.includes(src));
      const v = ctx.loaded || local.length === 0 ? undefined : opts.progress.start({ name: '[internal] load build context' });
      if (v !== undefined) ctx.loaded = true;
      let content: Awaited<ReturnType<typeof contextSourcesDigest>> | undefined;
      try {
        content = await contextSourcesDigest(store.db, opts.contextDir, local, { dockerignore: opts.dockerignore ?? [], excludes: copy.exclude });
      } finally {
        // As BuildKit: the context is loaded (what there was of it) before the step that names a missing file fails.
        v?.status(`transferring context: ${content?.bytesRead ?? 0}B done`);
        v?.done();
      }
      return {
        parent: p,
        op: { ...base, from: { context: content.digest }, ...(copy.checksum !== undefined ? { checksum: copy.checksum } : {}) },
        files: Object.fromEntries(content.files),
        ...(urls.length > 0 && copy.checksum === undefined ? { volatile: true } : {}),
      };
    }
  }
}

/** A step's layer found in a cache, with the time it was first made. */
type CachedLayer = Pick<CacheEntry, 'chainId' | 'diffId' | 'size' | 'tarSplit' | 'createdAt'>;

/** The result under `key` in a --cache-from cache, its layer applied onto `parent` and recorded in this store's cache. */
async function importedLayer(
  store: Store,
  ctx: BuildContextState,
  key: Digest,
  parent: Digest | undefined,
  slot: string,
  inputs: StepInputs,
  protect: (ref: Ref) => void,
  v: VertexHandle,
): Promise<CachedLayer | undefined> {
  for (const cache of ctx.imported) {
    const entry = cache.get(key);
    if (entry === undefined) continue;
    v.status(`importing cache layer ${entry.blob.digest} from ${cache.name}`);
    const layer = await cache.importLayer(store, entry, parent, protect);
    putCacheEntry(store.db, { key, ...layer, slot, inputs: JSON.stringify(inputs) }, new Date(), entry.createdAt);
    return { ...layer, createdAt: entry.createdAt };
  }
  return undefined;
}


/** RUN's network: the step's `--network`, else the build's (`default` is the host's: cairn has no bridge). */
function runNetwork(opts: BuildOptions, step: RunStep): 'none' | 'host' {
  const n = step.network ?? opts.network ?? 'default';
  return n === 'none' ? 'none' : 'host';
}

/** What a layer-making step does in its mounted root filesystem. */
async function stepWork(
  store: Store,
  opts: BuildOptions,
  step: Step,
  action: StepAction,
  rootfs: string,
  results: Map<number, StageResult>,
  bases: Bases,
  protect: (ref: Ref) => void,
  v: VertexHandle,
  inline: InlineFile[],
): Promise<void> {
  switch (action.kind) {
    case 'run':
      return runStep(store, opts, step as RunStep, action, rootfs, v, (s) => ('stage' in s ? results.get(s.stage)!.chainId : bases.get(s.image).chainId), protect, inline);
    case 'copy':
      return copyStep(store, opts, step as CopyStep, action, rootfs, results, bases, protect);
    case 'mkdir':
      await mkdirAs(rootfs, action.path, action.mode, action.user);
      return;
  }
}

/** WORKDIR's directory, made with its parents as the USER in effect (BuildKit's mkdir file op). */
async function mkdirAs(rootfs: string, path: string, mode: number, user: string): Promise<void> {
  const owner = resolveUser(rootfs, user === '' ? undefined : user);
  const parts = path.split('/').filter((p) => p !== '');
  let at = '/';
  for (const part of parts) {
    at = at === '/' ? `/${part}` : `${at}/${part}`;
    const found = resolveInRoot(rootfs, at);
    if (found.kind === 'dir') continue;
    if (found.kind !== undefined) throw new InvalidArgumentError(`mkdir ${at}: not a directory`);
    await mkdir(found.hostPath, { mode });
    await chown(found.hostPath, owner.uid, owner.gid);
  }
}

async function runStep(
  store: Store,
  opts: BuildOptions,
  step: RunStep,
  action: RunAction,
  rootfs: string,
  v: VertexHandle,
  chainOf: (source: StageSource) => Digest | undefined,
  protect: (ref: Ref) => void,
  inline: InlineFile[],
): Promise<void> {
  const mountCtx = { store, rootfs, cwd: action.cwd, contextDir: opts.contextDir, dockerignore: opts.dockerignore ?? [], secrets: opts.secrets ?? [], chainOf, protect };
  const status = await withInlineFiles(store, inline, (dir) =>
    withRunMounts(step.mounts, mountCtx, (mounts) =>
      runInRootfs(store, rootfs, {
        args: action.argv,
        env: [...action.env, ...mounts.env],
        cwd: action.cwd,
        user: action.user,
        network: runNetwork(opts, step),
        binds: inline.length > 0 ? [{ source: dir, destination: INLINE_DIR, readOnly: true }, ...mounts.binds] : mounts.binds,
        tmpfs: mounts.tmpfs,
        output: (_stream, chunk) => v.log(chunk),
      }),
    ),
  );
  if (status !== 0) throw new CairnError('internal', `executor failed running [${action.argv.join(' ')}]: exit code: ${status}`, { exitCode: 1 });
}

async function copyStep(
  store: Store,
  opts: BuildOptions,
  step: CopyStep,
  action: CopyAction,
  rootfs: string,
  results: Map<number, StageResult>,
  bases: Bases,
  protect: (ref: Ref) => void,
): Promise<void> {
  const into = {
    sources: step.sources,
    dest: action.dest,
    workdir: '/',
    targetRoot: rootfs,
    ...(action.chown !== undefined ? { chown: action.chown } : {}),
    ...(step.chmod !== undefined ? { chmod: step.chmod } : {}),
    ...(step.parents ? { parents: true } : {}),
  };
  // ADD: archives unpacked, URLs downloaded (add.ts); downloads go to the store's scratch space.
  const add = { checksum: step.checksum, unpack: step.unpack, scratch: () => store.scratchDir() };
  const copy = (o: CopyIntoOptions) => (step.instruction === 'ADD' ? addInto({ ...o, ...add }) : copyInto(o));
  if (step.sources.length > 0) {
    if (step.from === undefined) {
      await copy({ ...into, sourceRoot: opts.contextDir, fromContext: true, dockerignore: opts.dockerignore ?? [], excludes: step.exclude });
    } else {
      const chainId = 'stage' in step.from ? results.get(step.from.stage)!.chainId : bases.get(step.from.image).chainId;
      await withChainView(store, chainId, protect, (sourceRoot) => copy({ ...into, sourceRoot, fromContext: false, excludes: step.exclude }));
    }
  }
  // Heredoc sources (heredoc.ts): files of their own, copied after the others (never unpacked).
  const files = copyInlineFiles(step);
  if (files.length > 0) await withInlineFiles(store, files, (dir) => copyInto({ ...into, sources: files.map((f) => f.name), sourceRoot: dir, fromContext: false }));
}

