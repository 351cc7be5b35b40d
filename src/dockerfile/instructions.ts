/**
 * Typed Dockerfile instructions from AST nodes (BuildKit's frontend/dockerfile/instructions):
 * argument-count checks, per-instruction flag parsing and validation (bflag.go), and the
 * `RUN --mount` grammar (commands_runmount.go). No variable expansion happens here: values
 * are kept as written, and plan.ts expands exactly the ones BuildKit expands.
 *
 * Errors are InstructionError (message + line range); plan.ts turns them into
 * DockerfileError with the file name and the source excerpt.
 */
import { InvalidArgumentError, isCairnError } from '../errors.js';
import type { Heredoc, Node } from './ast.js';
import { InstructionError, type LineRange } from './errors.js';
import { parseHeredocWord } from './parser.js';

// ---------------------------------------------------------------------------------------
// Types

interface Base {
  /** Canonical upper-case instruction name (`RUN`, `COPY`, ...). */
  name: string;
  /** The keyword as written (`run`, `Run`, `RUN`): the casing checks look at it. */
  keyword: string;
  lines: LineRange;
  /** Instruction text as written, continuations joined. */
  original: string;
  /** Flags as written (`--from=build`). */
  rawFlags: string[];
}

export interface FromInstruction extends Base {
  kind: 'from';
  /** Base name as written (may contain `$VAR`). */
  image: string;
  /** Stage name lower-cased, when `AS name` is given. */
  stageName?: string;
  /** Stage name as written. */
  stageNameWritten?: string;
  /** The `AS` keyword as written. */
  asKeyword?: string;
  /** `--platform` value as written. */
  platform?: string;
}

export interface ArgDefinition {
  key: string;
  /** Default as written (quotes kept; expanded at plan time), undefined when none. */
  value?: string;
}

export interface ArgInstruction extends Base {
  kind: 'arg';
  args: ArgDefinition[];
}

export interface KeyValue {
  key: string;
  value: string;
  /** true for the legacy whitespace-separated form (`ENV key value`). */
  legacy: boolean;
}

export interface EnvInstruction extends Base {
  kind: 'env';
  pairs: KeyValue[];
}

export interface LabelInstruction extends Base {
  kind: 'label';
  pairs: KeyValue[];
}

export interface MaintainerInstruction extends Base {
  kind: 'maintainer';
  maintainer: string;
}

/** An inline source (`COPY <<EOF /dest`). */
export interface HeredocSource {
  path: string;
  data: string;
  expand: boolean;
}

