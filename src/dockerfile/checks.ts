/**
 * Build checks (`docker build --check`) without building: BuildKit's lint rules that need no
 * image (frontend/dockerfile/linter/ruleset.go), run through the same walk as the plan, with
 * the `# check=skip=...`, `# check=error=true` and `# check=experimental=...` directives (or
 * the BUILDKIT_DOCKERFILE_CHECK build arg) honoured.
 *
 * Owns the rule texts (names, descriptions, URLs, message formats), the rule filter, the
 * report, and its Docker-like rendering. Findings come out sorted by line.
 *
 * Pure: the caller reads the Dockerfile and the .dockerignore that applies
 * (dockerignoreCandidates) and hands over their text and patterns.
 */
import { InvalidArgumentError, isCairnError } from '../errors.js';
import type { Platform } from '../oci/types.js';
import { PatternMatcher } from './dockerignore.js';
import { DockerfileError, sourceExcerpt, type LineRange } from './errors.js';
import type { LintSink, RuleName } from './lint.js';
import { buildPlan } from './plan.js';
import { parse } from './parser.js';

export interface Rule {
  name: RuleName;
  description: string;
  url: string;
  /** Off unless enabled with `# check=experimental=NAME` (or `all`). */
  experimental?: boolean;
  format: (...args: string[]) => string;
}

const URL = 'https://docs.docker.com/go/dockerfile/rule/';

/** The rules, as BuildKit defines them. */
export const RULES: Record<RuleName, Rule> = {
  StageNameCasing: {
    name: 'StageNameCasing',
    description: 'Stage names should be lowercase',
    url: URL + 'stage-name-casing/',
    format: (stage = '') => `Stage name '${stage}' should be lowercase`,
  },
  FromAsCasing: {
    name: 'FromAsCasing',
    description: "The 'as' keyword should match the case of the 'from' keyword",
    url: URL + 'from-as-casing/',
    format: (from = '', as = '') => `'${as}' and '${from}' keywords' casing do not match`,
  },
  NoEmptyContinuation: {
    name: 'NoEmptyContinuation',
    description: 'Empty continuation lines will become errors in a future release',
    url: URL + 'no-empty-continuation/',
    format: () => 'Empty continuation line',
  },
  ConsistentInstructionCasing: {
    name: 'ConsistentInstructionCasing',
    description: 'All commands within the Dockerfile should use the same casing (either upper or lower)',
    url: URL + 'consistent-instruction-casing/',
    format: (cmd = '', casing = '') => `Command '${cmd}' should match the case of the command majority (${casing})`,
  },
  DuplicateStageName: {
    name: 'DuplicateStageName',
    description: 'Stage names should be unique',
    url: URL + 'duplicate-stage-name/',
    format: (stage = '') => `Duplicate stage name ${JSON.stringify(stage)}, stage names should be unique`,
  },
  ReservedStageName: {
    name: 'ReservedStageName',
    description: 'Reserved words should not be used as stage names',
    url: URL + 'reserved-stage-name/',
    format: (stage = '') => `Stage name should not use the same name as reserved stage ${JSON.stringify(stage)}`,
  },
  JSONArgsRecommended: {
    name: 'JSONArgsRecommended',
    description: 'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
    url: URL + 'json-args-recommended/',
    format: (ins = '') => `JSON arguments recommended for ${ins} to prevent unintended behavior related to OS signals`,
  },
  MaintainerDeprecated: {
    name: 'MaintainerDeprecated',
    description: 'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
    url: URL + 'maintainer-deprecated/',
    format: () => 'Maintainer instruction is deprecated in favor of using label',
  },
  UndefinedArgInFrom: {
    name: 'UndefinedArgInFrom',
    description: 'FROM command must use declared ARGs',
    url: URL + 'undefined-arg-in-from/',
    format: (arg = '', sug = '') => `FROM argument '${arg}' is not declared${sug ? ` (did you mean ${sug}?)` : ''}`,
  },
  WorkdirRelativePath: {
    name: 'WorkdirRelativePath',
    description: 'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
    url: URL + 'workdir-relative-path/',
    format: (wd = '') => `Relative workdir ${JSON.stringify(wd)} can have unexpected results if the base image changes`,
  },
  UndefinedVar: {
    name: 'UndefinedVar',
    description: 'Variables should be defined before their use',
    url: URL + 'undefined-var/',
    format: (v = '', sug = '') => `Usage of undefined variable '$${v}'${sug ? ` (did you mean $${sug}?)` : ''}`,
  },
  MultipleInstructionsDisallowed: {
    name: 'MultipleInstructionsDisallowed',
    description: 'Multiple instructions of the same type should not be used in the same stage',
    url: URL + 'multiple-instructions-disallowed/',
    format: (ins = '') => `Multiple ${ins} instructions should not be used in the same stage because only the last one will be used`,
  },
  LegacyKeyValueFormat: {
    name: 'LegacyKeyValueFormat',
    description: 'Legacy key/value format with whitespace separator should not be used',
    url: URL + 'legacy-key-value-format/',
    format: (cmd = '') => `"${cmd} key=value" should be used instead of legacy "${cmd} key value" format`,
  },
  RedundantTargetPlatform: {
    name: 'RedundantTargetPlatform',
    description: 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
    url: URL + 'redundant-target-platform/',
    format: (v = '') => `Setting platform to predefined ${v} in FROM is redundant as this is the default behavior`,
  },
  SecretsUsedInArgOrEnv: {
    name: 'SecretsUsedInArgOrEnv',
    description: 'Sensitive data should not be used in the ARG or ENV commands',
    url: URL + 'secrets-used-in-arg-or-env/',
    format: (ins = '', key = '') => `Do not use ARG or ENV instructions for sensitive data (${ins} ${JSON.stringify(key)})`,
  },
  InvalidDefaultArgInFrom: {
    name: 'InvalidDefaultArgInFrom',
    description: 'Default value for global ARG results in an empty or invalid base image name',
    url: URL + 'invalid-default-arg-in-from/',
    format: (base = '') => `Default value for ARG ${base} results in empty or invalid base image name`,
  },
  FromPlatformFlagConstDisallowed: {
    name: 'FromPlatformFlagConstDisallowed',
    description: 'FROM --platform flag should not use a constant value',
    url: URL + 'from-platform-flag-const-disallowed/',
    format: (p = '') => `FROM --platform flag should not use constant value ${JSON.stringify(p)}`,
  },
  CopyIgnoredFile: {
    name: 'CopyIgnoredFile',
    description: 'Attempting to Copy file that is excluded by .dockerignore',
    url: URL + 'copy-ignored-file/',
    experimental: true,
    format: (cmd = '', file = '') => `Attempting to ${cmd} file ${JSON.stringify(file)} that is excluded by .dockerignore`,
  },
  InvalidDefinitionDescription: {
    name: 'InvalidDefinitionDescription',
    description:
      'Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.',
    url: URL + 'invalid-definition-description/',
    experimental: true,
    format: (ins = '', name = '') => `Comment for ${ins} should follow the format: \`# ${name} <description>\``,
  },
  ExposeProtoCasing: {
    name: 'ExposeProtoCasing',
    description: 'Protocol in EXPOSE instruction should be lowercase',
    url: URL + 'expose-proto-casing/',
    format: (port = '') => `Defined protocol '${port}' in EXPOSE instruction should be lowercase`,
  },
  ExposeInvalidFormat: {
    name: 'ExposeInvalidFormat',
    description: 'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release',
    url: URL + 'expose-invalid-format/',
    format: (port = '') => `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`,
  },
};

