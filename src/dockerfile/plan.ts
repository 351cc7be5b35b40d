/**
 * The build plan: a Dockerfile resolved into a graph of stages with expanded, validated
 * steps, as BuildKit's dockerfile2llb.toDispatchState sees it before it builds anything.
 *
 * Owns: ARG scoping (global ARGs before the first FROM usable in FROM lines only, unless
 * redeclared in a stage; defaults; `--build-arg` overrides; the automatic platform ARGs;
 * the predefined proxy ARGs), variable expansion of exactly the arguments BuildKit expands
 * (ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, RUN --mount
 * values; RUN/CMD/ENTRYPOINT are left to the shell; ONBUILD triggers are expanded where they
 * run, not where they are defined), stage dependencies (FROM, `COPY --from`,
 * `RUN --mount=from=`), `--target` pruning, and parallel levels.
 *
 * The plan is plain JSON-serialisable data. Invalid input throws DockerfileError
 * (`Dockerfile:LINE: problem`, with a BuildKit-style source excerpt).
 *
 * The build checks (checks.ts) run through the same walk: plan.ts calls a LintSink at the
 * points where BuildKit calls its linter, with the rule's format arguments; checks.ts owns
 * the rule texts. Deliberate differences from BuildKit are marked "cairn:" below.
 */
import { InvalidArgumentError, isCairnError } from '../errors.js';
import { hostPlatform, parsePlatform, platformString } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';
import { parseNormalizedReference } from '../reference/reference.js';
import type { EnvGetter, Heredoc, Node, ParseResult } from './ast.js';
import { DockerfileError, InstructionError, type LineRange, type SourceFile } from './errors.js';
import {
  parseInstruction,
  parseMount,
  suggest,
  validateChmod,
  validateChown,
  type AddInstruction,
  type ArgInstruction,
  type CopyInstruction,
  type ExposeInstruction,
  type FromInstruction,
  type HealthcheckConfig,
  type HeredocSource,
  type Instruction,
  type RunInstruction,
  type RunMount,
} from './instructions.js';
import { DockerfileSyntaxError, parse } from './parser.js';
import { Lexer } from './shell.js';

// ---------------------------------------------------------------------------------------
// Public types

/** Where a stage starts from. */
export type StageBase =
  | { type: 'scratch' }
  /** `ref` as written after expansion; `normalized` in full form (docker.io/library/x:latest). */
  | { type: 'image'; ref: string; normalized: string }
  | { type: 'stage'; stage: number };

/** Where a COPY --from or a mount reads from. */
export type StageSource = { stage: number } | { image: string };

interface StepBase {
  /** Upper-case instruction name. */
  instruction: string;
  lines: LineRange;
  /** Instruction text as written. */
  original: string;
  /** true for an ONBUILD trigger inherited from the base stage and run here. */
  onbuild?: boolean;
}

export interface RunStep extends StepBase {
  instruction: 'RUN';
  /** Shell form: `[commandLine]`; JSON form: argv. Not expanded: the shell does that. */
  command: string[];
  shell: boolean;
  heredocs: Heredoc[];
  mounts: PlanMount[];
  network?: string;
  security?: string;
  /**
   * ARG values the command sees as environment variables but that are not stored in the
   * image config (BuildKit adds ARGs to the run environment; ENV set later wins).
   */
  args: Array<[string, string]>;
}

export interface PlanMount extends RunMount {
  /** Resolved `from=`: an earlier stage, or an image. */
  fromSource?: StageSource;
}

export interface CommandStep extends StepBase {
  instruction: 'CMD' | 'ENTRYPOINT';
  command: string[];
  shell: boolean;
}

export interface ShellStep extends StepBase {
  instruction: 'SHELL';
  shell: string[];
}

export interface CopyStep extends StepBase {
  instruction: 'COPY' | 'ADD';
  sources: string[];
  heredocs: HeredocSource[];
  dest: string;
  /** COPY --from, resolved. */
  from?: StageSource;
  chown?: string;
  chmod?: string;
  /** Numeric mode when --chmod was octal. */
  mode?: number;
  link: boolean;
  parents?: boolean;
  exclude: string[];
  checksum?: string;
  keepGitDir?: boolean;
  unpack?: boolean;
}

export interface KeyValueStep extends StepBase {
  instruction: 'ENV' | 'LABEL';
  pairs: Array<[string, string]>;
}

export interface ArgStep extends StepBase {
  instruction: 'ARG';
  /** Resolved values; `value` undefined when the ARG has none. */
  args: Array<{ name: string; value?: string }>;
}

export interface ValueStep extends StepBase {
  instruction: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER' | 'ONBUILD';
  value: string;
}

export interface ListStep extends StepBase {
  instruction: 'VOLUME' | 'EXPOSE';
  /** VOLUME paths, or EXPOSE ports normalised to `port/proto`. */
  values: string[];
}

export interface HealthcheckStep extends StepBase, HealthcheckConfig {
  instruction: 'HEALTHCHECK';
}

export type Step = RunStep | CommandStep | ShellStep | CopyStep | KeyValueStep | ArgStep | ValueStep | ListStep | HealthcheckStep;

export interface PlanStage {
  /** Position among all FROM lines, 0-based (what `COPY --from=0` names). */
  index: number;
  name?: string;
  /** `name`, or `stage-N` for an unnamed stage. */
  id: string;
  base: StageBase;
  /** Expanded `--platform`, when given. */
  platform?: string;
  lines: LineRange;
  original: string;
  /** Earlier stages this one needs (its base, COPY --from, RUN --mount from=), sorted. */
  dependsOn: number[];
  /** External images this stage needs (base image, COPY --from / mount images). */
  images: string[];
  /** Parallel wave: 0 for stages that need no other stage, else 1 + the deepest dependency. */
  level: number;
  steps: Step[];
}

export interface Plan {
  file: string;
  escapeToken: '\\' | '`';
  syntax?: string;
  platforms: { build: string; target: string };
  /** Index of the target stage. */
  target: number;
  /** Global ARGs (before the first FROM) after defaults and overrides. */
  args: Array<{ name: string; value?: string; line: number }>;
  /** Stages the target needs (every stage with `allStages`), in file order. */
  stages: PlanStage[];
  /** Stage indices by level: each group can run in parallel once the previous ones are done. */
  groups: number[][];
  /** Proxy settings from the build args, passed to RUN without being declared or stored. */
  proxyEnv: Record<string, string>;
  /** Build args that no ARG consumed (Docker warns about them). */
  unusedBuildArgs: string[];
}

