/**
 * Go's text/template for cairn's --format and -f: parse once, execute over cairn's records
 * (value.ts says how JS values stand for Go's), with Docker's template functions. *pure*
 *
 *   const t = parseTemplate('{{.Config.Cmd}}');     // TemplateError: "template: :1: unclosed action"
 *   t.execute(record, { missingKey: 'error' });      // "[echo hi]"
 */
import { State, type ExecOptions, type TemplateFunc } from './exec.js';
import { BUILTINS, DOCKER_FUNCS } from './funcs.js';
import { parse, TemplateError, type ParsedTemplate } from './parse.js';

export { TemplateError };
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
    const name = options.name ?? '';
    return new Template(tooDeep(name, () => parse(name, text, new Set(funcs.keys()))), funcs);
  }

  /** Run the template over `data`; an execution error is a `TemplateError` with Go's message. */
  execute(data: unknown, options: ExecOptions = {}): string {
    return tooDeep(this.parsed.name, () => new State(this.parsed, this.funcs, options).run(data));
  }
}

/** Blocks nested deeper than JavaScript's stack allows are refused in one line (Go has no such limit). */
function tooDeep<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) throw new TemplateError(`template: ${name}: nested too deeply for cairn's template engine`);
    throw e;
  }
}

export function parseTemplate(text: string, options?: TemplateOptions): Template {
  return Template.parse(text, options);
}