export interface CopyLikeBase extends Base {
  sources: string[];
  heredocSources: HeredocSource[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
}

export interface CopyInstruction extends CopyLikeBase {
  kind: 'copy';
  from?: string;
  parents: boolean;
}

export interface AddInstruction extends CopyLikeBase {
  kind: 'add';
  checksum?: string;
  keepGitDir: boolean;
  /** Set only when `--unpack` was given. */
  unpack?: boolean;
}

export interface RunInstruction extends Base {
  kind: 'run';
  /** Shell form: one element, the command line; JSON form: the argv. */
  command: string[];
  /** true for shell form (the shell is prepended when run). */
  prependShell: boolean;
  heredocs: Heredoc[];
  /** `--mount` values as written. */
  mounts: string[];
  network?: string;
  security?: string;
}

export interface CmdInstruction extends Base {
  kind: 'cmd';
  command: string[];
  prependShell: boolean;
}

export interface EntrypointInstruction extends Base {
  kind: 'entrypoint';
  command: string[];
  prependShell: boolean;
}

export interface ShellInstruction extends Base {
  kind: 'shell';
  shell: string[];
}

export interface WorkdirInstruction extends Base {
  kind: 'workdir';
  path: string;
}

export interface UserInstruction extends Base {
  kind: 'user';
  user: string;
}

export interface VolumeInstruction extends Base {
  kind: 'volume';
  volumes: string[];
}

export interface ExposeInstruction extends Base {
  kind: 'expose';
  ports: string[];
}

export interface StopSignalInstruction extends Base {
  kind: 'stopsignal';
  signal: string;
}

/** A HEALTHCHECK's settings, as the instruction gives them and the plan step keeps them. */
export interface HealthcheckConfig {
  /** `['NONE']`, or `['CMD', ...argv]` / `['CMD-SHELL', command]`. */
  test: string[];
  /** Durations in nanoseconds (0 when not given), as Docker's image config stores them. */
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface HealthcheckInstruction extends Base, HealthcheckConfig {
  kind: 'healthcheck';
}

export interface OnbuildInstruction extends Base {
  kind: 'onbuild';
  /** The trigger text (`RUN echo hi`), as stored in the image config. */
  expression: string;
  /** The trigger, parsed now so that errors show at definition time. */
  trigger: Instruction;
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | EnvInstruction
  | LabelInstruction
  | MaintainerInstruction
  | CopyInstruction
  | AddInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | WorkdirInstruction
  | UserInstruction
  | VolumeInstruction
  | ExposeInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

/** All instruction keywords BuildKit knows, upper-case. */
const INSTRUCTION_NAMES = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;

// ---------------------------------------------------------------------------------------
// Suggestions (BuildKit's util/suggest)

function levenshtein(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[n] as number;
}

/**
 * The closest option to `value` (edit distance below 3, and below the word's length for
 * very short words), or undefined. Like BuildKit's suggest.Search.
 */
export function suggest(value: string, options: Iterable<string>, caseSensitive = true): string | undefined {
  const v = caseSensitive ? value : value.toLowerCase();
  let best: string | undefined;
  let min = Math.min(3, Math.max(v.length, 1));
  for (const opt of options) {
    const o = caseSensitive ? opt : opt.toLowerCase();
    if (o === v) return opt === value ? undefined : opt;
    const d = levenshtein(v, o);
    if (d < min) {
      min = d;
      best = opt;
    }
  }
  return best;
}

function didYouMean(value: string, options: Iterable<string>, caseSensitive = true): string {
  const s = suggest(value, options, caseSensitive);
  return s === undefined ? '' : ` (did you mean ${s}?)`;
}

// ---------------------------------------------------------------------------------------
// Flags (bflag.go)

type FlagKind = 'bool' | 'string' | 'strings';
type FlagSpec = Record<string, FlagKind>;

/** Parsed flags: string and bool values by name; repeated (`strings`) flags as arrays. */
export interface ParsedFlags {
  strings: Map<string, string>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
  used: Set<string>;
}

/** Which flags each instruction takes (BuildKit's parse.go `req.flags.Add*` calls). */
const FLAG_SPECS: Record<string, FlagSpec> = {
  from: { platform: 'string' },
  add: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    unpack: 'bool',
    exclude: 'strings',
  },
  copy: {
    chown: 'string',
    chmod: 'string',
    from: 'string',
    link: 'bool',
    parents: 'bool',
    exclude: 'strings',
  },
  run: { mount: 'strings', network: 'string', security: 'string' },
  healthcheck: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

/**
 * BFlags.Parse: every word must be `--name[=value]`; a bare `--` ends the flags; bool flags
 * take no value or `=true`/`=false`; string flags need `=value`; only repeatable flags may
 * be given twice.
 */
export function parseFlags(instruction: string, words: string[], spec: FlagSpec, lines: LineRange): ParsedFlags {
  const out: ParsedFlags = { strings: new Map(), bools: new Map(), lists: new Map(), used: new Set() };
  const err = (msg: string): InstructionError => new InstructionError([lines], msg);
  for (const word of words) {
    if (!word.startsWith('--')) throw err(`arg should start with -- : ${word}`);
    if (word === '--') break;
    let name = word.slice(2);
    let value = '';
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const kind = spec[name];
    if (kind === undefined) {
      const names = Object.keys(spec);
      if (names.length === 0) throw err(`${instruction} does not take flags: --${name}`);
      throw err(`unknown flag for ${instruction}: --${name}${didYouMean(name, names).replace(/\(did you mean (.*)\?\)/, '(did you mean --$1?)')}`);
    }
    if (out.used.has(name) && kind !== 'strings') throw err(`duplicate flag specified: --${name}`);
    out.used.add(name);
    switch (kind) {
      case 'bool': {
        if (eq >= 0 && value === '') throw err(`missing a value on flag: --${name}`);
        const lower = value.toLowerCase();
        if (lower === '' || lower === 'true') out.bools.set(name, true);
        else if (lower === 'false') out.bools.set(name, false);
        else throw err(`expecting boolean value for flag --${name}, not: ${value}`);
        break;
      }
      case 'string':
        if (eq < 0) throw err(`missing a value on flag: --${name}`);
        out.strings.set(name, value);
        break;
      case 'strings': {
        if (eq < 0) throw err(`missing a value on flag: --${name}`);
        const list = out.lists.get(name) ?? [];
        list.push(value);
        out.lists.set(name, list);
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Value validators shared with plan.ts (they run again after expansion)

/**
 * `--chmod`: an octal mode up to 07777 (BuildKit's check), or a symbolic mode such as
 * `u+x,go-w` (accepted by current BuildKit). Returns the numeric mode for octal values.
 */
export function validateChmod(value: string): number | undefined {
  if (/^[0-7]+$/.test(value)) {
    const mode = parseInt(value, 8);
    if (mode <= 0o7777) return mode;
  } else if (/^[ugoa]*[-+=][rwxXst]*([-+=][rwxXst]*)*(,[ugoa]*[-+=][rwxXst]*([-+=][rwxXst]*)*)*$/.test(value)) {
    return undefined;
  }
  throw new InvalidArgumentError(`invalid chmod parameter: '${value}'. it should be octal string and between 0 and 07777`);
}

/** `--chown`: `user[:group]`, names or numeric ids, no whitespace. */
export function validateChown(value: string): void {
  if (!/^[^:\s]+(:[^:\s]+)?$/.test(value)) {
    throw new InvalidArgumentError(`invalid chown parameter: '${value}'. it should be user[:group] (names or numeric ids)`);
  }
}

/** RUN --network values BuildKit accepts. */
const NETWORK_MODES = ['default', 'none', 'host'] as const;
/** RUN --security values BuildKit accepts. */
const SECURITY_MODES = ['sandbox', 'insecure'] as const;

// ---------------------------------------------------------------------------------------
// RUN --mount (commands_runmount.go)

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

export interface RunMount {
  type: MountType;
  from?: string;
  source?: string;
  target?: string;
  readOnly: boolean;
  /** `id=`: cache id, secret id or ssh id. */
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  /** tmpfs size in bytes. */
  size?: number;
  /** secret exposed as this environment variable. */
  env?: string;
}

const MOUNT_TYPES: readonly string[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const MOUNT_KEYS = [
  'type',
  'from',
  'source',
  'src',
  'target',
  'dst',
  'destination',
  'readonly',
  'ro',
  'readwrite',
  'rw',
  'required',
  'id',
  'sharing',
  'mode',
  'uid',
  'gid',
  'size',
  'env',
];

/** One CSV record as Go's encoding/csv reads it (quoted fields may contain commas). */
export function parseCsvRecord(s: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new InvalidArgumentError(`parse error: extraneous or missing " in quoted-field`);
        const ch = s[i] as string;
        if (ch === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      if (i < s.length && s[i] !== ',') throw new InvalidArgumentError(`parse error: extraneous or missing " in quoted-field`);
    } else {
      while (i < s.length && s[i] !== ',') {
        if (s[i] === '"') throw new InvalidArgumentError(`parse error: bare " in non-quoted-field`);
        field += s[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= s.length) break;
    i++; // comma
  }
  return fields;
}

function parseBool(key: string, value: string): boolean {
  switch (value) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      throw new InvalidArgumentError(`invalid value for ${key}: ${value}`);
  }
}

function parseUint(value: string, radix: 8 | 10, what: string): number {
  const ok = radix === 8 ? /^[0-7]+$/.test(value) : /^[0-9]+$/.test(value);
  const n = ok ? parseInt(value, radix) : NaN;
  if (!ok || n > 0xffffffff) throw new InvalidArgumentError(`invalid value ${value} for ${what}`);
  return n;
}

/** go-units RAMInBytes: `64m`, `1g`, `512k`, plain bytes. */
function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(value);
  if (!m) throw new InvalidArgumentError(`invalid value for size: ${value}`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * (mult[(m[2] ?? '').toLowerCase()] as number));
}

/**
 * Parse one `--mount` value. With `expand`, every value is expanded first (dispatch time,
 * as BuildKit does); without it only the syntax is checked and `from=` must not contain a
 * variable ("'from' doesn't support variable expansion, define alias stage instead").
 */
export function parseMount(value: string, expand?: (word: string) => string): RunMount {
  let fields: string[];
  try {
    fields = parseCsvRecord(value);
  } catch (e) {
    if (!isCairnError(e)) throw e;
    throw new InvalidArgumentError(`failed to parse csv mounts: ${e.message}`, { cause: e });
  }
  const m: RunMount = { type: 'bind', readOnly: false, required: false };
  let roAuto = true;
  let sawMode = false;
  let sawUid = false;
  let sawGid = false;
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        m.readOnly = true;
        roAuto = false;
        continue;
      }
      if (key === 'readwrite' || key === 'rw') {
        m.readOnly = false;
        roAuto = false;
        continue;
      }
      if (key === 'required') {
        if (m.type === 'secret' || m.type === 'ssh') {
          m.required = true;
          continue;
        }
        throw new InvalidArgumentError(`unexpected key '${key}' for mount type '${m.type}'`);
      }
      throw new InvalidArgumentError(`invalid field '${field}' must be a key=value pair`);
    }
    let v = field.slice(eq + 1);
    if (!MOUNT_KEYS.includes(key)) {
      throw new InvalidArgumentError(`unexpected key '${key}' in '${field}'${didYouMean(key, MOUNT_KEYS)}`);
    }
    if (expand) v = expand(v);
    else if (key === 'from' && /\$./.test(v)) {
      throw new InvalidArgumentError(`'${key}' doesn't support variable expansion, define alias stage instead`);
    } else if (v.includes('$')) continue; // checked again after expansion
    switch (key) {
      case 'type': {
        const t = v.toLowerCase();
        if (!MOUNT_TYPES.includes(t)) throw new InvalidArgumentError(`unsupported mount type ${JSON.stringify(v)}${didYouMean(t, MOUNT_TYPES)}`);
        m.type = t as MountType;
        break;
      }
      case 'from':
        m.from = v;
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v;
        break;
      case 'readonly':
      case 'ro':
        m.readOnly = parseBool(key, v);
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        m.readOnly = !parseBool(key, v);
        roAuto = false;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new InvalidArgumentError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseBool(key, v);
        break;
      case 'id':
        m.id = v;
        break;
      case 'sharing': {
        const s = v.toLowerCase();
        if (s !== 'shared' && s !== 'private' && s !== 'locked') throw new InvalidArgumentError(`unsupported sharing value ${JSON.stringify(v)}`);
        m.sharing = s;
        break;
      }
      case 'mode':
        m.mode = parseUint(v, 8, 'mode');
        sawMode = true;
        break;
      case 'uid':
        m.uid = parseUint(v, 10, 'uid');
        sawUid = true;
        break;
      case 'gid':
        m.gid = parseUint(v, 10, 'gid');
        sawGid = true;
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw new InvalidArgumentError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.size = parseSize(v);
        break;
      case 'env':
        if (m.type !== 'secret') throw new InvalidArgumentError(`unexpected key '${key}' for mount type '${m.type}'`);
        m.env = v;
        break;
    }
  }
  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  if (sawMode && !fileInfoAllowed) throw new InvalidArgumentError(`mode not allowed for ${JSON.stringify(m.type)} type mounts`);
  if (sawUid && !fileInfoAllowed) throw new InvalidArgumentError(`uid not allowed for ${JSON.stringify(m.type)} type mounts`);
  if (sawGid && !fileInfoAllowed) throw new InvalidArgumentError(`gid not allowed for ${JSON.stringify(m.type)} type mounts`);
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.sharing !== undefined && m.type !== 'cache') throw new InvalidArgumentError(`invalid cache sharing set for ${m.type} mount`);
  if (m.type === 'secret') {
    if (m.from !== undefined) throw new InvalidArgumentError('secret mount should not have a from');
    if (m.source === undefined && m.target === undefined && m.id === undefined && m.env === undefined && expand) {
      throw new InvalidArgumentError('invalid secret mount. one of source, target required');
    }
    if (m.source !== undefined && m.id !== undefined) throw new InvalidArgumentError("both source and id can't be set");
  }
  if (expand && (m.type === 'bind' || m.type === 'cache' || m.type === 'tmpfs') && (m.target === undefined || m.target === '')) {
    throw new InvalidArgumentError(`mount type=${m.type} requires a target`);
  }
  return m;
}

// ---------------------------------------------------------------------------------------
// Durations (Go's time.ParseDuration)

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  const orig = s;
  if (s === '0') return 0;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '') throw new InvalidArgumentError(`time: invalid duration ${JSON.stringify(orig)}`);
  let total = 0;
  const re = /^(\d*\.?\d*)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/; // µs (micro sign) and μs (Greek mu)
  while (s !== '') {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') {
      if (/^\d*\.?\d*$/.test(s)) throw new InvalidArgumentError(`time: missing unit in duration ${JSON.stringify(orig)}`);
      throw new InvalidArgumentError(`time: invalid duration ${JSON.stringify(orig)}`);
    }
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    s = s.slice(m[0].length);
  }
  return Math.round(neg ? -total : total);
}

