/**
 * The image config and history a Dockerfile build produces, step by step, as Docker 20.10.24's
 * built-in BuildKit (BuildKit v0.8: dockerfile2llb's dispatch functions and moby's image
 * exporter) computes them. Pure: no I/O; the executor runs what a step needs (a RUN, a COPY,
 * a WORKDIR mkdir), records the layer it made, and asks this module for the result.
 *
 * Owns:
 * - where a stage starts (`initialImage`): scratch, a base image's config (what BuildKit keeps
 *   of it), or an earlier stage's state;
 * - what each step changes (`applyStep`): the config fields, the history entry (`created_by`
 *   byte for byte, `comment`, `empty_layer`), the RUN environment and argv, the COPY destination
 *   and the WORKDIR mkdir, and whether the step makes a layer;
 * - what the exporter does at the end (`finishImage`): `--label`s, the target platform, the
 *   layer diffIDs, the history `created` times and the config's `created`.
 *
 * The finished document (`BuiltImage`) is built field by field in the order Go writes it
 * (top level keys sorted, as moby's exporter re-marshals a map; `config` in struct order), so
 * oci/json.ts's canonicalJson gives Docker's bytes. Where newer BuildKit differs, the line is
 * marked `// BuildKit v0.8:`. Behaviour checked against docker 20.10.24 is listed in the tests.
 */
import type { Digest } from '../digest/digest.js';
import { goQuote } from '../dockerfile/index.js';
import type { ArgStep, CommandStep, CopyStep, HealthcheckStep, KeyValueStep, ListStep, RunStep, Step, ValueStep } from '../dockerfile/index.js';
import { cleanPath } from '../dockerfile/dockerignore.js';
import { InvalidArgumentError } from '../errors.js';
import { sortedRecord } from '../oci/json.js';
import type { ImageConfig, Platform } from '../oci/types.js';

// ---------------------------------------------------------------------------------------
// Public types

/** The comment BuildKit's Dockerfile frontend puts on every history entry it writes. */
export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';

/** The comment of a history entry the exporter adds for a layer no entry accounts for. */
export const EXPORTER_HISTORY_COMMENT = 'buildkit.exporter.image.v0';

const DEFAULT_PATH_UNIX = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_PATH_WINDOWS = 'c:\\Windows\\System32;c:\\Windows';

/** dockerfile2llb's HealthConfig: durations in nanoseconds, zero meaning "inherit". */
export interface BuildHealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/**
 * dockerfile2llb's ImageConfig: the OCI execution parameters plus Docker's Healthcheck,
 * ArgsEscaped, OnBuild, StopTimeout and Shell. Other container.Config fields of a base image
 * (Hostname, Tty, Image, ...) are not part of it, so BuildKit drops them.
 */
export interface BuildConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: BuildHealthConfig;
  ArgsEscaped?: boolean;
  /** Go has no omitempty here: written as `null` when there are no triggers. */
  OnBuild: string[] | null;
  StopTimeout?: number;
  Shell?: string[];
}

/** One history entry (the OCI History struct, fields in Go's order). */
export interface BuildHistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** dockerfile2llb's Image while a stage is dispatched. */
export interface WorkingImage {
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config: BuildConfig;
  /** The base image's layers; layers made by the build are in ImageState.layers. */
  diffIds: Digest[];
  history: BuildHistoryEntry[];
}

/** A layer the executor made for a step, in step order. */
export interface RecordedLayer {
  diffId: Digest;
  /** When the layer was made, RFC 3339 as Go writes it (BuildKit: the snapshot's creation time). */
  created: string;
}

/** Where a stage is, after zero or more steps. Treat as immutable: every function returns a new one. */
export interface ImageState {
  image: WorkingImage;
  /**
   * The llb state's environment, in its order: what a RUN sees before proxy variables. Unlike
   * the config's Env, a key set again moves to the end, and ARG values are in it.
   */
  env: Array<[string, string]>;
  /** ARGs declared in this stage, in order, duplicates kept (dispatchState.buildArgs; not inherited). */
  buildArgs: Array<{ name: string; value?: string }>;
  /** Whether a CMD was seen in this stage (an ENTRYPOINT then keeps Cmd); not inherited. */
  cmdSet: boolean;
  /** How many history entries came with the base image (kept as they were). */
  baseHistory: number;
  /** Layer-making steps applied so far in this stage and the stages it is built on. */
  layerSteps: number;
  /** Layers recorded by the executor for those steps. */
  layers: RecordedLayer[];
  /**
   * The base's ONBUILD triggers, which BuildKit runs before the stage's own steps and then
   * clears. For a stage base the plan already holds them as steps (`onbuild: true`); for an
   * image base the caller plans and applies them.
   */
  baseTriggers: string[];
}

