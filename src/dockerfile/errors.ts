/**
 * Dockerfile errors with source locations, and the source excerpt BuildKit prints under
 * them (errdefs.Source.Print):
 *
 *   Dockerfile:3
 *   --------------------
 *      1 |     FROM alpine
 *      2 |     RUN true
 *      3 | >>> BAD thing
 *   --------------------
 *   ERROR: Dockerfile:3: unknown instruction: BAD
 *
 * The error message itself stays one line (`Dockerfile:3: unknown instruction: BAD`); the
 * excerpt is a property (`excerpt`) and `formatDockerfileError` renders both, as Docker does.
 */
import { InvalidArgumentError, isCairnError } from '../errors.js';

/** Inclusive 1-based line range. */
export interface LineRange {
  start: number;
  end: number;
}

/** Source text and display name of a Dockerfile, for excerpts. */
export interface SourceFile {
  /** Display name, e.g. `Dockerfile` or the path given with `-f`. */
  name: string;
  text: string;
}

/**
 * The lines BuildKit shows around the given ranges: the marked lines plus a little
 * context (up to 2 lines either side for a single line, 1 for a span), each as
 * ` %3d | >>> text` (marked) or ` %3d |     text`. Empty string when the ranges fall outside
 * the file.
 */
export function sourceExcerpt(src: SourceFile, ranges: LineRange[]): string {
  if (ranges.length === 0) return '';
  const lines = src.text.split('\n');
  let start = Infinity;
  let end = 0;
  for (const r of ranges) {
    start = Math.min(start, r.start);
    end = Math.max(end, r.end);
  }
  if (start > lines.length || start < 1) return '';
  if (end > lines.length) end = lines.length;
  // Same padding walk as BuildKit's errdefs.Source.Print.
  const pad = end === start ? 4 : 2;
  let p = 0;
  const prepadStart = start;
  for (;;) {
    if (p >= pad) break;
    if (start > 1) {
      start--;
      p++;
    }
    if (end !== lines.length) {
      end++;
      p++;
    }
    p++;
  }
  const marked = (line: number): boolean => ranges.some((r) => line >= r.start && line <= r.end);
  let out = `${src.name}:${prepadStart}\n--------------------\n`;
  for (let i = start; i <= end; i++) {
    const pfx = marked(i) ? '>>>' : '   ';
    out += ` ${String(i).padStart(3)} | ${pfx} ${(lines[i - 1] ?? '').replace(/\r$/, '')}\n`;
  }
  out += '--------------------\n';
  return out;
}

/**
 * An invalid Dockerfile: names the file, the line and the problem. `message` is
 * `FILE:LINE: problem` (or `FILE: problem` when no line applies); `problem` is the bare
 * text; `excerpt` the marked source lines (empty when there is no line).
 */
export class DockerfileError extends InvalidArgumentError {
  readonly file: string;
  readonly ranges: LineRange[];
  readonly problem: string;
  readonly excerpt: string;
  constructor(src: SourceFile, ranges: LineRange[], problem: string, options?: { cause?: unknown }) {
    const line = ranges.length > 0 ? Math.min(...ranges.map((r) => r.start)) : 0;
    super(line > 0 ? `${src.name}:${line}: ${problem}` : `${src.name}: ${problem}`, options);
    this.name = 'DockerfileError';
    this.file = src.name;
    this.ranges = ranges;
    this.problem = problem;
    this.excerpt = sourceExcerpt(src, ranges);
  }

  /** First line of the error, 0 when it concerns the whole file. */
  get line(): number {
    return this.ranges.length > 0 ? Math.min(...this.ranges.map((r) => r.start)) : 0;
  }
}

/** Docker-style rendering: the excerpt (when there is one), then `ERROR: message`. */
export function formatDockerfileError(err: DockerfileError): string {
  return `${err.excerpt}ERROR: ${err.message}\n`;
}

/**
 * Error thrown by the semantic layer before it knows the source (instructions.ts works on
 * AST nodes); plan.ts converts it into a DockerfileError with the file name and excerpt.
 */
export class InstructionError extends InvalidArgumentError {
  readonly ranges: LineRange[];
  constructor(ranges: LineRange[], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InstructionError';
    this.ranges = ranges;
  }
}

/**
 * `err` from a helper (lexer, mount or reference parser, value check) as a DockerfileError
 * at `where`. Only CairnErrors are input problems; anything else is a bug and is rethrown.
 */
export function located(src: SourceFile, where: LineRange[], err: unknown, prefix = ''): DockerfileError {
  if (err instanceof DockerfileError) return err;
  if (!isCairnError(err)) throw err;
  return new DockerfileError(src, where, prefix + err.message, { cause: err });
}

/** Run `fn`, turning the input errors it throws into DockerfileErrors at `where`. */
export function withLocation<T>(src: SourceFile, where: LineRange[], fn: () => T, prefix = ''): T {
  try {
    return fn();
  } catch (err) {
    throw located(src, where, err, prefix);
  }
}
