/**
 * Go's text/template for cairn's --format and -f: parse once, execute over cairn's records
 * (value.ts says how JS values stand for Go's), with Docker's template functions. *pure*
 *
 *   const t = parseTemplate('{{.Config.Cmd}}');     // TemplateError: "template: :1: unclosed action"
 *   t.execute(record, { missingKey: 'error' });      // "[echo hi]"
 */
import { State, type ExecOptions, type TemplateFunc } from './exec.js';
import { BUILTINS, DOCKER_FUNCS } from './funcs.js';
import { parse, type ParsedTemplate } from './parse.js';

export { TemplateError } from './parse.js';
export { CallError, GoFloat, GoNil, GoStruct, formatValue, goJSON } from './value.js';
export { sprint, sprintf, sprintln } from './fmt.js';
export type { ExecOptions, Param, TemplateFunc } from './exec.js';

export interface TemplateOptions {
  /** The template's name in messages (Docker: "" for most commands, "version" for `version`). */
  name?: string;
  /** Functions besides Go's builtins and Docker's (a builtin's name may not be reused). */
  funcs?: ReadonlyMap<string, TemplateFunc>;
}

export class Template {
  private constructor(
    private readonly parsed: ParsedTemplate,
    private readonly funcs: ReadonlyMap<string, TemplateFunc>,
  ) {}

  /** Parse `text` as Docker's templates.Parse does; a syntax error is a `TemplateError` with Go's message. */
  static parse(text: string, options: TemplateOptions = {}): Template {
    const funcs = new Map<string, TemplateFunc>([...DOCKER_FUNCS, ...(options.funcs ?? []), ...BUILTINS]);
    return new Template(parse(options.name ?? '', text, new Set(funcs.keys())), funcs);
  }

  /** Run the template over `data`; an execution error is a `TemplateError` with Go's message. */
  execute(data: unknown, options: ExecOptions = {}): string {
    return new State(this.parsed, this.funcs, options).run(data);
  }
}

export function parseTemplate(text: string, options?: TemplateOptions): Template {
  return Template.parse(text, options);
}
