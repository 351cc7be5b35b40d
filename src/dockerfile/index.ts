/**
 * The Dockerfile frontend's public API: parse a Dockerfile, expand shell words, plan it
 * (stages, expanded steps, dependencies, parallel levels), run BuildKit's build checks, and
 * choose and parse the `.dockerignore` that applies.
 * Pure: no file, process or environment access; callers read files and hand over text.
 * Higher layers (image, cli) import from here only.
 */
export type { Heredoc, Node, ParseResult, ParseWarning, Directives, SourceRange, EnvGetter, ExpansionResult } from './ast.js';
export { parse, DockerfileSyntaxError } from './parser.js';
export { Lexer, envFromPairs } from './shell.js';
export { goQuote } from './dump.js';
export { DockerfileError, formatDockerfileError, type LineRange, type SourceFile } from './errors.js';
export type { Instruction, RunMount, MountType } from './instructions.js';
export { parseInstruction } from './instructions.js';
export { planDockerfile, type Plan, type PlanOptions, type PlanStage } from './plan.js';
export type {
  Step,
  StageBase,
  StageSource,
  PlanMount,
  RunStep,
  CopyStep,
  CommandStep,
  ShellStep,
  KeyValueStep,
  ArgStep,
  ValueStep,
  ListStep,
  HealthcheckStep,
} from './steps.js';
export type { RuleName } from './lint.js';
export { checkDockerfile, formatCheckReport, type CheckOptions, type CheckReport, type Finding, type Rule } from './checks.js';
export { parseDockerignore, dockerignoreCandidates } from './dockerignore.js';
