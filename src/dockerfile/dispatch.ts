/**
 * Stage dispatch: each instruction of a stage as a plan step, in order, with the stage's
 * state (BuildKit's dispatchState: environment, declared ARGs, WORKDIR/SHELL seen):
 * variable expansion of exactly the arguments BuildKit expands (ADD, COPY, ENV, EXPOSE,
 * LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, RUN --mount values; RUN/CMD/ENTRYPOINT are left
 * to the shell), validation after expansion, and the lint rules that judge a step.
 */
import type { EnvGetter } from './ast.js';
import { NON_ENV_ARGS } from './args.js';
import { withLocation, DockerfileError, type LineRange, type SourceFile } from './errors.js';
import {
  parseMount,
  suggest,
  validateChmod,
  validateChown,
  type AddInstruction,
  type ArgInstruction,
  type CopyInstruction,
  type ExposeInstruction,
  type Instruction,
  type RunInstruction,
} from './instructions.js';
import type { LintSink } from './lint.js';
import type { Lexer } from './shell.js';
import type { ArgStep, CopyStep, ListStep, PlanMount, RunStep, StageBase, StageSource, Step, StepBase } from './steps.js';
import { parseExposePort, parseSignal } from './values.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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

function isUrl(src: string): boolean {
  return /^https?:\/\//.test(src);
}

function isGitSource(src: string): boolean {
  return /^(git@|git:\/\/|ssh:\/\/)/.test(src) || (isUrl(src) && /\.git(#.*)?$/.test(src));
}

/** Per-stage dispatch state (BuildKit's dispatchState, the parts a plan needs). */
export interface StageState {
  env: Env;
  envKnown: boolean;
  /** Keys of ARGs declared in this stage (and its base stages). */
  argKeys: Set<string>;
  workdirSet: boolean;
  shellSet: boolean;
  /** Where CMD, ENTRYPOINT and HEALTHCHECK last appeared in this stage (MultipleInstructionsDisallowed). */
  usedOnce: Map<string, LineRange>;
}

/**
 * The state a stage starts with: a copy of its base stage's (`parent`), else a fresh
 * environment (the base image's ENV when `imageEnv` knows it) with a default PATH.
 */
export function initState(base: StageBase, parent: StageState | undefined, imageEnv: ((normalizedRef: string) => string[] | undefined) | undefined): StageState {
  if (base.type === 'stage') {
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
    const known = imageEnv?.(base.normalized);
    if (known === undefined) envKnown = false;
    else {
      for (const kv of known) {
        const eq = kv.indexOf('=');
        env.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
      }
    }
  }
  if (!env.map.has('PATH')) env.set('PATH', DEFAULT_PATH);
  return { env, envKnown, argKeys: new Set(), workdirSet: false, shellSet: false, usedOnce: new Map() };
}

/** What dispatching the instructions of one stage needs. */
export interface DispatchContext {
  src: SourceFile;
  lint: LintSink | undefined;
  lexer: Lexer;
  /** Lexer for heredoc bodies (no quote processing, backslash escapes). */
  rawLexer: Lexer;
  buildArgs: Record<string, string>;
  /** The global ARG values (a stage's bare `ARG NAME` takes its value from here). */
  globalArgs: Map<string, string>;
  /** ARGs declared so far, anywhere (for unusedBuildArgs); dispatch adds the stage's. */
  usedArgs: Set<string>;
  /** This stage's COPY --from sources, resolved, by instruction. */
  copyFrom: Map<Instruction, StageSource>;
  /** This stage's RUN --mount from= sources, resolved, by the written value. */
  mountFrom: Map<string, StageSource>;
  st: StageState;
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
export function dispatch(ctx: DispatchContext, ins: Instruction): Step {
  const { st, lint, lexer, src } = ctx;
  const where = [ins.lines];
  const base: StepBase = { instruction: ins.name, lines: ins.lines, original: ins.original };
  const fail = (problem: string): DockerfileError => new DockerfileError(src, where, problem);
  const expand = (word: string, lx: Lexer = lexer): string => {
    const r = withLocation(src, where, () => lx.processWordWithMatches(word, st.env.getter()));
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
      withLocation(src, where, () => parseSignal(sig));
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
    let written: string | undefined;
    if (a.value !== undefined) {
      // BuildKit expands the default even when a build arg overrides it (the image history shows the default).
      written = override === undefined ? sc.expand(a.value) : withLocation(ctx.src, where, () => ctx.lexer.processWord(a.value as string, ctx.st.env.getter()));
    }
    if (override !== undefined) value = override;
    else if (written !== undefined) value = written;
    else value = ctx.globalArgs.get(a.key);
    ctx.st.argKeys.add(a.key);
    if (value !== undefined && !NON_ENV_ARGS.has(a.key)) ctx.st.env.set(a.key, value, true);
    const arg: ArgStep['args'][number] = value === undefined ? { name: a.key } : { name: a.key, value };
    if (written !== undefined) arg.default = written;
    out.args.push(arg);
  }
  return out;
}

/** EXPOSE: words expanded (and split) with the stage environment, each normalised to `port/proto`. */
function dispatchExpose(sc: InstructionScope, ins: ExposeInstruction): ListStep {
  const { ctx, where } = sc;
  const words: string[] = [];
  for (const p of ins.ports) words.push(...withLocation(ctx.src, where, () => ctx.lexer.processWords(p, ctx.st.env.getter())));
  const values: string[] = [];
  for (const w of words) for (const v of withLocation(ctx.src, where, () => parseExposePort(w, ctx.lint, where))) if (!values.includes(v)) values.push(v);
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
      withLocation(ctx.src, where, () => validateChown(chown));
      step.chown = chown;
    }
  }
  if (ins.chmod !== undefined) {
    const chmod = expand(ins.chmod);
    if (chmod !== '') {
      const mode = withLocation(ctx.src, where, () => validateChmod(chmod));
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
    const from = ctx.copyFrom.get(ins);
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
    const mount: PlanMount = withLocation(ctx.src, where, () => parseMount(m, (w) => expand(w)));
    if (mount.from !== undefined && mount.from !== '') {
      const source = ctx.mountFrom.get(mount.from);
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