/** What a stage starts from. */
export type StageStart =
  /** `FROM scratch`: BuildKit's emptyImage for the stage's platform. */
  | { type: 'scratch'; platform: Platform }
  /** A base image's config as stored (Docker's or OCI's). */
  | { type: 'image'; config: ImageConfig }
  /** An earlier stage's state. */
  | { type: 'stage'; state: ImageState };

/** The environment of a step beyond the state. */
export interface StepContext {
  /** Proxy build args (Plan.proxyEnv): given to RUN, never stored. */
  proxyEnv?: Record<string, string>;
}

/** What the executor runs for a RUN. */
export interface RunAction {
  kind: 'run';
  argv: string[];
  /** `KEY=value`, in BuildKit's order: the state environment, proxy variables, then PATH if missing. */
  env: string[];
  /** Working directory, absolute. */
  cwd: string;
  /** USER in effect; empty for the default (root). */
  user: string;
}

/** What the executor runs for a COPY or ADD. */
export interface CopyAction {
  kind: 'copy';
  /** Absolute destination; ends with `/` when the written one names a directory (`.`, ``, `.../`). */
  dest: string;
  /** `--chown` as given (resolved against the destination's passwd/group files). */
  chown?: string;
  /** `--chmod` when it is octal; BuildKit v0.8 ignores any other value. */
  mode?: number;
  /** ADD: local archives are unpacked, URLs are not. */
  unpack: boolean;
}

/** What the executor runs for a WORKDIR other than `/`: a mkdir -p with its own layer. */
export interface MkdirAction {
  kind: 'mkdir';
  path: string;
  mode: number;
  /** Owner: the USER in effect, empty for root. */
  user: string;
}

export type StepAction = RunAction | CopyAction | MkdirAction;

/** What one step did. */
export interface StepOutcome {
  state: ImageState;
  /** The history entry the step appended; ONBUILD appends none. */
  history?: BuildHistoryEntry;
  /** What the executor must do to make the step's layer; none for a metadata-only step. */
  action?: StepAction;
}

/** What the exporter is told. */
export interface FinishOptions {
  /** `--label` values, merged over the image's labels. */
  labels?: Record<string, string>;
  /**
   * The target platform when given explicitly (`--platform`). Without it BuildKit v0.8 keeps the
   * target stage's own architecture/os/variant (its base image's, or scratch's platform).
   */
  platform?: Platform;
  /**
   * SOURCE_DATE_EPOCH in seconds (cairn's feature): the config's `created` and every history
   * entry the build added get this time instead of the clock's.
   */
  sourceDateEpoch?: number;
}

/**
 * The image config document as moby's exporter writes it (see the module comment). Labels,
 * ExposedPorts and Volumes are inserted in sorted order, as Go writes maps; JavaScript still
 * puts integer-like keys (a label named `1`) first, so give canonicalJson a Map for those.
 */
export interface BuiltImage {
  architecture: string;
  author?: string;
  config: BuildConfig;
  /** `null` when no history entry has a time (a scratch image without layers). */
  created: string | null;
  history: BuildHistoryEntry[] | null;
  os: string;
  rootfs: { type: 'layers'; diff_ids: Digest[] | null };
  variant?: string;
}

// ---------------------------------------------------------------------------------------
// Stage start

/**
 * The state a stage starts from: scratch (BuildKit's emptyImage: Env PATH, WorkingDir `/`, no
 * layers, no history), a base image (its `created`, container_config, docker_version and
 * unknown fields dropped, its history and layers kept, ONBUILD triggers taken out), or an
 * earlier stage (its image and environment; its ARGs stop counting for the RUN history).
 * Then, as BuildKit: PATH is added to Env when missing, and the environment is seeded from Env.
 */