// ---------------------------------------------------------------------------------------
// Instruction parsing (parse.go)

/** The keyword as written in the source, falling back to the upper-case name. */
function writtenKeyword(node: Node): string {
  const m = /^\s*(\S+)/.exec(node.original);
  const word = m?.[1];
  if (word !== undefined && word.toLowerCase() === node.value.toLowerCase()) return word;
  return node.value.toUpperCase();
}

/** BuildKit's nodeArgs: the argument values, with an ONBUILD sub-command flattened in. */
function nodeArgs(node: Node): string[] {
  const out: string[] = [];
  for (let n = node.next; n !== null; n = n.next) {
    if (n.children.length === 0) out.push(n.value);
    else if (n.children.length === 1) {
      const child = n.children[0] as Node;
      out.push(child.value, ...nodeArgs(child));
    }
  }
  return out;
}

function nodeLines(node: Node): LineRange {
  return { start: node.startLine, end: Math.max(node.endLine, node.startLine) };
}

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

/** Is this word a heredoc marker (`<<EOF`, `<<-"EOF"`)? */
function heredocName(word: string): { name: string } | undefined {
  const h = parseHeredocWord(word);
  return h === null ? undefined : { name: h.name };
}

function handleJsonArgs(args: string[], json: boolean): string[] {
  if (args.length === 0) return [];
  if (json) return args;
  return [args.join(' ')];
}