/** Parsed `# check=` options (BuildKit's linter.ParseLintOptions). */
export interface CheckConfig {
  skipAll: boolean;
  skip: string[];
  experimentalAll: boolean;
  experimental: string[];
  error: boolean;
}

/** Parse a `check` directive value: `skip=A,B;error=true;experimental=all`. */
export function parseCheckOptions(value: string): CheckConfig {
  const cfg: CheckConfig = { skipAll: false, skip: [], experimentalAll: false, experimental: [], error: false };
  const s = value.trim();
  if (s === '') return cfg;
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new InvalidArgumentError(`invalid check option ${JSON.stringify(part)}`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    switch (k) {
      case 'skip':
        if (v === 'all') cfg.skipAll = true;
        else cfg.skip = v.split(',').map((r) => r.trim());
        break;
      case 'experimental':
        if (v === 'all') cfg.experimentalAll = true;
        else cfg.experimental = v.split(',').map((r) => r.trim());
        break;
      case 'error': {
        const b = v.toLowerCase();
        if (['1', 't', 'true'].includes(b)) cfg.error = true;
        else if (['0', 'f', 'false'].includes(b)) cfg.error = false;
        else throw new InvalidArgumentError(`failed to parse check option ${JSON.stringify(part)}: invalid syntax`);
        break;
      }
      default:
        throw new InvalidArgumentError(`invalid check option ${JSON.stringify(k)}`);
    }
  }
  return cfg;
}

export interface Finding {
  rule: RuleName;
  description: string;
  url: string;
  message: string;
  file: string;
  lines: LineRange[];
  level: 'warning' | 'error';
}

export interface CheckReport {
  file: string;
  findings: Finding[];
  /** The build error, when the Dockerfile does not plan (BuildKit reports it with the warnings). */
  error?: { message: string; lines: LineRange[] };
  /** Exit code for `--check`: 0 when clean, 1 with findings or an error. */
  exitCode: number;
}

