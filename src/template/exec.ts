/**
 * The executor of Go's text/template over cairn's value model (value.ts): fields, map keys and
 * methods, variables, pipelines, if/with/range/else/break/continue, function calls with Go's
 * argument checks, and Go's execution errors
 * ("template: NAME:LINE:COL: executing "NAME" at <NODE>: message").
 */
import { nodeString, TemplateError, type TemplateNode, type ChainNode, type CommandNode, type FieldNode, type IdentifierNode, type ListNode, type Node, type NumberNode, type ParsedTemplate, type PipeNode, type VariableNode } from './parse.js';
import { CallError, GoFloat, GoNil, GoStruct, formatValue, isTrue, kindOf, sortedKeys, typeName } from './value.js';

/** A parameter's Go type: `any` (interface {}), `value` (reflect.Value: anything, even no value), or a concrete type. */
export type Param = 'any' | 'value' | 'string' | 'int' | '[]string';

/** A template function: its parameters (Go's signature) and its body; a body throws `CallError` for Go's "error calling F: ...". */
export interface TemplateFunc {
  params: Param[];
  variadic?: Param;
  fn: (...args: unknown[]) => unknown;
}


export { CallError };

export interface ExecOptions {
  /** Go's Option("missingkey=..."): `default` prints "<no value>", `error` stops with "map has no entry for key". */
  missingKey?: 'default' | 'error';
}

class BreakSignal {}
class ContinueSignal {}