/** What every per-instruction parser gets. */
interface Req {
  node: Node;
  name: string;
  lines: LineRange;
  keyword: string;
  args: string[];
  json: boolean;
  base: Base;
}

function reqError(r: Req, msg: string): InstructionError {
  return new InstructionError([r.lines], msg);
}

function reqFlags(r: Req): ParsedFlags {
  return parseFlags(r.name, r.node.flags, FLAG_SPECS[r.node.value.toLowerCase()] ?? {}, r.lines);
}

function exactlyOne(r: Req): string {
  if (r.args.length !== 1) throw reqError(r, `${r.name} requires exactly one argument`);
  return r.args[0] as string;
}

function atLeastOne(r: Req): void {
  if (r.args.length === 0) throw reqError(r, `${r.name} requires at least one argument`);
}

function keyValues(r: Req): KeyValue[] {
  const { args, name } = r;
  if (args.length === 0) throw reqError(r, `${name} requires at least one argument`);
  if (args.length % 3 !== 0) throw reqError(r, `Bad input to ${name}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    const key = args[i] as string;
    if (key === '') throw reqError(r, `${name} names can not be blank`);
    out.push({ key, value: args[i + 1] as string, legacy: args[i + 2] === '' });
  }
  return out;
}

function copyLike(r: Req): Omit<CopyLikeBase, keyof Base> {
  const { args, name, node } = r;
  if (args.length < 2) {
    throw reqError(r, `${name} requires at least two arguments, but only one was provided. Destination could not be determined`);
  }
  const dest = args[args.length - 1] as string;
  if (heredocName(dest) !== undefined) throw reqError(r, `${name} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const heredocSources: HeredocSource[] = [];
  for (let i = 0; i < args.length - 1; i++) {
    const src = args[i] as string;
    const h = heredocName(src);
    const doc = h === undefined ? undefined : node.heredocs.find((d) => d.name === h.name);
    if (h !== undefined && doc !== undefined) heredocSources.push({ path: doc.name, data: doc.content, expand: doc.expand });
    else sources.push(src);
  }
  return { sources, heredocSources, dest, link: false, exclude: [] };
}

function checkCopyFlags(r: Req, f: ParsedFlags): void {
  const chmod = f.strings.get('chmod');
  const chown = f.strings.get('chown');
  try {
    if (chmod !== undefined && !chmod.includes('$')) validateChmod(chmod);
    if (chown !== undefined && !chown.includes('$')) validateChown(chown);
  } catch (e) {
    if (!isCairnError(e)) throw e;
    throw reqError(r, e.message);
  }
}

function parseFrom(r: Req): FromInstruction {
  const f = reqFlags(r);
  const { args } = r;
  if (!(args.length === 1 || (args.length === 3 && (args[1] as string).toLowerCase() === 'as'))) {
    throw reqError(r, 'FROM requires either one or three arguments');
  }
  const out: FromInstruction = { ...r.base, kind: 'from', image: args[0] as string };
  if (args.length === 3) {
    const written = args[2] as string;
    const lower = written.toLowerCase();
    if (!STAGE_NAME_RE.test(lower)) {
      throw reqError(r, `invalid name for build stage: ${JSON.stringify(written)}, name can't start with a number or contain symbols`);
    }
    out.stageName = lower;
    out.stageNameWritten = written;
    out.asKeyword = args[1] as string;
  }
  const platform = f.strings.get('platform');
  if (platform !== undefined) out.platform = platform;
  return out;
}

function parseArg(r: Req): ArgInstruction {
  reqFlags(r);
  if (r.args.length === 0) throw reqError(r, 'ARG requires at least one argument');
  const defs: ArgDefinition[] = r.args.map((a) => {
    const eq = a.indexOf('=');
    if (eq < 0) return { key: a };
    if (eq === 0) throw reqError(r, 'ARG names can not be blank');
    return { key: a.slice(0, eq), value: a.slice(eq + 1) };
  });
  return { ...r.base, kind: 'arg', args: defs };
}

function parseAdd(r: Req): AddInstruction {
  const f = reqFlags(r);
  checkCopyFlags(r, f);
  const out: AddInstruction = {
    ...r.base,
    ...copyLike(r),
    kind: 'add',
    link: f.bools.get('link') ?? false,
    keepGitDir: f.bools.get('keep-git-dir') ?? false,
    exclude: f.lists.get('exclude') ?? [],
  };
  const chown = f.strings.get('chown');
  if (chown !== undefined) out.chown = chown;
  const chmod = f.strings.get('chmod');
  if (chmod !== undefined) out.chmod = chmod;
  const checksum = f.strings.get('checksum');
  if (checksum !== undefined) out.checksum = checksum;
  const unpack = f.bools.get('unpack');
  if (unpack !== undefined) out.unpack = unpack;
  return out;
}

function parseCopy(r: Req): CopyInstruction {
  const f = reqFlags(r);
  checkCopyFlags(r, f);
  const out: CopyInstruction = {
    ...r.base,
    ...copyLike(r),
    kind: 'copy',
    link: f.bools.get('link') ?? false,
    parents: f.bools.get('parents') ?? false,
    exclude: f.lists.get('exclude') ?? [],
  };
  const chown = f.strings.get('chown');
  if (chown !== undefined) out.chown = chown;
  const chmod = f.strings.get('chmod');
  if (chmod !== undefined) out.chmod = chmod;
  const from = f.strings.get('from');
  if (from !== undefined) {
    if (from === '') throw reqError(r, 'COPY --from requires a stage name, stage index or image reference');
    if (/\$./.test(from)) throw reqError(r, `'from' doesn't support variable expansion, define alias stage instead`);
    out.from = from;
  }
  return out;
}

function parseRun(r: Req): RunInstruction {
  const f = reqFlags(r);
  const mounts = f.lists.get('mount') ?? [];
  for (const m of mounts) {
    try {
      parseMount(m);
    } catch (e) {
      if (!isCairnError(e)) throw e;
      throw reqError(r, e.message);
    }
  }
  const out: RunInstruction = {
    ...r.base,
    kind: 'run',
    command: handleJsonArgs(r.args, r.json),
    prependShell: !r.json,
    heredocs: r.node.heredocs.slice(),
    mounts,
  };
  const network = f.strings.get('network');
  if (network !== undefined) {
    if (!(NETWORK_MODES as readonly string[]).includes(network)) throw reqError(r, `unsupported network mode ${JSON.stringify(network)}`);
    out.network = network;
  }
  const security = f.strings.get('security');
  if (security !== undefined) {
    if (!(SECURITY_MODES as readonly string[]).includes(security)) throw reqError(r, `unsupported security mode ${JSON.stringify(security)}`);
    out.security = security;
  }
  return out;
}

function parseShell(r: Req): ShellInstruction {
  reqFlags(r);
  const shell = handleJsonArgs(r.args, r.json);
  if (shell.length === 0) throw reqError(r, 'SHELL requires at least one argument');
  if (!r.json) throw reqError(r, 'SHELL requires the arguments to be in JSON form');
  return { ...r.base, kind: 'shell', shell };
}

function parseVolume(r: Req): VolumeInstruction {
  reqFlags(r);
  atLeastOne(r);
  const volumes = r.args.map((v) => v.trim());
  if (volumes.some((v) => v === '')) throw reqError(r, 'VOLUME specified can not be an empty string');
  return { ...r.base, kind: 'volume', volumes };
}

function parseHealthcheck(r: Req): HealthcheckInstruction {
  const { args, name, node, lines } = r;
  if (args.length === 0) throw reqError(r, 'HEALTHCHECK requires at least one argument');
  const typ = (args[0] as string).toUpperCase();
  const rest = args.slice(1);
  const hc: HealthcheckInstruction = {
    ...r.base,
    kind: 'healthcheck',
    test: ['NONE'],
    interval: 0,
    timeout: 0,
    startPeriod: 0,
    startInterval: 0,
    retries: 0,
  };
  if (typ === 'NONE') {
    parseFlags(name, node.flags, {}, lines);
    if (rest.length !== 0) throw reqError(r, 'HEALTHCHECK NONE takes no arguments');
    return hc;
  }
  const f = reqFlags(r);
  if (typ !== 'CMD') throw reqError(r, `Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
  const cmd = handleJsonArgs(rest, r.json);
  if (cmd.length === 0) throw reqError(r, 'Missing command after HEALTHCHECK CMD');
  hc.test = [r.json ? 'CMD' : 'CMD-SHELL', ...cmd];
  const duration = (flag: string): number => {
    const v = f.strings.get(flag);
    if (v === undefined || v === '') return 0;
    let d: number;
    try {
      d = parseGoDuration(v);
    } catch (e) {
      if (!isCairnError(e)) throw e;
      throw reqError(r, e.message);
    }
    if (d === 0) return 0;
    if (d < 1e6) throw reqError(r, `Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
    return d;
  };
  hc.interval = duration('interval');
  hc.timeout = duration('timeout');
  hc.startPeriod = duration('start-period');
  hc.startInterval = duration('start-interval');
  const retries = f.strings.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?\d+$/.test(retries)) throw reqError(r, `strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = parseInt(retries, 10);
    if (n < 1) throw reqError(r, `--retries must be at least 1 (not ${n})`);
    hc.retries = n;
  }
  return hc;
}

function parseOnbuild(r: Req): OnbuildInstruction {
  reqFlags(r);
  const { node } = r;
  const sub = node.next?.children[0];
  if (r.args.length === 0 || sub === undefined) throw reqError(r, 'ONBUILD requires at least one argument');
  const trig = sub.value.toUpperCase();
  if (trig === 'ONBUILD') throw reqError(r, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trig === 'MAINTAINER' || trig === 'FROM') throw reqError(r, `${trig} isn't allowed as an ONBUILD trigger`);
  // The trigger's heredocs are the ONBUILD line's; the stored expression carries their bodies (BuildKit's parseOnBuild).
  const trigger = parseInstruction({ ...sub, heredocs: node.heredocs, startLine: node.startLine, endLine: node.endLine });
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const h of node.heredocs) expression += `\n${h.content}${h.name}`;
  return { ...r.base, kind: 'onbuild', expression, trigger };
}