export interface CheckOptions {
  /** The Dockerfile text. */
  text: string;
  /** Display name in findings and messages, default `Dockerfile`. */
  file?: string;
  /** Patterns of the .dockerignore that applies (parseDockerignore), for CopyIgnoredFile. */
  dockerignore?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  platform?: string | Platform;
  /** Base image ENV when known (see PlanOptions.imageEnv). */
  imageEnv?: (normalizedRef: string) => string[] | undefined;
}

/** Run the build checks. Never builds; never throws for a bad Dockerfile (it is the report's error). */
export function checkDockerfile(opts: CheckOptions): CheckReport {
  const { text } = opts;
  const file = opts.file ?? 'Dockerfile';
  const findings: Finding[] = [];
  let cfg: CheckConfig = { skipAll: false, skip: [], experimentalAll: false, experimental: [], error: false };
  const report = (error: { message: string; lines: LineRange[] } | undefined): CheckReport => {
    findings.sort((a, b) => (a.lines[0]?.start ?? 0) - (b.lines[0]?.start ?? 0));
    const out: CheckReport = { file, findings, exitCode: findings.length > 0 || error !== undefined ? 1 : 0 };
    if (error !== undefined) out.error = error;
    return out;
  };

  // The directive (or BUILDKIT_DOCKERFILE_CHECK) decides which rules run.
  let parsed;
  try {
    parsed = text.length > 0 ? parse(text) : undefined;
    const directive = opts.buildArgs?.['BUILDKIT_DOCKERFILE_CHECK'] ?? parsed?.directives.check?.value;
    if (directive !== undefined) cfg = parseCheckOptions(directive);
  } catch (err) {
    if (!isCairnError(err)) throw err;
    // Parse errors are reported by buildPlan below with their location; option errors here.
    if (parsed !== undefined) return report({ message: `failed to parse check options: ${err.message}`, lines: [] });
  }

  const enabled = (r: Rule): boolean => {
    if (r.experimental) return cfg.experimentalAll || cfg.experimental.includes(r.name);
    return !cfg.skipAll && !cfg.skip.includes(r.name);
  };
  const sink: LintSink = {
    run(name, ranges, ...args) {
      const rule = RULES[name];
      if (!enabled(rule)) return;
      findings.push({
        rule: name,
        description: rule.description,
        url: rule.url,
        message: rule.format(...args),
        file,
        lines: ranges.map((r) => ({ start: r.start, end: r.end })),
        level: cfg.error ? 'error' : 'warning',
      });
    },
  };
  if (opts.dockerignore !== undefined && opts.dockerignore.length > 0) {
    const m = new PatternMatcher(opts.dockerignore);
    sink.ignored = (p) => m.matchesOrParentMatches(p);
  }

  try {
    const planOpts: Parameters<typeof buildPlan>[0] = { text, file, allStages: opts.target === undefined || opts.target === '' };
    if (parsed !== undefined) planOpts.parsed = parsed;
    if (opts.buildArgs !== undefined) planOpts.buildArgs = opts.buildArgs;
    if (opts.target !== undefined && opts.target !== '') planOpts.target = opts.target;
    if (opts.platform !== undefined) planOpts.platform = opts.platform;
    if (opts.imageEnv !== undefined) planOpts.imageEnv = opts.imageEnv;
    buildPlan(planOpts, sink);
  } catch (err) {
    if (err instanceof DockerfileError) return report({ message: err.message, lines: err.ranges });
    if (isCairnError(err)) return report({ message: err.message, lines: [] });
    throw err;
  }
  if (cfg.error && findings.length > 0) {
    const rules = [...new Set(findings.map((f) => f.rule))];
    return report({ message: `lint violation found for rules: ${rules.join(', ')}`, lines: [] });
  }
  return report(undefined);
}

/**
 * Docker-like rendering of a report:
 *
 *   Check complete, 1 warning has been found!
 *
 *   WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/
 *   JSON arguments recommended for CMD to prevent unintended behavior related to OS signals
 *   Dockerfile:2
 *   --------------------
 *      1 |     FROM alpine
 *      2 | >>> CMD echo hi
 *   --------------------
 */
export function formatCheckReport(report: CheckReport, text?: string): string {
  const n = report.findings.length;
  let out = '';
  if (n === 0 && report.error === undefined) return 'Check complete, no warnings found.\n';
  if (n > 0) out += `Check complete, ${n === 1 ? '1 warning has' : `${n} warnings have`} been found!\n`;
  for (const f of report.findings) {
    out += `\n${f.level === 'error' ? 'ERROR' : 'WARNING'}: ${f.rule} - ${f.url}\n${f.message}\n`;
    if (text !== undefined) out += sourceExcerpt({ name: f.file, text }, f.lines);
    else if (f.lines[0] !== undefined) out += `${f.file}:${f.lines[0].start}\n`;
  }
  if (report.error !== undefined) {
    out += '\n';
    if (text !== undefined && report.error.lines.length > 0) out += sourceExcerpt({ name: report.file, text }, report.error.lines);
    out += `ERROR: ${report.error.message}\n`;
  }
  return out;
}
