/**
 * The build plan: a Dockerfile resolved into a graph of stages with expanded, validated
 * steps, as BuildKit's dockerfile2llb.toDispatchState sees it before it builds anything.
 *
 * Owns the stage graph: collecting stages (ARGs before the first FROM are global), stage
 * names, FROM expansion with the global ARGs (usable in FROM lines only, unless redeclared
 * in a stage) and linking each FROM to an earlier stage, scratch or an image, stage
 * dependencies (FROM, `COPY --from`, `RUN --mount=from=`; ONBUILD triggers of a base stage
 * run, expanded, in the stage built on it), `--target` pruning, and parallel levels.
 * The rest is delegated: build-arg scoping to args.ts, each stage's steps to dispatch.ts.
 *
 * The plan is plain JSON-serialisable data. Invalid input throws DockerfileError
 * (`Dockerfile:LINE: problem`, with a BuildKit-style source excerpt); a bad option
 * (platform, unknown target) InvalidArgumentError.
 *
 * The build checks (checks.ts) run through the same walk: the planner calls a LintSink
 * (lint.ts) at the points where BuildKit calls its linter, with the rule's format arguments;
 * checks.ts owns the rule texts. Deliberate differences from BuildKit are marked "cairn:".
 */
import { InvalidArgumentError, isCairnError } from '../errors.js';
import { parsePlatform, platformString } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';
import { parseNormalizedReference } from '../reference/reference.js';
import type { ParseResult } from './ast.js';
import { expandMetaArgs, mapGetter, platformArgs, proxyEnv, resolvePlatforms, unusedBuildArgs, type MetaArgs } from './args.js';
import { dispatch, initState, type DispatchContext, type StageState } from './dispatch.js';
import { withLocation, DockerfileError, InstructionError, located, type LineRange, type SourceFile } from './errors.js';
import { parseInstruction, parseMount, suggest, type ArgInstruction, type FromInstruction, type Instruction, type RunMount } from './instructions.js';
import { commandCasing, definitionDescription, lintNode, reportUndefinedFromArgs, type LintSink } from './lint.js';
import { DockerfileSyntaxError, parse } from './parser.js';
import { Lexer } from './shell.js';
import type { StageBase, StageSource, Step } from './steps.js';

// ---------------------------------------------------------------------------------------
// Public types

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
  /**
   * The ONBUILD triggers (config OnBuild) of a base image, when known: a stage built on the
   * image runs them first, parsed and expanded in its own context, as BuildKit does (their
   * COPY --from and mount sources count as the stage's). The builder passes them with imageEnv.
   */
  imageTriggers?: (normalizedRef: string) => string[] | undefined;
  /** Keep every stage instead of pruning to the target's dependencies. */
  allStages?: boolean;
  /** An already parsed file (saves parsing twice). */
  parsed?: ParseResult;
}

// ---------------------------------------------------------------------------------------
// Planning

/** `name`, or `stage-N` for an unnamed stage. */
function stageId(d: StageDraft): string {
  return d.from.stageName ?? `stage-${d.index}`;
}

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
  if (lint) commandCasing(drafts.flatMap((d) => [d.from, ...d.commands]), lint);

  const platforms = resolvePlatforms(opts.platform, opts.buildPlatform);
  const targetStageName = opts.target ?? drafts[drafts.length - 1]?.from.stageName ?? '';
  const defaults = platformArgs(platforms, targetStageName, buildArgs);
  if (lint) lintDefaultBaseNames(src, lexer, metaArgs, defaults, drafts, lint);
  const meta = expandMetaArgs(src, lexer, metaArgs, defaults, buildArgs);

  const byName = resolveFroms(src, lexer, drafts, meta, lint);
  const targetDraft = selectTarget(drafts, byName, opts.target);
  resolveDependencies(src, drafts, byName, opts.imageTriggers);
  const kept = opts.allStages === true ? drafts : neededBy(drafts, targetDraft);

  const usedArgs = new Set<string>(meta.declared.keys());
  const stages = dispatchStages(kept, { src, lint, lexer, imageEnv: opts.imageEnv, buildArgs, globalArgs: meta.env, usedArgs });

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
  const pm = withLocation(src, where, () => lexer.processWordWithMatches(written, mapGetter(globalArgs)), `failed to process arguments for platform ${written}: `);
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
  return withLocation(src, where, () => platformString(parsePlatform(pm.result)), `failed to parse platform ${written}: `);
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
 * Every dependency is an earlier stage (linkBase and resolveSource refuse the others), so the
 * graph has no cycle by construction.
 */
