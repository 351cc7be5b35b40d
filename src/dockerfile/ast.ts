/**
 * The Dockerfile syntax tree, shaped like BuildKit's parser.Node so BuildKit's own
 * conformance corpus (parser/testfiles) can be dumped and compared byte for byte.
 *
 * Contract shared by parser.ts (produces it), shell.ts (expands words) and
 * instructions.ts / plan.ts / checks.ts (consume it). Plain data: no methods, JSON-serialisable.
 */

/** One heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`). */
export interface Heredoc {
  /** Delimiter word, without quotes. */
  name: string;
  /** Body text including the final newline, after `<<-` tab stripping. */
  content: string;
  /** false when the delimiter was quoted: no variable expansion inside. */
  expand: boolean;
  /** true for `<<-`: leading tabs were stripped. */
  chomp: boolean;
}

/** Position in the source file, 1-based lines, as BuildKit's parser.Range. */
export interface SourceRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/**
 * A node. For a top-level instruction, `value` is the lower-cased instruction keyword
 * (`from`, `run`, ...), `next` is the linked list of its arguments (each a Node whose
 * `value` is one argument), `flags` its `--flag` words as written, `original` the full
 * instruction text with continuations joined. The root node has the instructions as
 * `children`. ONBUILD's trigger is a nested instruction in `next.children[0]`.
 */
export interface Node {
  value: string;
  next: Node | null;
  children: Node[];
  heredocs: Heredoc[];
  /** BuildKit's Attributes: `json` is true when the arguments were written in JSON form. */
  attributes: { json?: boolean };
  original: string;
  flags: string[];
  /** Comment lines (without `#`) directly above the instruction. */
  prevComment: string[];
  startLine: number;
  endLine: number;
}

/** A non-fatal finding of the parser (BuildKit's parser.Warning), e.g. empty continuation lines. */
export interface ParseWarning {
  short: string;
  detail: string[];
  url?: string;
  location: SourceRange[];
}

/** The parser directives found at the top of the file (`# syntax=`, `# escape=`, `# check=`). */
export interface Directives {
  escapeToken: '\\' | '`';
  syntax?: { value: string; line: number };
  check?: { value: string; line: number };
}

export interface ParseResult {
  ast: Node;
  escapeToken: '\\' | '`';
  directives: Directives;
  warnings: ParseWarning[];
}

/**
 * Environment lookups for word expansion, ordered like BuildKit's shell.EnvGetter:
 * `get` answers whether a name is set (and to what), `keys` lists the names.
 */
export interface EnvGetter {
  get(name: string): string | undefined;
  keys(): string[];
}

/** Result of expanding one word (BuildKit's ProcessWordWithMatches). */
export interface ExpansionResult {
  result: string;
  /** Variable names that were referenced and set. */
  matched: Set<string>;
  /** Variable names that were referenced but not set. */
  unmatched: Set<string>;
}