export function initialImage(start: StageStart): ImageState {
  let state: ImageState;
  if (start.type === 'stage') {
    const parent = cloneState(start.state);
    state = { ...parent, buildArgs: [], cmdSet: false, baseTriggers: parent.image.config.OnBuild ?? [] };
  } else {
    const image = start.type === 'scratch' ? emptyImage(start.platform) : imageFromConfig(start.config);
    const baseTriggers = image.config.OnBuild ?? [];
    state = { image, env: [], buildArgs: [], cmdSet: false, baseHistory: image.history.length, layerSteps: 0, layers: [], baseTriggers };
  }
  const config = state.image.config;
  if (!(config.Env ?? []).some((kv) => splitKeyValue(kv)[0] === 'PATH')) config.Env = [...(config.Env ?? []), `PATH=${defaultPath(state.image.os)}`];
  for (const kv of config.Env ?? []) state.env = addOrReplace(state.env, ...splitKeyValue(kv));
  config.OnBuild = null;
  return state;
}

/** BuildKit's emptyImage for a platform. */
function emptyImage(platform: Platform): WorkingImage {
  const image: WorkingImage = {
    architecture: platform.architecture,
    os: platform.os,
    config: { Env: [`PATH=${defaultPath(platform.os)}`], WorkingDir: '/', OnBuild: null },
    diffIds: [],
    history: [],
  };
  if (platform.variant) image.variant = platform.variant;
  return image;
}

/** What BuildKit's Image struct keeps of a base image's config (json.Unmarshal into it, Created reset). */
function imageFromConfig(src: ImageConfig): WorkingImage {
  const c = src.config ?? {};
  const config: BuildConfig = { OnBuild: c.OnBuild ? [...c.OnBuild] : null };
  if (c.User) config.User = c.User;
  if (c.ExposedPorts) config.ExposedPorts = emptyStructMap(Object.keys(c.ExposedPorts));
  if (c.Env) config.Env = [...c.Env];
  if (c.Entrypoint) config.Entrypoint = [...c.Entrypoint];
  if (c.Cmd) config.Cmd = [...c.Cmd];
  if (c.Volumes) config.Volumes = emptyStructMap(Object.keys(c.Volumes));
  if (c.WorkingDir) config.WorkingDir = c.WorkingDir;
  if (c.Labels) config.Labels = { ...c.Labels };
  if (c.StopSignal) config.StopSignal = c.StopSignal;
  if (c.Healthcheck) config.Healthcheck = healthFromConfig(c.Healthcheck);
  if (c.ArgsEscaped) config.ArgsEscaped = true;
  if (typeof c.StopTimeout === 'number') config.StopTimeout = c.StopTimeout;
  if (c.Shell) config.Shell = [...c.Shell];
  const image: WorkingImage = {
    architecture: src.architecture,
    os: src.os,
    config,
    diffIds: [...(src.rootfs?.diff_ids ?? [])],
    history: (src.history ?? []).map((h) => historyEntry(h)),
  };
  if (src.author) image.author = src.author;
  if (src.variant) image.variant = src.variant;
  return image;
}

/** The fields of Docker's HealthConfig BuildKit v0.8 knows. */
function healthFromConfig(h: NonNullable<ImageConfig['config']>['Healthcheck']): BuildHealthConfig {
  // BuildKit v0.8: no StartInterval; a base image's is dropped.
  const out: BuildHealthConfig = {};
  if (h?.Test) out.Test = [...h.Test];
  if (h?.Interval) out.Interval = h.Interval;
  if (h?.Timeout) out.Timeout = h.Timeout;
  if (h?.StartPeriod) out.StartPeriod = h.StartPeriod;
  if (h?.Retries) out.Retries = h.Retries;
  return out;
}

/** A base history entry as Go's History struct reads it (unknown fields dropped). */
function historyEntry(h: Record<string, unknown>): BuildHistoryEntry {
  const out: BuildHistoryEntry = {};
  if (typeof h.created === 'string') out.created = goTime(h.created);
  if (typeof h.created_by === 'string' && h.created_by !== '') out.created_by = h.created_by;
  if (typeof h.author === 'string' && h.author !== '') out.author = h.author;
  if (typeof h.comment === 'string' && h.comment !== '') out.comment = h.comment;
  if (h.empty_layer === true) out.empty_layer = true;
  return out;
}

// ---------------------------------------------------------------------------------------
// Steps

/**
 * Apply one plan step: the new state, the history entry it appends, and the action the
 * executor must run when the step makes a layer (RUN, COPY, ADD, WORKDIR other than `/`).
 * After running an action, the executor records the layer with `recordLayer`.
 */