const PARAM_TYPE: Record<Param, string> = { any: 'interface {}', value: 'reflect.Value', string: 'string', int: 'int', '[]string': '[]string' };

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export class State {
  private out = '';
  private node: Node | null = null;
  private vars: Array<{ name: string; value: unknown }> = [];
  /** The template being executed (a {{define}}d one inside {{template}}), named in errors. */
  private execName: string;
  private depth = 0;

  constructor(
    private readonly tmpl: ParsedTemplate,
    private readonly funcs: ReadonlyMap<string, TemplateFunc>,
    private readonly options: ExecOptions,
  ) {
    this.execName = tmpl.name;
  }

  run(data: unknown): string {
    // Execute(w, nil) runs over no value at all (not a nil interface inside a map).
    const dot = data === null ? undefined : data;
    this.vars = [{ name: '$', value: dot }];
    this.walk(dot, this.tmpl.root);
    return this.out;
  }

  /** Go's ErrorContext: "NAME:LINE:COL" with COL the byte offset in the line (the offset itself on line 1). */
  errorf(msg: string): never {
    const name = this.tmpl.name;
    if (this.node === null) throw new TemplateError(`template: ${name}: ${msg}`, this.out);
    const pos = this.node.pos;
    const before = this.tmpl.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = nl < 0 ? byteLength(before) : byteLength(before.slice(nl + 1));
    throw new TemplateError(`template: ${name}:${line}:${col}: executing ${JSON.stringify(this.execName)} at <${nodeString(this.node)}>: ${msg}`, this.out);
  }

  private at(n: Node): void {
    this.node = n;
  }

  private walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'text':
        this.out += node.text;
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        try {
          const val = this.evalPipeline(dot, node.pipe);
          if (isTrue(val)) this.walk(node.type === 'with' ? val : dot, node.list);
          else if (node.elseList) this.walk(dot, node.elseList);
        } finally {
          this.vars.length = mark;
        }
        return;
      }
      case 'range':
        this.walkRange(dot, node.pipe, node.list, node.elseList);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  /** {{template "name" pipeline}}: the named template over the pipeline's value, with no variables but $. */
  private walkTemplate(dot: unknown, t: TemplateNode): void {
    this.at(t);
    const body = this.tmpl.defs.get(t.name);
    if (!body) this.errorf(`template ${JSON.stringify(t.name)} not defined`);
    if (this.depth === MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    let value = t.pipe ? this.evalPipeline(dot, t.pipe) : undefined;
    if (value === null) value = undefined;
    const saved = { vars: this.vars, name: this.execName };
    this.vars = [{ name: '$', value }];
    this.execName = t.name;
    this.depth++;
    try {
      this.walk(value, body);
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.execName = saved.name;
    }
  }

  private walkRange(dot: unknown, pipe: PipeNode, list: ListNode, elseList: ListNode | null): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, pipe);
      const iterMark = this.vars.length;
      const one = (index: unknown, elem: unknown): boolean => {
        if (pipe.decl.length > 0) {
          if (pipe.isAssign) {
            if (pipe.decl.length > 1) {
              this.setVar(pipe.decl[0]!.ident[0]!, index);
              this.setVar(pipe.decl[1]!.ident[0]!, elem);
            } else this.setVar(pipe.decl[0]!.ident[0]!, elem);
          } else {
            // The pipeline pushed the variables: the last is the element, the one before the index.
            this.vars[this.vars.length - 1]!.value = elem;
            if (pipe.decl.length > 1) this.vars[this.vars.length - 2]!.value = index;
          }
        }
        try {
          this.walk(elem, list);
        } catch (e) {
          if (e instanceof BreakSignal) return false;
          if (!(e instanceof ContinueSignal)) throw e;
        } finally {
          this.vars.length = iterMark;
        }
        return true;
      };
      switch (kindOf(val)) {
        case 'slice': {
          const arr = val as unknown[];
          if (arr.length === 0) break;
          for (let i = 0; i < arr.length; i++) if (!one(i, arr[i])) break;
          return;
        }
        case 'map': {
          const m = val as Record<string, unknown>;
          const keys = sortedKeys(m);
          if (keys.length === 0) break;
          for (const k of keys) if (!one(k, m[k])) break;
          return;
        }
        case 'invalid':
        case 'nil':
        case 'typednil':
          break;
        default:
          this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (elseList) this.walk(dot, elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.errorf(`undefined variable: ${name}`);
  }

  private evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe);
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // Go digs a value out of interface {}: a nil one becomes "no value".
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0]!, value);
      else this.vars.push({ name: v.ident[0]!, value });
    }
    return value;
  }

  private notAFunction(args: Node[], final: unknown): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: unknown): unknown {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      // falls through (errorf never returns)
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
    this.errorf(`can't evaluate command ${JSON.stringify(nodeString(first))}`);
  }

  private idealConstant(n: NumberNode): unknown {
    this.at(n);
    const hexInt = /^[+-]?0[xX][0-9a-fA-F_]+$/.test(n.text);
    if (n.isFloat && !hexInt && !n.text.startsWith("'") && /[.eEpP]/.test(n.text)) return new GoFloat(n.float);
    if (n.isInt) {
      const v = Number(n.int);
      return Number.isSafeInteger(v) ? v : n.int;
    }
    if (n.isFloat) this.errorf(`${n.text} overflows int`);
    return undefined;
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: Node[], final: unknown): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: Node[], final: unknown): unknown {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'any', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: unknown, v: VariableNode, args: Node[], final: unknown): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: Node, ident: string[], args: Node[], final: unknown): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i]!, node, [], MISSING, receiver);
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver);
  }

  private evalField(dot: unknown, name: string, node: Node, args: Node[], final: unknown, receiver: unknown): unknown {
    if (receiver === undefined) {
      if (this.options.missingKey === 'error') this.errorf(`nil data; no entry for key ${JSON.stringify(name)}`);
      return undefined;
    }
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${name}`);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (receiver instanceof GoStruct) {
      if (Object.prototype.hasOwnProperty.call(receiver.fields, name)) {
        const f = receiver.fields[name];
        if (typeof f === 'function') {
          const method: TemplateFunc = { params: Array<Param>(f.length).fill('any'), fn: f as (...a: unknown[]) => unknown };
          return this.evalCall(dot, method, node, name, args, final);
        }
        if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
        return f;
      }
    } else if (receiver instanceof GoNil) {
      if (receiver.kind === 'ptr') this.errorf(`nil pointer evaluating ${receiver.typeName}.${name}`);
      if (receiver.kind === 'map') {
        if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
        if (this.options.missingKey === 'error') this.errorf(`map has no entry for key ${JSON.stringify(name)}`);
        return undefined;
      }
    } else if (kindOf(receiver) === 'map') {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      const m = receiver as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(m, name) && m[name] !== undefined) return m[name];
      if (this.options.missingKey === 'error') this.errorf(`map has no entry for key ${JSON.stringify(name)}`);
      return undefined;
    }
    this.errorf(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  /** `cmd` is the command the call stands in: "error calling F" names it whole, as Go does. */
  private evalFunction(dot: unknown, node: IdentifierNode, cmd: Node, args: Node[], final: unknown): unknown {
    this.at(node);
    const f = this.funcs.get(node.ident);
    if (!f) this.errorf(`${JSON.stringify(node.ident)} is not a defined function`);
    return this.evalCall(dot, f, cmd, node.ident, args, final);
  }

  private evalCall(dot: unknown, f: TemplateFunc, node: Node, name: string, allArgs: Node[], final: unknown): unknown {
    const args = allArgs.slice(1);
    const numIn = args.length + (final !== MISSING ? 1 : 0);
    const numFixed = f.params.length;
    if (f.variadic !== undefined) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${args.length}`);
    } else if (numIn !== numFixed) {
      this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    const paramAt = (i: number): Param => (i < numFixed ? f.params[i]! : f.variadic!);
    // and/or evaluate their arguments one by one and stop at the first that decides.
    if (name === 'and' || name === 'or') {
      if (this.funcs.get(name) === f) {
        let v: unknown = undefined;
        for (const a of args) {
          v = this.evalArg(dot, 'value', a);
          if (isTrue(v) === (name === 'or')) return v;
        }
        if (final !== MISSING) v = final;
        return v;
      }
    }
    const argv: unknown[] = args.map((a, i) => this.evalArg(dot, paramAt(i), a));
    if (final !== MISSING) argv.push(this.validateType(final, paramAt(args.length)));
    try {
      return f.fn(...argv);
    } catch (e) {
      if (e instanceof CallError) {
        this.at(node);
        this.errorf(`error calling ${name}: ${e.message}`);
      }
      throw e;
    }
  }

  private validateType(value: unknown, param: Param): unknown {
    if (param === 'value') return value;
    if (value === undefined) {
      if (param === 'any') return null;
      if (param === '[]string') return new GoNil('slice', '[]string');
      this.errorf(`invalid value; expected ${PARAM_TYPE[param]}`);
    }
    switch (param) {
      case 'any':
        return value;
      case 'string':
        if (typeof value === 'string') return value;
        break;
      case 'int':
        if (kindOf(value) === 'int') return typeof value === 'bigint' ? Number(value) : value;
        break;
      case '[]string':
        if (Array.isArray(value) && value.every((e) => typeof e === 'string')) return value;
        if (value instanceof GoNil && value.kind === 'slice') return value;
        break;
    }
    this.errorf(`wrong type for value; expected ${PARAM_TYPE[param]}; got ${value === null ? 'interface {}' : typeName(value)}`);
  }

  private evalArg(dot: unknown, param: Param, n: Node): unknown {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, param);
      case 'nil':
        if (param === 'any' || param === 'value') return null;
        if (param === '[]string') return new GoNil('slice', '[]string');
        this.errorf(`cannot assign nil to ${PARAM_TYPE[param]}`);
      // falls through (errorf never returns)
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), param);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), param);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), param);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, [n], MISSING), param);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), param);
    }
    switch (param) {
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      // falls through (errorf never returns)
      case 'int':
        if (n.type === 'number' && n.isInt) return Number(n.int);
        this.errorf(`expected integer; found ${nodeString(n)}`);
      // falls through (errorf never returns)
      case '[]string':
        this.errorf(`can't handle ${nodeString(n)} for arg of type []string`);
      // falls through (errorf never returns)
      case 'any':
      case 'value':
        switch (n.type) {
          case 'bool':
            return n.value;
          case 'number':
            return this.idealConstant(n);
          case 'string':
            return n.text;
        }
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${PARAM_TYPE[param]}`);
  }

  private printValue(n: Node, v: unknown): void {
    this.at(n);
    if (v === undefined || v === null) {
      this.out += '<no value>';
      return;
    }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type func`);
    this.out += formatValue(v);
  }
}

/** Go's limit on nested {{template}} calls (JavaScript's stack may end them sooner: a TemplateError all the same). */
const MAX_EXEC_DEPTH = 100000;

/** The "no final argument" marker of a command that is not fed by a pipeline. */
const MISSING: unique symbol = Symbol('missing');