export interface PlanOptions {
  text: string;
  /** Display name for messages, default `Dockerfile`. */
  file?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /** Target platform (`linux/arm64` or an object); default the host's. */
  platform?: string | Platform;
  /** Build platform; default the host's. */
  buildPlatform?: string | Platform;
  /**
   * The ENV (`KEY=VALUE` list) of a base image, when known: expansion inside a stage built
   * on an image sees the image's variables, as in BuildKit. The builder can plan once, pull
   * the bases, and plan again with this. Unknown images count as having only PATH.
   */
  imageEnv?: (normalizedRef: string) => string[] | undefined;
  /** Keep every stage instead of pruning to the target's dependencies. */
  allStages?: boolean;
  /** An already parsed file (saves parsing twice). */
  parsed?: ParseResult;
}

// ---------------------------------------------------------------------------------------
// Lint hook (rule texts live in checks.ts)

export type RuleName =
  | 'StageNameCasing'
  | 'FromAsCasing'
  | 'NoEmptyContinuation'
  | 'ConsistentInstructionCasing'
  | 'DuplicateStageName'
  | 'ReservedStageName'
  | 'JSONArgsRecommended'
  | 'MaintainerDeprecated'
  | 'UndefinedArgInFrom'
  | 'WorkdirRelativePath'
  | 'UndefinedVar'
  | 'MultipleInstructionsDisallowed'
  | 'LegacyKeyValueFormat'
  | 'RedundantTargetPlatform'
  | 'SecretsUsedInArgOrEnv'
  | 'InvalidDefaultArgInFrom'
  | 'FromPlatformFlagConstDisallowed'
  | 'CopyIgnoredFile'
  | 'InvalidDefinitionDescription'
  | 'ExposeProtoCasing'
  | 'ExposeInvalidFormat';

/** Receives rule hits with the arguments of the rule's message format. */
export interface LintSink {
  run(rule: RuleName, ranges: LineRange[], ...args: string[]): void;
  /** Matcher for CopyIgnoredFile, when a .dockerignore applies. */
  ignored?: (path: string) => boolean;
}

// ---------------------------------------------------------------------------------------
// Constants

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

const SIGNALS: Record<string, number> = {
  ABRT: 6,
  ALRM: 14,
  BUS: 7,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  FPE: 8,
  HUP: 1,
  ILL: 4,
  INT: 2,
  IO: 29,
  IOT: 6,
  KILL: 9,
  PIPE: 13,
  POLL: 29,
  PROF: 27,
  PWR: 30,
  QUIT: 3,
  SEGV: 11,
  STKFLT: 16,
  STOP: 19,
  SYS: 31,
  TERM: 15,
  TRAP: 5,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  USR1: 10,
  USR2: 12,
  VTALRM: 26,
  WINCH: 28,
  XCPU: 24,
  XFSZ: 25,
};

/** moby/sys/signal ParseSignal: a number, or a name with or without SIG, or RTMIN+n. */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = parseInt(s, 10);
    if (n === 0) throw new InvalidArgumentError(`Invalid signal: ${s}`);
    return n;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  const n = SIGNALS[name];
  if (n !== undefined) return n;
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = rt[1] === undefined ? 0 : parseInt(rt[1], 10);
    const v = name.startsWith('RTMIN') ? 34 + off : 64 - off;
    if (v >= 34 && v <= 64) return v;
  }
  throw new InvalidArgumentError(`Invalid signal: ${s}`);
}

// ---------------------------------------------------------------------------------------
// Small helpers

/** An ordered environment: BuildKit's llb state env, remembering which entries ARG set. */
class Env {
  readonly map = new Map<string, { value: string; fromArg: boolean }>();
  set(k: string, value: string, fromArg = false): void {
    this.map.delete(k);
    this.map.set(k, { value, fromArg });
  }
  getter(): EnvGetter {
    const m = this.map;
    return { get: (k) => m.get(k)?.value, keys: () => [...m.keys()] };
  }
  clone(): Env {
    const e = new Env();
    for (const [k, v] of this.map) e.map.set(k, { ...v });
    return e;
  }
}

/** EnvGetter over a Map, keeping insertion order like llb.EnvList. */
function mapGetter(m: Map<string, string>): EnvGetter {
  return { get: (k) => m.get(k), keys: () => [...m.keys()] };
}

function toPlatform(p: string | Platform | undefined): Platform {
  if (p === undefined) return hostPlatform();
  return typeof p === 'string' ? parsePlatform(p) : p;
}

function isUrl(src: string): boolean {
  return /^https?:\/\//.test(src);
}

function isGitSource(src: string): boolean {
  return /^(git@|git:\/\/|ssh:\/\/)/.test(src) || (isUrl(src) && /\.git(#.*)?$/.test(src));
}

/** Position of a FROM line etc. for errors. */
type Where = LineRange[];

// ---------------------------------------------------------------------------------------
// EXPOSE (convert_expose.go)

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  if (parts.length === 1) return ['', '', parts[0] as string];
  if (parts.length === 2) return ['', parts[0] as string, parts[1] as string];
  const n = parts.length;
  return [parts.slice(0, n - 2).join(':'), parts[n - 2] as string, parts[n - 1] as string];
}

function parsePortNumber(s: string): number {
  if (s === '') throw new InvalidArgumentError('value is empty');
  if (!/^[+-]?\d+$/.test(s)) throw new InvalidArgumentError('invalid syntax');
  const n = parseInt(s, 10);
  if (n < 0 || n > 65535) throw new InvalidArgumentError('value out of range (0–65535)');
  return n;
}

function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new InvalidArgumentError('empty string specified for ports');
  const dash = ports.indexOf('-');
  const start = dash < 0 ? ports : ports.slice(0, dash);
  const end = dash < 0 ? '' : ports.slice(dash + 1);
  let s: number;
  try {
    s = parsePortNumber(start);
  } catch (e) {
    if (!isCairnError(e)) throw e;
    throw new InvalidArgumentError(`invalid start port '${start}': ${e.message}`, { cause: e });
  }
  if (dash < 0 || start === end) return [s, s];
  let e2: number;
  try {
    e2 = parsePortNumber(end);
  } catch (e) {
    if (!isCairnError(e)) throw e;
    throw new InvalidArgumentError(`invalid end port '${end}': ${e.message}`, { cause: e });
  }
  if (e2 < s) throw new InvalidArgumentError('invalid port range: ' + ports);
  return [s, e2];
}

