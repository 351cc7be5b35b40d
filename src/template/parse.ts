/**
 * The parser of Go's text/template: the parse tree of one template and the templates it
 * defines ({{define}}, {{block}}), with Go's parse errors ("template: NAME:LINE: message").
 */
import { InvalidArgumentError } from '../errors.js';
import { itemString, lex, type Item, type ItemType } from './lex.js';

/** A parse or execution error: one line, Go's wording. */
export class TemplateError extends InvalidArgumentError {
  /** What an execution had written before it failed (Go's Execute writes as it goes). */
  readonly output: string;
  constructor(message: string, output = '') {
    super(message);
    this.name = 'TemplateError';
    this.output = output;
  }
}

export type Node =
  | TextNode
  | ActionNode
  | IfNode
  | RangeNode
  | WithNode
  | BreakNode
  | ContinueNode
  | ListNode
  | PipeNode
  | CommandNode
  | FieldNode
  | VariableNode
  | ChainNode
  | IdentifierNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | TemplateNode;

export interface ListNode { type: 'list'; pos: number; nodes: Node[] }
export interface TextNode { type: 'text'; pos: number; text: string }
export interface ActionNode { type: 'action'; pos: number; line: number; pipe: PipeNode }
export interface BranchFields { pos: number; line: number; pipe: PipeNode; list: ListNode; elseList: ListNode | null }
export interface IfNode extends BranchFields { type: 'if' }
export interface RangeNode extends BranchFields { type: 'range' }
export interface WithNode extends BranchFields { type: 'with' }
export interface BreakNode { type: 'break'; pos: number }
export interface ContinueNode { type: 'continue'; pos: number }
export interface PipeNode { type: 'pipe'; pos: number; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[] }
export interface CommandNode { type: 'command'; pos: number; args: Node[] }
export interface FieldNode { type: 'field'; pos: number; ident: string[] }
export interface VariableNode { type: 'variable'; pos: number; ident: string[] }
export interface ChainNode { type: 'chain'; pos: number; node: Node; field: string[] }
export interface IdentifierNode { type: 'identifier'; pos: number; ident: string }
export interface DotNode { type: 'dot'; pos: number }
export interface NilNode { type: 'nil'; pos: number }
export interface BoolNode { type: 'bool'; pos: number; value: boolean }
/** A number constant: `int` when it parses as an integer, else `float` (Go's ideal constants). */
export interface NumberNode { type: 'number'; pos: number; text: string; isInt: boolean; isFloat: boolean; int: bigint; float: number }
export interface StringNode { type: 'string'; pos: number; quoted: string; text: string }
/** {{template "name" pipeline}} (and the call half of {{block}}). */
export interface TemplateNode { type: 'template'; pos: number; line: number; name: string; pipe: PipeNode | null }

/** Go's Node.String(): how a node appears in an error's context. */
export function nodeString(n: Node): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return n.text;
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'if':
    case 'range':
    case 'with':
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}${n.elseList ? `{{else}}${nodeString(n.elseList)}` : ''}{{end}}`;
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = `${n.decl.map(nodeString).join(', ')} ${n.isAssign ? '=' : ':='} `;
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'field':
      return n.ident.map((i) => `.${i}`).join('');
    case 'variable':
      return n.ident.join('.');
    case 'chain':
      return `${n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)}${n.field.map((f) => `.${f}`).join('')}`;
    case 'identifier':
      return n.ident;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'template':
      return `{{template ${JSON.stringify(n.name)}${n.pipe ? ` ${nodeString(n.pipe)}` : ''}}}`;
  }
}

/** strconv.Unquote for "..." and `...` literals; undefined when the escapes are invalid. */
export function unquote(q: string): string | undefined {
  if (q.startsWith('`')) return q.slice(1, -1).replace(/\r/g, '');
  const body = q.startsWith("'") || q.startsWith('"') ? q.slice(1, -1) : q;
  const quote = q[0];
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === quote) return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"':
      case "'":
        if (e !== quote) return undefined;
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
        const cp = parseInt(hex, 16);
        if (e === 'x') out += String.fromCharCode(cp); // a byte: Latin-1 here, Go keeps the raw byte
        else {
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
          out += String.fromCodePoint(cp);
        }
        i += len;
        break;
      }
      default: {
        if (e !== undefined && e >= '0' && e <= '7') {
          const oct = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) return undefined;
          out += String.fromCharCode(parseInt(oct, 8));
          i += 2;
          break;
        }
        return undefined;
      }
    }
  }
  return out;
}