export function applyStep(state: ImageState, step: Step, ctx: StepContext = {}): StepOutcome {
  const next = cloneState(state);
  switch (step.instruction) {
    case 'RUN':
      return applyRun(next, step, ctx);
    case 'COPY':
    case 'ADD':
      return applyCopy(next, step);
    case 'ENV':
    case 'LABEL':
      return applyKeyValues(next, step);
    case 'ARG':
      return applyArg(next, step);
    case 'WORKDIR':
      return applyWorkdir(next, step);
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
    case 'ONBUILD':
      return applyValue(next, step);
    case 'EXPOSE':
    case 'VOLUME':
      return applyList(next, step);
    case 'CMD':
    case 'ENTRYPOINT':
      return applyCommand(next, step);
    case 'SHELL':
      next.image.config.Shell = [...step.shell];
      return commit(next, `SHELL ${goList(step.shell)}`);
    case 'HEALTHCHECK':
      return applyHealthcheck(next, step);
  }
}

/** Record the layer the executor made for the next layer-making step without one. */
export function recordLayer(state: ImageState, layer: RecordedLayer): ImageState {
  if (state.layers.length >= state.layerSteps) {
    throw new InvalidArgumentError(`cannot record layer ${layer.diffId}: all ${state.layerSteps} layer-making steps already have their layer`);
  }
  const next = cloneState(state);
  next.layers.push({ ...layer });
  return next;
}

/** The argv a RUN step runs: JSON form as written, shell form in the current SHELL (default `/bin/sh -c`). */
export function runArgv(state: ImageState, step: RunStep): string[] {
  return step.shell ? withShell(state.image, step.command) : [...step.command];
}

/**
 * The environment a RUN sees, as BuildKit's exec op builds it: the state environment (image
 * Env and ARG values, in llb order), the proxy variables (upper and lower case), then PATH
 * when still missing. The container runtime adds HOME.
 */
export function runEnvironment(state: ImageState, ctx: StepContext = {}): string[] {
  const env = state.env.map(([k, v]) => `${k}=${v}`);
  env.push(...proxyVariables(ctx.proxyEnv ?? {}));
  if (!env.some((kv) => kv.startsWith('PATH='))) env.push(`PATH=${defaultPath(state.image.os)}`);
  return env;
}

/**
 * The absolute destination of a COPY/ADD (pathRelativeToWorkingDir): a relative one is taken
 * from the working directory; a trailing `/` is kept when the written one is `.`, empty, or ends with `/`.
 */
export function copyDestination(state: ImageState, dest: string): string {
  const rel = dest.startsWith('/') ? dest : pathJoin(workingDir(state), dest);
  let out = pathJoin('/', rel);
  if (dest === '.' || dest === '' || dest.endsWith('/')) out += '/';
  return out;
}

/** The working directory a RUN or COPY uses: the image's, `/` when unset. */
export function workingDir(state: ImageState): string {
  return state.image.config.WorkingDir || '/';
}

function applyRun(next: ImageState, step: RunStep, ctx: StepContext): StepOutcome {
  const argv = runArgv(next, step);
  const action: RunAction = { kind: 'run', argv, env: runEnvironment(next, ctx), cwd: workingDir(next), user: next.image.config.User ?? '' };
  const outcome = commit(next, `RUN ${runCommandString(next, argv)}`, { layer: true, buildkitSuffix: true });
  return { ...outcome, action };
}

/** runCommandString: `|N K=V ...` for the stage's ARGs (the environment's value when set), then argv. */
function runCommandString(state: ImageState, argv: string[]): string {
  const env = new Map(state.env);
  const args = state.buildArgs.map((a) => `${a.name}=${env.get(a.name) ?? a.value ?? ''}`);
  const prefix = args.length > 0 ? [`|${args.length}`, ...args] : [];
  return [...prefix, ...argv].join(' ');
}

function applyCopy(next: ImageState, step: CopyStep): StepOutcome {
  const action: CopyAction = { kind: 'copy', dest: copyDestination(next, step.dest), unpack: step.instruction === 'ADD' };
  if (step.chown !== undefined && step.chown !== '') action.chown = step.chown;
  if (step.chmod !== undefined && /^[0-7]+$/.test(step.chmod)) action.mode = parseInt(step.chmod, 8);
  // BuildKit v0.8: the history names sources and destination only (no --from, --chown, --chmod).
  // Heredoc sources (newer BuildKit; v0.8 cannot parse them) follow the paths as `<<NAME`.
  const createdBy = [step.instruction, ...step.sources, ...step.heredocs.map((h) => `<<${h.path}`), step.dest].join(' ');
  return { ...commit(next, createdBy, { layer: true, buildkitSuffix: true }), action };
}

