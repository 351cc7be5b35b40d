/**
 * The Dockerfile frontend's public API: parse a Dockerfile, plan it (stages, expanded steps,
 * dependencies, parallel levels), run BuildKit's build checks, match `.dockerignore` patterns.
 * Pure: no file, process or environment access; callers read files and hand over text.
 * Higher layers (build, cli) import from here only.
 */
export type { Heredoc, Node, ParseResult, ParseWarning, Directives, SourceRange, EnvGetter, ExpansionResult } from './ast.js';
export { parse, DockerfileSyntaxError } from './parser.js';
export { Lexer, envFromPairs } from './shell.js';
export { DockerfileError, formatDockerfileError, sourceExcerpt, type LineRange, type SourceFile } from './errors.js';
export { parseInstruction, parseMount, type Instruction, type RunMount, type MountType } from './instructions.js';
export {
  planDockerfile,
  PROXY_ARGS,
  PLATFORM_ARGS,
  type Plan,
  type PlanOptions,
  type PlanStage,
  type PlanMount,
  type Step,
  type StageBase,
  type StageSource,
  type RunStep,
  type CopyStep,
  type CommandStep,
  type ShellStep,
  type KeyValueStep,
  type ArgStep,
  type ValueStep,
  type ListStep,
  type HealthcheckStep,
  type RuleName,
} from './plan.js';
export {
  checkDockerfile,
  formatCheckReport,
  parseCheckOptions,
  RULES,
  type CheckOptions,
  type CheckReport,
  type Finding,
  type Rule,
} from './checks.js';
export { PatternMatcher, parseDockerignore, dockerignoreCandidates } from './dockerignore.js';