/** One EXPOSE word to `port/proto` entries, reporting the two EXPOSE rules. */
function parseExposePort(raw: string, lint: LintSink | undefined, where: Where): string[] {
  const [ip, hostPort, containerPortProto] = splitParts(raw);
  const slash = containerPortProto.indexOf('/');
  const containerPort = slash < 0 ? containerPortProto : containerPortProto.slice(0, slash);
  let proto = slash < 0 ? '' : containerPortProto.slice(slash + 1);
  if (containerPort === '') throw new InvalidArgumentError(`invalid port: ${JSON.stringify(raw)}: no port specified`);
  const lower = proto.toLowerCase();
  if (lower === '') proto = 'tcp';
  else if (lower !== 'tcp' && lower !== 'udp' && lower !== 'sctp') throw new InvalidArgumentError(`invalid port: ${JSON.stringify(raw)}: invalid proto: ${proto}`);
  if (lint) {
    if (proto !== proto.toLowerCase()) lint.run('ExposeProtoCasing', where, raw);
    if (ip !== '' || hostPort !== '') lint.run('ExposeInvalidFormat', where, raw);
  }
  let [start, end] = [0, 0];
  try {
    [start, end] = parsePortRange(containerPort);
  } catch (e) {
    // BuildKit reports the container port only, dropping the parse detail.
    if (!isCairnError(e)) throw e;
    throw new InvalidArgumentError('invalid containerPort: ' + containerPort);
  }
  if (hostPort !== '') {
    let hs: number;
    let he: number;
    try {
      [hs, he] = parsePortRange(hostPort);
    } catch (e) {
      // As above: BuildKit's message names the host port only.
      if (!isCairnError(e)) throw e;
      throw new InvalidArgumentError('invalid hostPort: ' + hostPort);
    }
    if (end - start !== he - hs && end !== start) {
      throw new InvalidArgumentError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}

// ---------------------------------------------------------------------------------------
// Errors

/**
 * `err` from a helper (lexer, mount or reference parser, value check) as a DockerfileError
 * at `where`. Only CairnErrors are input problems; anything else is a bug and is rethrown.
 */
function located(src: SourceFile, where: LineRange[], err: unknown, prefix = ''): DockerfileError {
  if (err instanceof DockerfileError) return err;
  if (!isCairnError(err)) throw err;
  return new DockerfileError(src, where, prefix + err.message, { cause: err });
}

/** Run `fn`, turning the input errors it throws into DockerfileErrors at `where`. */
function at<T>(src: SourceFile, where: LineRange[], fn: () => T, prefix = ''): T {
  try {
    return fn();
  } catch (err) {
    throw located(src, where, err, prefix);
  }
}

/** `name`, or `stage-N` for an unnamed stage. */
function stageId(d: StageDraft): string {
  return d.from.stageName ?? `stage-${d.index}`;
}

// ---------------------------------------------------------------------------------------
// Planning

interface StageDraft {
  index: number;
  from: FromInstruction;
  commands: Instruction[];
  /** The FROM image after expansion (a stage name, `scratch` or an image reference). */
  baseName: string;
  base?: StageBase;
  platform?: string;
  deps: Set<number>;
  images: Set<string>;
  /** Resolved COPY --from / mount sources, by command position. */
  copyFrom: Map<Instruction, StageSource>;
  mountFrom: Map<string, StageSource>;
  onbuildTriggers: Instruction[];
}

/** Stages by name; a later duplicate shadows an earlier one (BuildKit's map overwrite). */
type StageNames = Map<string, StageDraft>;

function findStage(byName: StageNames, name: string): StageDraft | undefined {
  return byName.get(name.toLowerCase());
}

/** Per-stage dispatch state (BuildKit's dispatchState, the parts a plan needs). */
interface StageState {
  env: Env;
  envKnown: boolean;
  /** Keys of ARGs declared in this stage (and its base stages). */
  argKeys: Set<string>;
  workdirSet: boolean;
  shellSet: boolean;
  /** Where CMD, ENTRYPOINT and HEALTHCHECK last appeared in this stage (MultipleInstructionsDisallowed). */
  usedOnce: Map<string, LineRange>;
}

/** Global ARG values and declarations (BuildKit's buildMetaArgs). */
interface MetaArgs {
  /** Platform defaults, then the global ARGs, in declaration order. */
  env: Map<string, string>;
  declared: Map<string, { value?: string; line: number }>;
}

/**
 * The plan for a Dockerfile. Throws DockerfileError for invalid input, InvalidArgumentError
 * for a bad option (platform, unknown target).
 */
export function planDockerfile(opts: PlanOptions): Plan {
  return buildPlan(opts);
}

/**
 * planDockerfile with the lint hook checks.ts uses. With a sink, problems BuildKit only warns
 * about (a duplicate stage name) are reported through it instead of failing the plan.
 */
export function buildPlan(opts: PlanOptions, lint?: LintSink): Plan {
  const src: SourceFile = { name: opts.file ?? 'Dockerfile', text: opts.text };
  const buildArgs = opts.buildArgs ?? {};
  const parsed = parseSource(src, opts.parsed, lint);
  const lexer = new Lexer(parsed.escapeToken);

  const { metaArgs, drafts } = collectStages(src, parsed, lint);
  checkStageNames(src, drafts, lint);
  if (lint) commandCasing(drafts, lint);

  const platforms = resolvePlatforms(opts);
  const targetStageName = opts.target ?? drafts[drafts.length - 1]?.from.stageName ?? '';
  const defaults = platformArgs(platforms, targetStageName, buildArgs);
  if (lint) lintDefaultBaseNames(src, lexer, metaArgs, defaults, drafts, lint);
  const meta = expandMetaArgs(src, lexer, metaArgs, defaults, buildArgs);

  const byName = resolveFroms(src, lexer, drafts, meta, lint);
  const targetDraft = selectTarget(drafts, byName, opts.target);
  resolveDependencies(src, drafts, byName);
  validateNoCycle(src, drafts);
  const kept = opts.allStages === true ? drafts : neededBy(drafts, targetDraft);

  const usedArgs = new Set<string>(meta.declared.keys());
  const stages = dispatchStages(kept, { src, lint, lexer, opts, buildArgs, globalArgs: meta.env, usedArgs });

  const plan: Plan = {
    file: src.name,
    escapeToken: parsed.escapeToken,
    platforms: { build: platformString(platforms.build), target: platformString(platforms.target) },
    target: targetDraft.index,
    args: [...meta.declared].map(([name, v]) => (v.value === undefined ? { name, line: v.line } : { name, value: v.value, line: v.line })),
    stages,
    groups: assignLevels(stages),
    proxyEnv: proxyEnv(buildArgs),
    unusedBuildArgs: unusedBuildArgs(buildArgs, usedArgs),
  };
  if (parsed.directives.syntax !== undefined) plan.syntax = parsed.directives.syntax.value;
  return plan;
}

/** The parsed file (parsing it unless the caller already did), reporting NoEmptyContinuation. */
function parseSource(src: SourceFile, already: ParseResult | undefined, lint: LintSink | undefined): ParseResult {
  if (src.text.length === 0) throw new DockerfileError(src, [], 'the Dockerfile cannot be empty');
  let parsed: ParseResult;
  try {
    parsed = already ?? parse(src.text);
  } catch (err) {
    if (err instanceof DockerfileSyntaxError) throw new DockerfileError(src, err.line > 0 ? [{ start: err.line, end: err.endLine }] : [], err.detail, { cause: err });
    throw err;
  }
  if (lint) {
    for (const w of parsed.warnings) {
      if ((w.url ?? '').includes('no-empty-continuation') || w.short.startsWith('Empty continuation line')) {
        lint.run('NoEmptyContinuation', w.location.map((l) => ({ start: l.start.line, end: l.end.line })));
      }
    }
  }
  return parsed;
}

/** Instructions into the global ARGs before the first FROM and the stages (instructions.Parse). */
function collectStages(src: SourceFile, parsed: ParseResult, lint: LintSink | undefined): { metaArgs: ArgInstruction[]; drafts: StageDraft[] } {
  const metaArgs: ArgInstruction[] = [];
  const drafts: StageDraft[] = [];
  for (const node of parsed.ast.children) {
    if (lint) lintNode(node, lint);
    let ins: Instruction;
    try {
      ins = parseInstruction(node);
    } catch (err) {
      if (err instanceof InstructionError) throw new DockerfileError(src, err.ranges, err.message, { cause: err });
      throw err;
    }
    if (lint) definitionDescription(ins, node, lint);
    if (ins.kind === 'from') {
      drafts.push({
        index: drafts.length,
        from: ins,
        commands: [],
        baseName: ins.image,
        deps: new Set(),
        images: new Set(),
        copyFrom: new Map(),
        mountFrom: new Map(),
        onbuildTriggers: [],
      });
      continue;
    }
    const current = drafts[drafts.length - 1];
    if (current !== undefined) current.commands.push(ins);
    else if (ins.kind === 'arg') metaArgs.push(ins);
    else throw new DockerfileError(src, [ins.lines], `no build stage in current context: ${ins.keyword} comes before the first FROM (only ARG may)`);
  }
  if (drafts.length === 0) throw new DockerfileError(src, [], 'dockerfile contains no stages to build');
  return { metaArgs, drafts };
}

/** Stage names must be unique (validateStageNames); reserved names are reported. */
function checkStageNames(src: SourceFile, drafts: StageDraft[], lint: LintSink | undefined): void {
  const seen = new Map<string, StageDraft>();
  for (const d of drafts) {
    const name = d.from.stageName;
    if (name === undefined) continue;
    if (name === 'context' || name === 'scratch') lint?.run('ReservedStageName', [d.from.lines], name);
    const prev = seen.get(name);
    if (prev !== undefined) {
      if (lint) lint.run('DuplicateStageName', [d.from.lines], name);
      // cairn: BuildKit only warns (the later stage shadows the earlier one); a plan refuses.
      else throw new DockerfileError(src, [prev.from.lines, d.from.lines], `duplicate stage name ${JSON.stringify(name)}: stage names must be unique (first used on line ${prev.from.lines.start})`);
    }
    seen.set(name, d);
  }
}

// ---- build-arg scoping

function resolvePlatforms(opts: PlanOptions): { build: Platform; target: Platform } {
  try {
    return { target: toPlatform(opts.platform), build: toPlatform(opts.buildPlatform) };
  } catch (err) {
    if (!isCairnError(err)) throw err;
    throw new InvalidArgumentError(`invalid platform: ${err.message}`, { cause: err });
  }
}

/** The automatic platform ARGs (BuildKit's defaultArgs), overridable by build args. */
function platformArgs(p: { build: Platform; target: Platform }, targetStageName: string, buildArgs: Record<string, string>): Map<string, string> {
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
function expandMetaArgs(src: SourceFile, lexer: Lexer, metaArgs: ArgInstruction[], defaults: Map<string, string>, overrides: Record<string, string> | undefined): MetaArgs {
  const env = new Map(defaults);
  const declared = new Map<string, { value?: string; line: number }>();
  for (const cmd of metaArgs) {
    for (const a of cmd.args) {
      let value: string | undefined = overrides?.[a.key];
      if (value === undefined && a.value !== undefined) {
        const word = a.value;
        value = at(src, [cmd.lines], () => lexer.processWordWithMatches(word, mapGetter(env)).result);
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

/** InvalidDefaultArgInFrom: base names must be valid with the ARG defaults alone. */
function lintDefaultBaseNames(src: SourceFile, lexer: Lexer, metaArgs: ArgInstruction[], defaults: Map<string, string>, drafts: StageDraft[], lint: LintSink): void {
  let env: Map<string, string>;
  try {
    env = expandMetaArgs(src, lexer, metaArgs, defaults, undefined).env;
  } catch (err) {
    // BuildKit abandons this check when the defaults do not expand; the real pass reports it.
    if (err instanceof DockerfileError) return;
    throw err;
  }
  for (const d of drafts) {
    let result: string;
    try {
      result = lexer.processWord(d.from.image, mapGetter(env));
    } catch (err) {
      // As BuildKit: an expansion error here is reported by the real pass.
      if (isCairnError(err)) return;
      throw err;
    }
    if (!validReference(result)) lint.run('InvalidDefaultArgInFrom', [d.from.lines], d.from.image);
  }
}

// ---- FROM resolution

/** Expand each FROM (image and --platform) with the global ARGs and link it to its base (addState). */
function resolveFroms(src: SourceFile, lexer: Lexer, drafts: StageDraft[], meta: MetaArgs, lint: LintSink | undefined): StageNames {
  const fromArgKeys = new Set<string>([...meta.declared.keys(), ...meta.env.keys()]);
  const byName: StageNames = new Map();
  for (const d of drafts) {
    const where = [d.from.lines];
    let nameMatch;
    try {
      nameMatch = lexer.processWordWithMatches(d.from.image, mapGetter(meta.env));
    } catch (err) {
      reportUndefinedFromArgs(lint, fromArgKeys, new Set(), where);
      throw located(src, where, err);
    }
    reportUndefinedFromArgs(lint, fromArgKeys, nameMatch.unmatched, where);
    if (nameMatch.result === '') throw new DockerfileError(src, where, `base name (${d.from.image}) should not be blank`);
    d.baseName = nameMatch.result;
    if (d.from.platform !== undefined) d.platform = expandFromPlatform(src, lexer, d, d.from.platform, meta.env, fromArgKeys, lint);
    d.base = linkBase(src, d, drafts, byName);
    if (d.from.stageName !== undefined) byName.set(d.from.stageName, d);
  }
  return byName;
}

/** A FROM --platform value expanded and normalised, reporting the platform rules. */
function expandFromPlatform(src: SourceFile, lexer: Lexer, d: StageDraft, written: string, globalArgs: Map<string, string>, fromArgKeys: Set<string>, lint: LintSink | undefined): string {
  const where = [d.from.lines];
  const pm = at(src, where, () => lexer.processWordWithMatches(written, mapGetter(globalArgs)), `failed to process arguments for platform ${written}: `);
  reportUndefinedFromArgs(lint, fromArgKeys, pm.unmatched, where);
  if (lint) {
    if (pm.matched.size === 1 && pm.unmatched.size === 0 && pm.matched.has('TARGETPLATFORM') && pm.result === globalArgs.get('TARGETPLATFORM')) {
      lint.run('RedundantTargetPlatform', where, written);
    }
    if (pm.matched.size === 0 && pm.unmatched.size === 0) {
      let p: Platform | undefined;
      try {
        p = parsePlatform(pm.result);
      } catch (err) {
        // Reported as an error just below.
        if (!isCairnError(err)) throw err;
        p = undefined;
      }
      const stage = d.from.stageName ?? '';
      if (p !== undefined && !stage.includes(p.os) && !stage.includes(p.architecture)) lint.run('FromPlatformFlagConstDisallowed', where, pm.result);
    }
  }
  if (pm.result === '') throw new DockerfileError(src, where, `empty platform value from expression ${written}${didYouMeanAny(pm.unmatched, [...globalArgs.keys()])}`);
  return at(src, where, () => platformString(parsePlatform(pm.result)), `failed to parse platform ${written}: `);
}

/** What an expanded FROM names: an earlier stage, scratch, or an image. */
function linkBase(src: SourceFile, d: StageDraft, drafts: StageDraft[], byName: StageNames): StageBase {
  const baseStage = byName.get(d.baseName);
  if (baseStage !== undefined) return { type: 'stage', stage: baseStage.index };
  if (d.baseName === 'scratch') return { type: 'scratch' };
  const later = drafts.find((o) => o.index > d.index && o.from.stageName === d.baseName.toLowerCase());
  // cairn: BuildKit would try to pull an image named like the later stage; that is never what was meant.
  if (later !== undefined) {
    throw new DockerfileError(src, [d.from.lines], `stage ${JSON.stringify(later.from.stageName)} is defined later (line ${later.from.lines.start}); FROM can only use an earlier stage`);
  }
  return { type: 'image', ref: d.baseName, normalized: '' };
}

// ---- target selection

/** The stage `--target` names (the last stage without one). */
function selectTarget(drafts: StageDraft[], byName: StageNames, target: string | undefined): StageDraft {
  if (target === undefined || target === '') return drafts[drafts.length - 1] as StageDraft;
  const t = findStage(byName, target);
  if (t !== undefined) return t;
  const names = drafts.map((d) => d.from.stageName).filter((n): n is string => n !== undefined);
  const hint = suggest(target, names, false);
  throw new InvalidArgumentError(`target stage ${JSON.stringify(target)} could not be found${hint ? ` (did you mean ${hint}?)` : ''}`);
}

/** The stages `target` needs, itself included, in file order. */
function neededBy(drafts: StageDraft[], target: StageDraft): StageDraft[] {
  const reachable = new Set<number>();
  const visit = (i: number): void => {
    if (reachable.has(i)) return;
    reachable.add(i);
    for (const dep of (drafts[i] as StageDraft).deps) visit(dep);
  };
  visit(target.index);
  return drafts.filter((d) => reachable.has(d.index));
}

// ---- dependency ordering

/**
 * Each stage's dependencies (toCommand / detectRunMount): its base stage, COPY --from and
 * RUN --mount from= sources, also those of the ONBUILD triggers inherited from a base stage.
 */
function resolveDependencies(src: SourceFile, drafts: StageDraft[], byName: StageNames): void {
  for (const d of drafts) {
    if (d.base?.type === 'stage') {
      d.deps.add(d.base.stage);
      const baseDraft = drafts[d.base.stage] as StageDraft;
      // BuildKit runs the triggers at the child's FROM line.
      for (const c of baseDraft.commands) if (c.kind === 'onbuild') d.onbuildTriggers.push({ ...c.trigger, lines: d.from.lines });
      for (const t of d.onbuildTriggers) addSources(src, drafts, byName, d, t);
    }
    for (const c of d.commands) addSources(src, drafts, byName, d, c);
  }
}

function addSources(src: SourceFile, drafts: StageDraft[], byName: StageNames, d: StageDraft, ins: Instruction): void {
  if (ins.kind === 'copy' && ins.from !== undefined) d.copyFrom.set(ins, resolveSource(src, drafts, byName, d, ins.from, [ins.lines]));
  if (ins.kind !== 'run') return;
  for (const m of ins.mounts) {
    const mount: RunMount = at(src, [ins.lines], () => parseMount(m));
    if (mount.from !== undefined && mount.from !== '') d.mountFrom.set(mount.from, resolveSource(src, drafts, byName, d, mount.from, [ins.lines]));
  }
}

/** A `--from` value: a stage index, an earlier stage's name, or an image reference. */
function resolveSource(src: SourceFile, drafts: StageDraft[], byName: StageNames, d: StageDraft, from: string, where: Where): StageSource {
  let dep: StageDraft | undefined;
  if (/^\d+$/.test(from)) {
    const i = parseInt(from, 10);
    dep = drafts[i];
    if (dep === undefined) throw new DockerfileError(src, where, `invalid stage index ${i}`);
  } else dep = findStage(byName, from);
  if (dep === undefined) {
    if (!validReference(from)) throw new DockerfileError(src, where, `failed to parse stage name ${JSON.stringify(from)}: not a stage name or a valid image reference`);
    d.images.add(from);
    return { image: from };
  }
  if (dep === d) throw new DockerfileError(src, where, `circular dependency detected on stage: ${stageId(d)}`);
  if (dep.index > d.index) {
    throw new DockerfileError(src, where, `cannot copy from stage ${JSON.stringify(from)}, it needs to be defined before current stage ${JSON.stringify(stageId(d))}`);
  }
  d.deps.add(dep.index);
  return { stage: dep.index };
}

function validateNoCycle(src: SourceFile, drafts: StageDraft[]): void {
  const state = new Map<number, 'visiting' | 'done'>();
  const walk = (i: number): void => {
    state.set(i, 'visiting');
    for (const dep of (drafts[i] as StageDraft).deps) {
      const s = state.get(dep);
      if (s === 'visiting') {
        const d = drafts[i] as StageDraft;
        throw new DockerfileError(src, [d.from.lines], `circular dependency detected on stage: ${stageId(d)}`);
      }
      if (s === undefined) walk(dep);
    }
    state.set(i, 'done');
  };
  for (const d of drafts) if (!state.has(d.index)) walk(d.index);
}

/** Parallel waves: a stage runs one level after its deepest dependency. */
function assignLevels(stages: PlanStage[]): number[][] {
  const levelOf = new Map<number, number>();
  for (const s of stages) {
    let level = 0;
    for (const dep of s.dependsOn) level = Math.max(level, (levelOf.get(dep) ?? 0) + 1);
    levelOf.set(s.index, level);
    s.level = level;
  }
  const groups: number[][] = [];
  for (const s of stages) (groups[s.level] ??= []).push(s.index);
  return groups;
}

// ---- stage dispatch

interface PlanContext {
  src: SourceFile;
  lint: LintSink | undefined;
  lexer: Lexer;
  opts: PlanOptions;
  buildArgs: Record<string, string>;
  globalArgs: Map<string, string>;
  /** ARGs some stage or the global scope declared (for unusedBuildArgs). */
  usedArgs: Set<string>;
}

/** Each kept stage's steps: inherited ONBUILD triggers first, then its own commands. */
function dispatchStages(kept: StageDraft[], pc: PlanContext): PlanStage[] {
  const rawLexer = new Lexer('\\');
  rawLexer.skipProcessQuotes = true;
  const states = new Map<number, StageState>();
  const stages: PlanStage[] = [];
  for (const d of kept) {
    const base = d.base as StageBase;
    if (base.type === 'image') {
      base.normalized = normalizedImage(pc.src, d, base.ref);
      d.images.add(base.ref);
    }
    const st = initState(base, states, pc.opts);
    const stage: PlanStage = {
      index: d.index,
      id: stageId(d),
      base,
      lines: d.from.lines,
      original: d.from.original,
      dependsOn: [...d.deps].sort((a, b) => a - b),
      images: [...d.images],
      level: 0,
      steps: [],
    };
    if (d.from.stageName !== undefined) stage.name = d.from.stageName;
    if (d.platform !== undefined) stage.platform = d.platform;
    const ctx: DispatchContext = { ...pc, d, st, rawLexer };
    for (const t of d.onbuildTriggers) {
      const step = dispatch(ctx, t);
      step.onbuild = true;
      stage.steps.push(step);
    }
    for (const c of d.commands) stage.steps.push(dispatch(ctx, c));
    states.set(d.index, st);
    stages.push(stage);
  }
  return stages;
}

/** A base image reference in full form (docker.io/library/x:latest). */
function normalizedImage(src: SourceFile, d: StageDraft, ref: string): string {
  let normalized = at(src, [d.from.lines], () => parseNormalizedReference(ref).toString(), `failed to parse stage name ${JSON.stringify(ref)}: `);
  if (!/[:@]/.test(normalized.slice(normalized.lastIndexOf('/')))) normalized += ':latest';
  return normalized;
}

// ---- what the build args leave over

/** Proxy settings from the build args, passed to RUN without being declared or stored. */
function proxyEnv(buildArgs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(buildArgs)) if (PROXY_ARGS.includes(k) || PROXY_ARGS.includes(k.toUpperCase())) out[k] = v;
  return out;
}

/** Build args that no ARG consumed and BuildKit does not read itself. */
function unusedBuildArgs(buildArgs: Record<string, string>, usedArgs: Set<string>): string[] {
  return Object.keys(buildArgs)
    .filter((k) => !usedArgs.has(k) && !PROXY_ARGS.includes(k) && !PLATFORM_ARGS.includes(k) && !k.startsWith('BUILDKIT_') && !NON_ENV_ARGS.has(k))
    .sort();
}

// ---- lint helpers

/** StageNameCasing, FromAsCasing and MaintainerDeprecated, judged on the node as written. */
function lintNode(node: Node, lint: LintSink): void {
  if (node.value === 'maintainer') lint.run('MaintainerDeprecated', [lines(node)]);
  if (node.value !== 'from') return;
  const args: string[] = [];
  for (let n = node.next; n !== null; n = n.next) args.push(n.value);
  if (args.length === 3 && args[2] !== (args[2] as string).toLowerCase()) lint.run('StageNameCasing', [lines(node)], args[2] as string);
  if (args.length >= 3) {
    const kw = /^\s*(\S+)/.exec(node.original)?.[1] ?? 'FROM';
    const as = args[1] as string;
    const lower = kw === kw.toLowerCase();
    const upper = kw === kw.toUpperCase();
    if ((lower && as !== as.toLowerCase()) || (!lower && upper && as !== as.toUpperCase())) lint.run('FromAsCasing', [lines(node)], kw, as);
  }
}

function lines(node: Node): LineRange {
  return { start: node.startLine, end: Math.max(node.startLine, node.endLine) };
}

function validReference(s: string): boolean {
  try {
    parseNormalizedReference(s);
    return true;
  } catch (err) {
    // Only validity matters here.
    if (!isCairnError(err)) throw err;
    return false;
  }
}

function didYouMeanAny(names: Set<string>, options: string[]): string {
  for (const n of names) {
    const s = suggest(n, options);
    if (s !== undefined) return ` (did you mean ${s}?)`;
  }
  return '';
}

function reportUndefinedFromArgs(lint: LintSink | undefined, known: Set<string>, unmatched: Set<string>, where: Where): void {
  if (!lint) return;
  for (const arg of unmatched) {
    if (known.has(arg)) continue;
    lint.run('UndefinedArgInFrom', where, arg, suggest(arg, known) ?? '');
  }
}

/** InvalidDefinitionDescription (experimental): `# name description` above FROM ... AS name / ARG name. */
function definitionDescription(ins: Instruction, node: Node, lint: LintSink): void {
  let keys: string[] = [];
  if (ins.kind === 'from' && ins.stageName !== undefined) keys = [ins.stageName];
  else if (ins.kind === 'arg') keys = ins.args.map((a) => a.key);
  else return;
  const comments = node.prevComment;
  if (comments.length === 0 || keys.length === 0) return;
  const first = (comments[comments.length - 1] as string).split(' ')[0] as string;
  if (keys.includes(first)) return;
  lint.run('InvalidDefinitionDescription', [ins.lines], ins.kind === 'from' ? 'FROM' : 'ARG', keys.length > 1 ? '<arg_key>' : (keys[0] as string));
}

/** ConsistentInstructionCasing over stage commands (BuildKit's validateCommandCasing). */
function commandCasing(drafts: StageDraft[], lint: LintSink): void {
  let lower = 0;
  let upper = 0;
  const all: Array<{ kw: string; where: LineRange }> = [];
  for (const d of drafts) {
    all.push({ kw: d.from.keyword, where: d.from.lines });
    for (const c of d.commands) all.push({ kw: c.keyword, where: c.lines });
  }
  for (const { kw } of all) {
    if (kw === kw.toLowerCase()) lower++;
    else if (kw === kw.toUpperCase()) upper++;
  }
  const majorityLower = lower > upper;
  for (const { kw, where } of all) {
    if (majorityLower && kw.toLowerCase() !== kw) lint.run('ConsistentInstructionCasing', [where], kw, 'lowercase');
    else if (!majorityLower && kw.toUpperCase() !== kw) lint.run('ConsistentInstructionCasing', [where], kw, 'uppercase');
  }
}

function initState(base: StageBase, states: Map<number, StageState>, opts: PlanOptions): StageState {
  if (base.type === 'stage') {
    const parent = states.get(base.stage);
    if (parent !== undefined) {
      return {
        env: parent.env.clone(),
        envKnown: parent.envKnown,
        argKeys: new Set(parent.argKeys),
        workdirSet: parent.workdirSet,
        shellSet: parent.shellSet,
        usedOnce: new Map(),
      };
    }
  }
  const env = new Env();
  let envKnown = true;
  if (base.type === 'image') {
    const imageEnv = opts.imageEnv?.(base.normalized);
    if (imageEnv === undefined) envKnown = false;
    else {
      for (const kv of imageEnv) {
        const eq = kv.indexOf('=');
        env.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
      }
    }
  }
  if (!env.map.has('PATH')) env.set('PATH', DEFAULT_PATH);
  return { env, envKnown, argKeys: new Set(), workdirSet: false, shellSet: false, usedOnce: new Map() };
}

interface DispatchContext extends PlanContext {
  d: StageDraft;
  st: StageState;
  /** Lexer for heredoc bodies (no quote processing, backslash escapes). */
  rawLexer: Lexer;
}

/** What one instruction's dispatch needs: the context, where it is, and the stage's expansion. */
interface InstructionScope {
  ctx: DispatchContext;
  where: LineRange[];
  base: StepBase;
  /** Expand one word with the stage environment, reporting UndefinedVar (BuildKit's Expand). */
  expand: (word: string, lx?: Lexer) => string;
  /** A DockerfileError at this instruction. */
  fail: (problem: string) => DockerfileError;
}

/** One instruction of a stage as a plan step, updating the stage state (ENV, ARG, SHELL, ...). */
function dispatch(ctx: DispatchContext, ins: Instruction): Step {
  const { st, lint, lexer, src } = ctx;
  const where = [ins.lines];
  const base: StepBase = { instruction: ins.name, lines: ins.lines, original: ins.original };
  const fail = (problem: string): DockerfileError => new DockerfileError(src, where, problem);
  const expand = (word: string, lx: Lexer = lexer): string => {
    const r = at(src, where, () => lx.processWordWithMatches(word, st.env.getter()));
    if (lint && st.envKnown) {
      for (const name of r.unmatched) {
        if (st.argKeys.has(name) || NON_ENV_ARGS.has(name)) continue;
        lint.run('UndefinedVar', where, name, suggest(name, st.env.map.keys()) ?? '');
      }
    }
    return r.result;
  };
  const scope: InstructionScope = { ctx, where, base, expand, fail };
  /** MultipleInstructionsDisallowed: only the last CMD / ENTRYPOINT / HEALTHCHECK counts. */
  const usedOnce = (): void => {
    const prev = st.usedOnce.get(ins.name);
    if (prev !== undefined) lint?.run('MultipleInstructionsDisallowed', [prev], ins.keyword);
    st.usedOnce.set(ins.name, ins.lines);
  };

  switch (ins.kind) {
    case 'from':
      throw fail('FROM inside a stage');
    case 'env':
    case 'label': {
      // All pairs are expanded against the environment before the instruction.
      const pairs = ins.pairs.map((p) => [expand(p.key), expand(p.value)] as [string, string]);
      ins.pairs.forEach((p, i) => {
        if (p.legacy) lint?.run('LegacyKeyValueFormat', where, ins.keyword);
        if (ins.kind === 'env') {
          const key = (pairs[i] as [string, string])[0];
          if (isSecretKey(key)) lint?.run('SecretsUsedInArgOrEnv', where, 'ENV', key);
        }
      });
      if (ins.kind === 'env') for (const [k, v] of pairs) st.env.set(k, v);
      return { ...base, instruction: ins.kind === 'env' ? 'ENV' : 'LABEL', pairs };
    }
    case 'arg':
      return dispatchArg(scope, ins);
    case 'maintainer':
      return { ...base, instruction: 'MAINTAINER', value: ins.maintainer };
    case 'workdir': {
      const path = expand(ins.path);
      if (!st.workdirSet && !path.startsWith('/')) lint?.run('WorkdirRelativePath', where, path);
      st.workdirSet = true;
      return { ...base, instruction: 'WORKDIR', value: path };
    }
    case 'user':
      return { ...base, instruction: 'USER', value: expand(ins.user) };
    case 'stopsignal': {
      const sig = expand(ins.signal);
      at(src, where, () => parseSignal(sig));
      return { ...base, instruction: 'STOPSIGNAL', value: sig };
    }
    case 'volume': {
      const values = ins.volumes.map((v) => expand(v));
      if (values.some((v) => v === '')) throw fail('VOLUME specified can not be an empty string');
      return { ...base, instruction: 'VOLUME', values };
    }
    case 'expose':
      return dispatchExpose(scope, ins);
    case 'add':
    case 'copy':
      return dispatchCopy(scope, ins);
    case 'run':
      return dispatchRun(scope, ins);
    case 'cmd':
    case 'entrypoint': {
      usedOnce();
      if (ins.prependShell && !st.shellSet) lint?.run('JSONArgsRecommended', where, ins.keyword);
      return { ...base, instruction: ins.kind === 'cmd' ? 'CMD' : 'ENTRYPOINT', command: ins.command.slice(), shell: ins.prependShell };
    }
    case 'healthcheck': {
      usedOnce();
      const { test, interval, timeout, startPeriod, startInterval, retries } = ins;
      return { ...base, instruction: 'HEALTHCHECK', test: test.slice(), interval, timeout, startPeriod, startInterval, retries };
    }
    case 'shell':
      st.shellSet = true;
      return { ...base, instruction: 'SHELL', shell: ins.shell.slice() };
    case 'onbuild':
      return { ...base, instruction: 'ONBUILD', value: ins.expression };
  }
}

/** ARG inside a stage: a build arg overrides, else the default expands, else the global value. */
function dispatchArg(sc: InstructionScope, ins: ArgInstruction): ArgStep {
  const { ctx, where } = sc;
  const out: ArgStep = { ...sc.base, instruction: 'ARG', args: [] };
  for (const a of ins.args) {
    if (isSecretKey(a.key)) ctx.lint?.run('SecretsUsedInArgOrEnv', where, 'ARG', a.key);
    ctx.usedArgs.add(a.key);
    const override = ctx.buildArgs[a.key];
    let value: string | undefined;
    if (override !== undefined) value = override;
    else if (a.value !== undefined) value = sc.expand(a.value);
    else value = ctx.globalArgs.get(a.key);
    ctx.st.argKeys.add(a.key);
    if (value !== undefined && !NON_ENV_ARGS.has(a.key)) ctx.st.env.set(a.key, value, true);
    out.args.push(value === undefined ? { name: a.key } : { name: a.key, value });
  }
  return out;
}

/** EXPOSE: words expanded (and split) with the stage environment, each normalised to `port/proto`. */
function dispatchExpose(sc: InstructionScope, ins: ExposeInstruction): ListStep {
  const { ctx, where } = sc;
  const words: string[] = [];
  for (const p of ins.ports) words.push(...at(ctx.src, where, () => ctx.lexer.processWords(p, ctx.st.env.getter())));
  const values: string[] = [];
  for (const w of words) for (const v of at(ctx.src, where, () => parseExposePort(w, ctx.lint, where))) if (!values.includes(v)) values.push(v);
  return { ...sc.base, instruction: 'EXPOSE', values };
}

/** COPY / ADD: flags validated after expansion, sources checked against the instruction and .dockerignore. */
function dispatchCopy(sc: InstructionScope, ins: CopyInstruction | AddInstruction): CopyStep {
  const { ctx, where, expand, fail } = sc;
  const step: CopyStep = {
    ...sc.base,
    instruction: ins.kind === 'add' ? 'ADD' : 'COPY',
    sources: [],
    heredocs: [],
    dest: '',
    link: ins.link,
    exclude: ins.exclude.slice(),
  };
  if (ins.chown !== undefined) {
    const chown = expand(ins.chown);
    if (chown !== '') {
      at(ctx.src, where, () => validateChown(chown));
      step.chown = chown;
    }
  }
  if (ins.chmod !== undefined) {
    const chmod = expand(ins.chmod);
    if (chmod !== '') {
      const mode = at(ctx.src, where, () => validateChmod(chmod));
      step.chmod = chmod;
      if (mode !== undefined) step.mode = mode;
    }
  }
  if (ins.kind === 'add') {
    if (ins.checksum !== undefined) {
      const checksum = expand(ins.checksum);
      if (checksum !== '') {
        if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(checksum)) throw fail(`invalid checksum digest format: ${checksum}`);
        step.checksum = checksum;
      }
    }
    step.keepGitDir = ins.keepGitDir;
    if (ins.unpack !== undefined) step.unpack = ins.unpack;
  } else {
    step.parents = ins.parents;
    const from = ctx.d.copyFrom.get(ins);
    if (from !== undefined) step.from = from;
  }
  step.sources = ins.sources.map((s) => expand(s));
  step.dest = expand(ins.dest);
  step.heredocs = ins.heredocSources.map((h) => (h.expand ? { ...h, data: expand(h.data, ctx.rawLexer) } : { ...h }));
  if (step.checksum !== undefined) {
    if (step.sources.length !== 1) throw fail("checksum can't be specified for multiple sources");
    if (!isUrl(step.sources[0] as string) || isGitSource(step.sources[0] as string)) throw fail("checksum can't be specified for non-HTTP(S) sources");
  }
  if (ins.kind === 'copy') {
    for (const s of step.sources) {
      if (isGitSource(s)) throw fail("source can't be a git ref for COPY");
      if (isUrl(s)) throw fail("source can't be a URL for COPY");
    }
  }
  const lint = ctx.lint;
  if (lint?.ignored && step.from === undefined) {
    for (const s of step.sources) {
      if (isUrl(s) || isGitSource(s)) continue;
      if (lint.ignored(cleanRel(s))) lint.run('CopyIgnoredFile', where, ins.kind === 'add' ? 'Add' : 'Copy', s);
    }
  }
  return step;
}

/** RUN: mounts expanded and linked to their resolved sources; the ARG values the command sees. */
function dispatchRun(sc: InstructionScope, ins: RunInstruction): RunStep {
  const { ctx, where, expand } = sc;
  const mounts: PlanMount[] = ins.mounts.map((m) => {
    const mount: PlanMount = at(ctx.src, where, () => parseMount(m, (w) => expand(w)));
    if (mount.from !== undefined && mount.from !== '') {
      const source = ctx.d.mountFrom.get(mount.from);
      if (source !== undefined) mount.fromSource = source;
    }
    return mount;
  });
  const args: Array<[string, string]> = [];
  for (const [k, v] of ctx.st.env.map) if (v.fromArg) args.push([k, v.value]);
  const step: RunStep = { ...sc.base, instruction: 'RUN', command: ins.command.slice(), shell: ins.prependShell, heredocs: ins.heredocs.slice(), mounts, args };
  if (ins.network !== undefined) step.network = ins.network;
  if (ins.security !== undefined) step.security = ins.security;
  return step;
}

/** A COPY source as a context-relative path for .dockerignore matching. */
function cleanRel(s: string): string {
  // cairn: BuildKit matches the source as written, so `./foo` escapes a `foo` pattern; we clean it first.
  const parts: string[] = [];
  for (const p of s.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return parts.length === 0 ? '.' : parts.join('/');
}

const SECRET_RE = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOW_RE = /(?:_|^)(?:public)(?:_|$)/i;

/** BuildKit's secret-looking names for SecretsUsedInArgOrEnv. */
function isSecretKey(key: string): boolean {
  return SECRET_RE.test(key) && !SECRET_ALLOW_RE.test(key);
}