function parseNumber(text: string): { isInt: boolean; isFloat: boolean; int: bigint; float: number } | undefined {
  if (text.endsWith('i')) return undefined; // complex constants: not supported
  const clean = text.replace(/_/g, '');
  let isInt = false;
  let int = 0n;
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(clean);
  if (m) {
    let digits = m[2]!;
    if (/^0[0-7]+$/.test(digits)) digits = `0o${digits.slice(1)}`;
    int = BigInt(digits);
    if (m[1] === '-') int = -int;
    isInt = int >= -(2n ** 63n) && int < 2n ** 63n;
  }
  let float = Number.NaN;
  if (/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/.test(clean)) float = Number(clean);
  else if (isInt || m) float = Number(int);
  else if (/^[+-]?0[xX]/.test(clean)) return undefined; // hex floats: not supported
  const isFloat = !Number.isNaN(float) && Number.isFinite(float);
  if (!isInt && !isFloat) return undefined;
  return { isInt, isFloat, int, float };
}

const MAX_PAREN_DEPTH = 500;

class Parser {
  private readonly items: Item[];
  private i = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;
  private parenDepth = 0;
  /** The token last returned by next(): errors name its line. */
  private last: Item;

  constructor(
    private readonly name: string,
    text: string,
    private readonly funcs: ReadonlySet<string>,
  ) {
    this.items = lex(text);
    this.last = this.items[0]!;
  }

  errorf(msg: string): never {
    throw new TemplateError(`template: ${this.name}:${this.last.line}: ${msg}`);
  }

  private next(): Item {
    const it = this.items[Math.min(this.i, this.items.length - 1)]!;
    this.i++;
    this.last = it;
    return it;
  }

  private backup(n = 1): void {
    this.i -= n;
  }

  private peek(): Item {
    return this.items[Math.min(this.i, this.items.length - 1)]!;
  }