/** Parse one instruction node into a typed Instruction. */
export function parseInstruction(node: Node): Instruction {
  const name = node.value.toUpperCase();
  const lines = nodeLines(node);
  const keyword = writtenKeyword(node);
  const base: Base = { name, keyword, lines, original: node.original, rawFlags: node.flags.slice() };
  const r: Req = { node, name, lines, keyword, args: nodeArgs(node), json: node.attributes.json === true, base };
  switch (node.value.toLowerCase()) {
    case 'from':
      return parseFrom(r);
    case 'arg':
      return parseArg(r);
    case 'env':
      reqFlags(r);
      return { ...base, kind: 'env', pairs: keyValues(r) };
    case 'label':
      reqFlags(r);
      return { ...base, kind: 'label', pairs: keyValues(r) };
    case 'maintainer':
      reqFlags(r);
      return { ...base, kind: 'maintainer', maintainer: exactlyOne(r) };
    case 'add':
      return parseAdd(r);
    case 'copy':
      return parseCopy(r);
    case 'run':
      return parseRun(r);
    case 'cmd':
      reqFlags(r);
      return { ...base, kind: 'cmd', command: handleJsonArgs(r.args, r.json), prependShell: !r.json };
    case 'entrypoint':
      reqFlags(r);
      return { ...base, kind: 'entrypoint', command: handleJsonArgs(r.args, r.json), prependShell: !r.json };
    case 'shell':
      return parseShell(r);
    case 'workdir':
      reqFlags(r);
      return { ...base, kind: 'workdir', path: exactlyOne(r) };
    case 'user':
      reqFlags(r);
      return { ...base, kind: 'user', user: exactlyOne(r) };
    case 'volume':
      return parseVolume(r);
    case 'expose':
      reqFlags(r);
      atLeastOne(r);
      return { ...base, kind: 'expose', ports: r.args.slice() };
    case 'stopsignal':
      reqFlags(r);
      return { ...base, kind: 'stopsignal', signal: exactlyOne(r) };
    case 'healthcheck':
      return parseHealthcheck(r);
    case 'onbuild':
      return parseOnbuild(r);
    default:
      throw reqError(r, `unknown instruction: ${keyword}${didYouMean(keyword.toUpperCase(), INSTRUCTION_NAMES)}`);
  }
}