function resolveDependencies(src: SourceFile, drafts: StageDraft[], byName: StageNames, imageTriggers: PlanOptions['imageTriggers']): void {
  for (const d of drafts) {
    if (d.base?.type === 'stage') {
      d.deps.add(d.base.stage);
      const baseDraft = drafts[d.base.stage] as StageDraft;
      // BuildKit runs the triggers at the child's FROM line.
      for (const c of baseDraft.commands) if (c.kind === 'onbuild') d.onbuildTriggers.push({ ...c.trigger, lines: d.from.lines });
    } else if (d.base?.type === 'image' && imageTriggers !== undefined) {
      for (const t of imageTriggers(normalizedImage(src, d, d.base.ref)) ?? []) d.onbuildTriggers.push(parseTrigger(src, d, t));
    }
    for (const t of d.onbuildTriggers) addSources(src, drafts, byName, d, t);
    for (const c of d.commands) addSources(src, drafts, byName, d, c);
  }
}

/** A base image's ONBUILD trigger parsed as one instruction, placed at the stage's FROM line (dispatchOnBuildTriggers). */
function parseTrigger(src: SourceFile, d: StageDraft, trigger: string): Instruction {
  let parsed: ParseResult;
  try {
    parsed = parse(trigger);
  } catch (err) {
    if (err instanceof DockerfileSyntaxError) throw new DockerfileError(src, [d.from.lines], err.detail, { cause: err });
    throw err;
  }
  const node = parsed.ast.children[0];
  if (node === undefined || parsed.ast.children.length !== 1) throw new DockerfileError(src, [d.from.lines], 'onbuild trigger should be a single expression');
  try {
    return { ...parseInstruction(node), lines: d.from.lines };
  } catch (err) {
    if (err instanceof InstructionError) throw new DockerfileError(src, [d.from.lines], err.message, { cause: err });
    throw err;
  }
}

/** Resolve an instruction's COPY --from and RUN --mount from= into the stage's sources and dependencies. */
function addSources(src: SourceFile, drafts: StageDraft[], byName: StageNames, d: StageDraft, ins: Instruction): void {
  if (ins.kind === 'copy' && ins.from !== undefined) d.copyFrom.set(ins, resolveSource(src, drafts, byName, d, ins.from, [ins.lines]));
  if (ins.kind !== 'run') return;
  for (const m of ins.mounts) {
    const mount: RunMount = withLocation(src, [ins.lines], () => parseMount(m));
    if (mount.from !== undefined && mount.from !== '') d.mountFrom.set(mount.from, resolveSource(src, drafts, byName, d, mount.from, [ins.lines]));
  }
}

/** A `--from` value: a stage index, an earlier stage's name, or an image reference. */
function resolveSource(src: SourceFile, drafts: StageDraft[], byName: StageNames, d: StageDraft, from: string, where: LineRange[]): StageSource {
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
  imageEnv: PlanOptions['imageEnv'];
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
    const st = initState(base, base.type === 'stage' ? states.get(base.stage) : undefined, pc.imageEnv);
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
    const ctx: DispatchContext = { ...pc, rawLexer, copyFrom: d.copyFrom, mountFrom: d.mountFrom, st };
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
  let normalized = withLocation(src, [d.from.lines], () => parseNormalizedReference(ref).toString(), `failed to parse stage name ${JSON.stringify(ref)}: `);
  if (!/[:@]/.test(normalized.slice(normalized.lastIndexOf('/')))) normalized += ':latest';
  return normalized;
}

// ---- helpers

/** Whether `s` is a valid image reference. */
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

/** ` (did you mean X?)` for the first of `names` close to one of `options`, else empty. */
function didYouMeanAny(names: Set<string>, options: string[]): string {
  for (const n of names) {
    const s = suggest(n, options);
    if (s !== undefined) return ` (did you mean ${s}?)`;
  }
  return '';
}