  private nextNonSpace(): Item {
    let t = this.next();
    while (t.type === 'space') t = this.next();
    return t;
  }

  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private expect(type: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  private unexpected(t: Item, context: string): never {
    if (t.type === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.name}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${itemString(t)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }

  /** The templates {{define}} and {{block}} name, by name. */
  readonly defs = new Map<string, ListNode>();

  parse(): ListNode {
    const root: ListNode = { type: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'leftDelim') {
        const save = this.i;
        this.next();
        if (this.nextNonSpace().type === 'define') {
          this.parseDefinition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (n === null) continue;
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected {{${n.type}}}`);
      root.nodes.push(n as Node);
    }
    return root;
  }

  private textOrAction(): Node | { type: 'end' | 'else'; pos: number; line: number } | null {
    const t = this.nextNonSpace();
    switch (t.type) {
      case 'text':
        return { type: 'text', pos: t.pos, text: t.val };
      case 'leftDelim': {
        this.actionLine = t.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case 'comment':
        return null;
      default:
        this.unexpected(t, 'input');
    }
  }

  private itemList(): { list: ListNode; next: { type: 'end' | 'else'; pos: number; line: number } } {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction();
      if (n === null) continue;
      if (n.type === 'end' || n.type === 'else') return { list, next: n as { type: 'end' | 'else'; pos: number; line: number } };
      list.nodes.push(n as Node);
    }
    this.errorf('unexpected EOF');
  }

  private action(): Node | { type: 'end' | 'else'; pos: number; line: number } {
    const t = this.nextNonSpace();
    switch (t.type) {
      case 'block':
        return this.blockControl();
      case 'template':
        return this.templateControl();
      case 'break':
        return this.breakControl(t, 'break');
      case 'continue':
        return this.breakControl(t, 'continue');
      case 'else':
        return this.elseControl();
      case 'end': {
        const e = this.expect('rightDelim', 'end');
        return { type: 'end', pos: e.pos, line: e.line };
      }
      case 'if':
        return this.control('if', true);
      case 'range':
        return this.control('range', false);
      case 'with':
        return this.control('with', false);
    }
    this.backup();
    const p = this.peek();
    return { type: 'action', pos: p.pos, line: p.line, pipe: this.pipeline('command', 'rightDelim') };
  }

  /** A body parsed as a template of its own: no variables but $, not inside any range. */
  private ownTree<T>(f: () => T): T {
    const [vars, rangeDepth] = [this.vars, this.rangeDepth];
    this.vars = ['$'];
    this.rangeDepth = 0;
    try {
      return f();
    } finally {
      this.vars = vars;
      this.rangeDepth = rangeDepth;
    }
  }

  private addDefinition(name: string, body: ListNode): void {
    const old = this.defs.get(name);
    const empty = (l: ListNode) => l.nodes.every((n) => n.type === 'text' && n.text.trim() === '');
    if (old && !empty(old) && !empty(body)) this.errorf(`template: multiple definition of template ${JSON.stringify(name)}`);
    if (!old || empty(old)) this.defs.set(name, body);
  }

  private templateName(t: Item, context: string): string {
    if (t.type !== 'string' && t.type !== 'rawString') this.unexpected(t, context);
    const s = unquote(t.val);
    if (s === undefined) this.errorf('invalid syntax');
    return s;
  }

  /** {{define "name"}}...{{end}}, at the top level only. */
  private parseDefinition(): void {
    const context = 'define clause';
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    this.expect('rightDelim', context);
    const { list, next } = this.ownTree(() => this.itemList());
    if (next.type !== 'end') this.errorf(`unexpected {{${next.type}}} in ${context}`);
    this.addDefinition(name, list);
  }

  private templateControl(): Node {
    const context = 'template clause';
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().type !== 'rightDelim') {
      this.backup();
      pipe = this.pipeline(context, 'rightDelim');
    }
    return { type: 'template', pos: t.pos, line: t.line, name, pipe };
  }

  /** {{block "name" pipeline}}...{{end}}: a definition and its call. */
  private blockControl(): Node {
    const context = 'block clause';
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    const pipe = this.pipeline(context, 'rightDelim');
    const { list, next } = this.ownTree(() => this.itemList());
    if (next.type !== 'end') this.errorf(`unexpected {{${next.type}}} in ${context}`);
    this.addDefinition(name, list);
    return { type: 'template', pos: t.pos, line: t.line, name, pipe };
  }

  private breakControl(t: Item, kind: 'break' | 'continue'): Node {
    const n = this.nextNonSpace();
    if (n.type !== 'rightDelim') this.unexpected(n, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return { type: kind, pos: t.pos };
  }

  private elseControl(): { type: 'else'; pos: number; line: number } {
    const p = this.peekNonSpace();
    if (p.type === 'if') return { type: 'else', pos: p.pos, line: p.line };
    const t = this.expect('rightDelim', 'else');
    return { type: 'else', pos: t.pos, line: t.line };
  }

  private control(context: 'if' | 'range' | 'with', allowElseIf: boolean): Node {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, 'rightDelim');
      if (context === 'range') this.rangeDepth++;
      const r = this.itemList();
      if (context === 'range') this.rangeDepth--;
      const list = r.list;
      let elseList: ListNode | null = null;
      if (r.next.type === 'else') {
        if (allowElseIf && this.peek().type === 'if') {
          // {{else if b}} is {{else}}{{if b}}...{{end}} sharing the one {{end}}.
          this.next();
          elseList = { type: 'list', pos: r.next.pos, nodes: [this.control('if', true)] };
        } else {
          const e = this.itemList();
          elseList = e.list;
          if (e.next.type !== 'end') this.errorf(`expected end; found {{else}}`);
        }
      }
      return { type: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList } as IfNode | RangeNode | WithNode;
    } finally {
      this.vars.length = mark;
    }
  }

  private pipeline(context: string, end: ItemType): PipeNode {
    const first = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: first.pos, line: first.line, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== 'variable') break;
      const save = this.i; // the variable is next
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === 'assign' || next.type === 'declare') {
        pipe.isAssign = next.type === 'assign';
        this.nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        break;
      }
      if (next.type === 'char' && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push({ type: 'variable', pos: v.pos, ident: [v.val] });
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().type;
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      }
      // Not a declaration: the variable is an operand.
      this.i = save;
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.type) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const t = this.next();
      if (t.type === 'space') continue;
      if (t.type === 'rightDelim' || t.type === 'rightParen') this.backup();
      else if (t.type !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Node | null {
    let node = this.term();
    if (node === null) return null;
    if (this.peek().type === 'field') {
      const fields: string[] = [];
      const pos = this.peek().pos;
      while (this.peek().type === 'field') fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos, ident: [...node.ident, ...fields] };
          break;
        case 'variable':
          node = { type: 'variable', pos, ident: [...node.ident, ...fields] };
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${JSON.stringify(nodeString(node))}`);
        // falls through (errorf never returns)
        default:
          node = { type: 'chain', pos, node, field: fields };
      }
    }
    return node;
  }

  private term(): Node | null {
    const t = this.nextNonSpace();
    switch (t.type) {
      case 'identifier':
        if (!this.funcs.has(t.val)) this.errorf(`function ${JSON.stringify(t.val)} not defined`);
        return { type: 'identifier', pos: t.pos, ident: t.val };
      case 'dot':
        return { type: 'dot', pos: t.pos };
      case 'nil':
        return { type: 'nil', pos: t.pos };
      case 'variable': {
        const ident = t.val.split('.');
        if (!this.vars.includes(ident[0]!)) this.errorf(`undefined variable ${JSON.stringify(ident[0])}`);
        return { type: 'variable', pos: t.pos, ident };
      }
      case 'field':
        return { type: 'field', pos: t.pos, ident: t.val.slice(1).split('.') };
      case 'bool':
        return { type: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'charConstant': {
        const s = unquote(t.val);
        const runes = s === undefined ? [] : [...s];
        if (runes.length !== 1) this.errorf(`malformed character constant: ${t.val}`);
        const cp = BigInt(runes[0]!.codePointAt(0)!);
        return { type: 'number', pos: t.pos, text: t.val, isInt: true, isFloat: true, int: cp, float: Number(cp) };
      }
      case 'number': {
        const n = parseNumber(t.val);
        if (!n) this.errorf(`illegal number syntax: ${JSON.stringify(t.val)}`);
        return { type: 'number', pos: t.pos, text: t.val, ...n };
      }
      case 'leftParen': {
        // Go refuses more than 10000 nested parentheses; JavaScript's stack allows fewer.
        if (this.parenDepth >= MAX_PAREN_DEPTH) this.errorf('max expression depth exceeded');
        this.parenDepth++;
        try {
          return this.pipeline('parenthesized pipeline', 'rightParen');
        } finally {
          this.parenDepth--;
        }
      }
      case 'string':
      case 'rawString': {
        const s = unquote(t.val);
        if (s === undefined) this.errorf('invalid syntax');
        return { type: 'string', pos: t.pos, quoted: t.val, text: s };
      }
    }
    this.backup();
    return null;
  }
}

/** A parsed template: its name (in messages), its source and its tree. */
export interface ParsedTemplate {
  name: string;
  text: string;
  root: ListNode;
  /** The templates it defines ({{define}}, {{block}}), by name. */
  defs: ReadonlyMap<string, ListNode>;
}

export function parse(name: string, text: string, funcs: ReadonlySet<string>): ParsedTemplate {
  const p = new Parser(name, text, funcs);
  const root = p.parse();
  return { name, text, root, defs: p.defs };
}