function applyKeyValues(next: ImageState, step: KeyValueStep): StepOutcome {
  const config = next.image.config;
  if (step.instruction === 'ENV') {
    for (const [k, v] of step.pairs) {
      next.env = addOrReplace(next.env, k, v);
      config.Env = replaceEnv(config.Env ?? [], k, v);
    }
  } else {
    const labels = (config.Labels ??= {});
    for (const [k, v] of step.pairs) labels[k] = v;
  }
  return commit(next, [step.instruction, ...step.pairs.map(([k, v]) => `${k}=${v}`)].join(' '));
}

function applyArg(next: ImageState, step: ArgStep): StepOutcome {
  const written: string[] = [];
  for (const a of step.args) {
    written.push(a.default === undefined ? a.name : `${a.name}=${a.default}`);
    // BuildKit v0.8: every ARG with a value enters the environment (no BUILDKIT_SBOM_* exceptions).
    if (a.value !== undefined) next.env = addOrReplace(next.env, a.name, a.value);
    next.buildArgs.push(a.value === undefined ? { name: a.name } : { name: a.name, value: a.value });
  }
  return commit(next, `ARG ${written.join(' ')}`);
}

function applyWorkdir(next: ImageState, step: ValueStep): StepOutcome {
  const config = next.image.config;
  // An absolute path is kept as written (`/app/` stays); a relative one is joined and cleaned.
  const wd = step.value.startsWith('/') ? step.value : pathJoin('/', config.WorkingDir ?? '', step.value);
  config.WorkingDir = wd;
  // BuildKit v0.8 (file op): a WORKDIR other than `/` makes the directory, in a layer of its own.
  if (wd === '/') return commit(next, `WORKDIR ${wd}`);
  const action: MkdirAction = { kind: 'mkdir', path: wd, mode: 0o755, user: config.User ?? '' };
  return { ...commit(next, `WORKDIR ${wd}`, { layer: true }), action };
}

function applyValue(next: ImageState, step: ValueStep): StepOutcome {
  const config = next.image.config;
  switch (step.instruction) {
    case 'USER':
      config.User = step.value;
      return commit(next, `USER ${step.value}`);
    case 'STOPSIGNAL':
      config.StopSignal = step.value;
      return commit(next, `STOPSIGNAL ${step.value}`);
    case 'MAINTAINER':
      next.image.author = step.value;
      return commit(next, `MAINTAINER ${step.value}`);
    default:
      // ONBUILD only stores its trigger; it writes no history.
      config.OnBuild = [...(config.OnBuild ?? []), step.value];
      return { state: next };
  }
}

function applyList(next: ImageState, step: ListStep): StepOutcome {
  const config = next.image.config;
  if (step.instruction === 'VOLUME') {
    const volumes = (config.Volumes ??= {});
    for (const v of step.values) volumes[v] = {};
    return commit(next, `VOLUME ${goList(step.values)}`);
  }
  const ports = (config.ExposedPorts ??= {});
  for (const p of step.values) ports[p] = {};
  return commit(next, `EXPOSE ${goPortSet(step.values)}`);
}

function applyCommand(next: ImageState, step: CommandStep): StepOutcome {
  const config = next.image.config;
  const args = step.shell ? withShell(next.image, step.command) : [...step.command];
  if (step.instruction === 'CMD') {
    config.Cmd = args;
    // BuildKit v0.8: ArgsEscaped is set by every CMD, JSON form too.
    config.ArgsEscaped = true;
    next.cmdSet = true;
  } else {
    config.Entrypoint = args;
    // An ENTRYPOINT drops the Cmd unless this stage set one.
    if (!next.cmdSet) delete config.Cmd;
  }
  return commit(next, `${step.instruction} ${goQuoteList(args)}`);
}

function applyHealthcheck(next: ImageState, step: HealthcheckStep): StepOutcome {
  // BuildKit v0.8: no StartInterval (newer BuildKit adds it, and a field to the history text).
  const health: BuildHealthConfig = { Test: [...step.test], Interval: step.interval, Timeout: step.timeout, StartPeriod: step.startPeriod, Retries: step.retries };
  next.image.config.Healthcheck = health;
  // Go's %q of *HealthConfig: the durations print through their String method, quoted; Retries (an int) as a quoted rune.
  const text = `&{${goQuoteList(step.test)} ${goQuote(goDuration(step.interval))} ${goQuote(goDuration(step.timeout))} ${goQuote(goDuration(step.startPeriod))} ${goQuoteRune(step.retries)}}`;
  return commit(next, `HEALTHCHECK ${text}`);
}

