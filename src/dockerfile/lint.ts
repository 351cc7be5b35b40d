/**
 * The lint hook: the rule names, the sink plan.ts reports rule hits to (checks.ts implements
 * it and owns the rule texts), and the rules that judge the syntax tree or the whole file
 * rather than one expanded step.
 */
import type { Node } from './ast.js';
import type { LineRange } from './errors.js';
import { suggest, type Instruction } from './instructions.js';

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

/** StageNameCasing, FromAsCasing and MaintainerDeprecated, judged on the node as written. */
export function lintNode(node: Node, lint: LintSink): void {
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

/** The lines a node spans. */
function lines(node: Node): LineRange {
  return { start: node.startLine, end: Math.max(node.startLine, node.endLine) };
}

/** UndefinedArgInFrom: variables a FROM line uses that no global ARG (or platform ARG) declares. */
export function reportUndefinedFromArgs(lint: LintSink | undefined, known: Set<string>, unmatched: Set<string>, where: LineRange[]): void {
  if (!lint) return;
  for (const arg of unmatched) {
    if (known.has(arg)) continue;
    lint.run('UndefinedArgInFrom', where, arg, suggest(arg, known) ?? '');
  }
}

/** InvalidDefinitionDescription (experimental): `# name description` above FROM ... AS name / ARG name. */
export function definitionDescription(ins: Instruction, node: Node, lint: LintSink): void {
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
export function commandCasing(instructions: Array<{ keyword: string; lines: LineRange }>, lint: LintSink): void {
  let lower = 0;
  let upper = 0;
  const all = instructions.map((ins) => ({ kw: ins.keyword, where: ins.lines }));
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