/** commitToHistory: append the step's entry; `# buildkit` marks the steps that ran an llb op. */
function commit(state: ImageState, createdBy: string, opts: { layer?: boolean; buildkitSuffix?: boolean } = {}): StepOutcome {
  const entry: BuildHistoryEntry = { created_by: opts.buildkitSuffix ? `${createdBy} # buildkit` : createdBy, comment: HISTORY_COMMENT };
  if (opts.layer) state.layerSteps++;
  else entry.empty_layer = true;
  state.image.history.push(entry);
  return { state, history: { ...entry } };
}

// ---------------------------------------------------------------------------------------
// Export

/**
 * The image config moby's exporter writes for the target stage: `--label`s merged, the
 * platform set when explicit, the recorded layers appended to the base's, and the history
 * times filled in (a layer's entry gets its layer's time; an entry without a layer gets the
 * time of the layer before it, or, before the first new layer, of that layer; with no new
 * layer at all, the base's last time). `created` is the last history time, or null.
 * Throws InvalidArgumentError when a layer-making step has no recorded layer.
 */
export function finishImage(state: ImageState, opts: FinishOptions = {}): BuiltImage {
  if (state.layers.length !== state.layerSteps) {
    throw new InvalidArgumentError(`${state.layerSteps} steps made layers but ${state.layers.length} layers were recorded`);
  }
  const image = cloneState(state).image;
  if (opts.labels !== undefined && Object.keys(opts.labels).length > 0) image.config.Labels = { ...(image.config.Labels ?? {}), ...opts.labels };
  if (opts.platform !== undefined) {
    image.architecture = opts.platform.architecture;
    image.os = opts.platform.os;
    if (opts.platform.variant) image.variant = opts.platform.variant;
    else delete image.variant;
  }
  const epoch = opts.sourceDateEpoch === undefined ? undefined : epochTime(opts.sourceDateEpoch);
  const diffs = [...image.diffIds, ...state.layers.map((l) => l.diffId)];
  const layerTimes: Array<string | undefined> = [...image.diffIds.map(() => undefined), ...state.layers.map((l) => epoch ?? l.created)];
  let history = image.history.map((h, i) => (epoch !== undefined && i >= state.baseHistory ? { ...h, created: epoch } : h));
  history = normalizeHistory(history, diffs.length, layerTimes);
  const created = epoch ?? lastCreated(history);
  return builtImage(image, diffs, history, created);
}

/**
 * normalizeLayersAndHistory (moby's exporter): reconcile the entries that claim a layer with
 * the layers, give each layer entry without a time its layer's, and fill the others.
 */
function normalizeHistory(input: BuildHistoryEntry[], layerCount: number, layerTimes: Array<string | undefined>): BuildHistoryEntry[] {
  let history = input.map((h) => ({ ...h }));
  let claimed = history.filter((h) => !h.empty_layer).length;
  if (claimed > layerCount) {
    // More entries claim layers than there are: the topmost ones are made empty.
    let seen = 0;
    for (const h of history) {
      if (seen >= layerCount) h.empty_layer = true;
      if (!h.empty_layer) seen++;
    }
    claimed = layerCount;
  }
  for (let i = claimed; i < layerCount; i++) {
    // A layer no entry accounts for gets one at the end (BuildKit names it after the llb op; cairn cannot).
    const extra: BuildHistoryEntry = {};
    const t = layerTimes[i];
    if (t !== undefined) extra.created = t;
    extra.created_by = 'created by buildkit';
    extra.comment = EXPORTER_HISTORY_COMMENT;
    history.push(extra);
  }
  let layerIndex = 0;
  history = history.map((h) => {
    if (h.empty_layer) return h;
    const t = layerTimes[layerIndex++];
    return h.created === undefined && t !== undefined ? { created: t, ...h } : h;
  });
  return fillTimes(history);
}

/** The exporter's second pass: entries without a time take the one before them (see finishImage). */
function fillTimes(history: BuildHistoryEntry[]): BuildHistoryEntry[] {
  let created: string | undefined;
  let gap = false;
  for (const h of history) {
    if (h.created !== undefined) {
      created = h.created;
      if (gap) break;
    } else gap = true;
  }
  gap = false;
  return history.map((h) => {
    if (h.created !== undefined) {
      if (gap) created = h.created;
      return h;
    }
    gap = true;
    return created === undefined ? h : { created, ...h };
  });
}

function lastCreated(history: BuildHistoryEntry[]): string | null {
  let t: string | null = null;
  for (const h of history) if (h.created !== undefined) t = h.created;
  return t;
}

/** The document in Go's key order (top level sorted, config and history in struct order). */
function builtImage(image: WorkingImage, diffs: Digest[], history: BuildHistoryEntry[], created: string | null): BuiltImage {
  const author = image.author ? { author: image.author } : {};
  const variant = image.variant ? { variant: image.variant } : {};
  return {
    architecture: image.architecture,
    ...author,
    config: goConfig(image.config),
    created,
    history: history.length > 0 ? history.map(goHistoryEntry) : null,
    os: image.os,
    rootfs: { type: 'layers', diff_ids: diffs.length > 0 ? diffs : null },
    ...variant,
  };
}

/** dockerfile2llb's ImageConfig with omitempty applied, fields in struct order, maps sorted. */
function goConfig(c: BuildConfig): BuildConfig {
  const out = {} as BuildConfig;
  if (c.User) out.User = c.User;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = emptyStructMap(Object.keys(c.ExposedPorts));
  if (c.Env && c.Env.length > 0) out.Env = [...c.Env];
  if (c.Entrypoint && c.Entrypoint.length > 0) out.Entrypoint = [...c.Entrypoint];
  if (c.Cmd && c.Cmd.length > 0) out.Cmd = [...c.Cmd];
  if (c.Volumes && Object.keys(c.Volumes).length > 0) out.Volumes = emptyStructMap(Object.keys(c.Volumes));
  if (c.WorkingDir) out.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length > 0) out.Labels = sortedRecord(c.Labels);
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.Healthcheck) out.Healthcheck = goHealth(c.Healthcheck);
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  out.OnBuild = c.OnBuild && c.OnBuild.length > 0 ? [...c.OnBuild] : null;
  if (c.StopTimeout !== undefined) out.StopTimeout = c.StopTimeout;
  if (c.Shell && c.Shell.length > 0) out.Shell = [...c.Shell];
  return out;
}

function goHealth(h: BuildHealthConfig): BuildHealthConfig {
  const out: BuildHealthConfig = {};
  if (h.Test && h.Test.length > 0) out.Test = [...h.Test];
  if (h.Interval) out.Interval = h.Interval;
  if (h.Timeout) out.Timeout = h.Timeout;
  if (h.StartPeriod) out.StartPeriod = h.StartPeriod;
  if (h.Retries) out.Retries = h.Retries;
  return out;
}

function goHistoryEntry(h: BuildHistoryEntry): BuildHistoryEntry {
  const out: BuildHistoryEntry = {};
  if (h.created !== undefined) out.created = h.created;
  if (h.created_by) out.created_by = h.created_by;
  if (h.author) out.author = h.author;
  if (h.comment) out.comment = h.comment;
  if (h.empty_layer) out.empty_layer = true;
  return out;
}

// ---------------------------------------------------------------------------------------
// Go formatting

/** Go's %v of a []string: `[a b c]`. */
export function goList(values: string[]): string {
  return `[${values.join(' ')}]`;
}

/** Go's %q of a []string: `["a" "b c"]`. */
export function goQuoteList(values: string[]): string {
  return `[${values.map(goQuote).join(' ')}]`;
}

/** Go's %v of a nat.PortSet: `map[80/tcp:{} 8080/tcp:{}]`, keys sorted as fmt sorts them. */
function goPortSet(ports: string[]): string {
  const keys = [...new Set(ports)].sort(byUtf8);
  return `map[${keys.map((k) => `${k}:{}`).join(' ')}]`;
}

/** Go's %q of an int: the rune it encodes, single-quoted (U+FFFD beyond Unicode or for a surrogate). */
export function goQuoteRune(n: number): string {
  const valid = Number.isInteger(n) && n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff);
  const inner = goQuote(String.fromCodePoint(valid ? n : 0xfffd)).slice(1, -1);
  if (inner === '\\"') return `'"'`;
  if (inner === "'") return `'\\''`;
  return `'${inner}'`;
}

/** Go's time.Duration.String of a nanosecond count: `0s`, `1.5s`, `1m30s`, `1h0m0s`, `250ms`, `1µs`. */
export function goDuration(nanoseconds: number): string {
  let u = BigInt(Math.trunc(nanoseconds));
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u === 0n) return '0s';
  if (u < 1_000_000_000n) {
    const [prec, unit] = u < 1000n ? [0, 'ns'] : u < 1_000_000n ? [3, 'µs'] : [6, 'ms'];
    const [frac, whole] = fraction(u, prec);
    out = `${whole}${frac}${unit}`;
  } else {
    const [frac, secs] = fraction(u, 9);
    out = `${secs % 60n}${frac}s`;
    const mins = secs / 60n;
    if (mins > 0n) {
      out = `${mins % 60n}m${out}`;
      const hours = mins / 60n;
      if (hours > 0n) out = `${hours}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** Go's fmtFrac: the `prec` low digits as a fraction without trailing zeros, and what is left. */
function fraction(v: bigint, prec: number): [string, bigint] {
  let digits = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const d = v % 10n;
    print = print || d !== 0n;
    if (print) digits = `${d}${digits}`;
    v /= 10n;
  }
  return [print ? `.${digits}` : '', v];
}

/**
 * An RFC 3339 time as Go's encoding/json writes it back (RFC3339Nano): fraction without
 * trailing zeros, a zero offset as `Z`. Text that is not RFC 3339 is returned unchanged.
 */
export function goTime(s: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$/.exec(s);
  if (m === null) return s;
  const frac = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[3] === 'z' || m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : (m[3] as string);
  return `${m[1]}${frac ? `.${frac}` : ''}${zone}`;
}

/** SOURCE_DATE_EPOCH seconds as Go writes time.Unix(n, 0).UTC(). */
function epochTime(seconds: number): string {
  if (!Number.isInteger(seconds)) throw new InvalidArgumentError(`SOURCE_DATE_EPOCH must be a whole number of seconds, not ${seconds}`);
  return goTime(new Date(seconds * 1000).toISOString());
}

// ---------------------------------------------------------------------------------------
// Helpers

/** The shell-form argv: the image's SHELL (or the OS default) and the command line. */
function withShell(image: WorkingImage, command: string[]): string[] {
  const shell = image.config.Shell && image.config.Shell.length > 0 ? image.config.Shell : defaultShell(image.os);
  return [...shell, command.join(' ')];
}

function defaultShell(os: string): string[] {
  return os === 'windows' ? ['cmd', '/S', '/C'] : ['/bin/sh', '-c'];
}

function defaultPath(os: string): string {
  return os === 'windows' ? DEFAULT_PATH_WINDOWS : DEFAULT_PATH_UNIX;
}

/** The four proxy settings, as the exec op adds them: upper case, then lower case. */
function proxyVariables(proxy: Record<string, string>): string[] {
  const out: string[] = [];
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY']) {
    let value = '';
    for (const [k, v] of Object.entries(proxy)) if (k.toUpperCase() === name) value = v;
    if (value !== '') out.push(`${name}=${value}`, `${name.toLowerCase()}=${value}`);
  }
  return out;
}

/** llb EnvList.AddOrReplace: an existing key is removed and the pair appended. */
function addOrReplace(env: Array<[string, string]>, key: string, value: string): Array<[string, string]> {
  return [...env.filter(([k]) => k !== key), [key, value]];
}

/** addEnv: an existing key is replaced in place, else the pair is appended (keys case-sensitive on Unix). */
function replaceEnv(env: string[], key: string, value: string): string[] {
  const i = env.findIndex((kv) => splitKeyValue(kv)[0] === key);
  if (i < 0) return [...env, `${key}=${value}`];
  const out = [...env];
  out[i] = `${key}=${value}`;
  return out;
}

function splitKeyValue(kv: string): [string, string] {
  const eq = kv.indexOf('=');
  return eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
}

/** Go's path.Join: the non-empty elements joined with `/` and cleaned. */
function pathJoin(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  return joined === '' ? '' : cleanPath(joined);
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A Go map[string]struct{} with these keys, sorted. */
function emptyStructMap(keys: string[]): Record<string, Record<string, never>> {
  return Object.fromEntries([...new Set(keys)].sort(byUtf8).map((k) => [k, {}]));
}

function cloneState(state: ImageState): ImageState {
  return structuredClone(state);
}
