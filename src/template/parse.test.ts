import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { parseTemplate, TemplateError } from './index.js';
import { nodeString } from './parse.js';

function parseError(text: string, name = ''): string {
  try {
    parseTemplate(text, { name });
  } catch (e) {
    assert.ok(e instanceof TemplateError && e instanceof InvalidArgumentError, 'a TemplateError, an InvalidArgumentError');
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail(`${text} parsed`);
}

test('parse errors: Go\'s "template: NAME:LINE: message"', () => {
  assert.equal(parseError('{{.X'), 'template: :1: unclosed action');
  assert.equal(parseError('{{.X', 'version'), 'template: version:1: unclosed action');
  assert.equal(parseError('a\nb\n{{.X'), 'template: :3: unclosed action');
  assert.equal(parseError('{{.X\n'), 'template: :2: unclosed action started at :1');
  assert.equal(parseError('{{if .X}}'), 'template: :1: unexpected EOF');
  assert.equal(parseError('{{range .X}}{{else}}'), 'template: :1: unexpected EOF');
  assert.equal(parseError('{{end}}'), 'template: :1: unexpected {{end}}');
  assert.equal(parseError('{{else}}'), 'template: :1: unexpected {{else}}');
  assert.equal(parseError('{{if .X}}{{else}}{{else}}{{end}}'), 'template: :1: expected end; found {{else}}');
  assert.equal(parseError('{{if}}{{end}}'), 'template: :1: missing value for if');
  assert.equal(parseError('{{range}}{{end}}'), 'template: :1: missing value for range');
  assert.equal(parseError('{{}}'), 'template: :1: missing value for command');
  assert.equal(parseError('{{nosuch .X}}'), 'template: :1: function "nosuch" not defined');
  assert.equal(parseError('{{$x}}'), 'template: :1: undefined variable "$x"');
  assert.equal(parseError('{{.X | 3}}'), 'template: :1: non executable command in pipeline stage 2');
  assert.equal(parseError('{{@}}'), 'template: :1: unexpected "@" in command');
  assert.equal(parseError('{{.X)}}'), 'template: :1: unexpected ")" in command');
  assert.equal(parseError('{{(.X}}'), 'template: :1: unclosed left paren');
  assert.equal(parseError('{{3x}}'), 'template: :1: bad number syntax: "3x"');
  assert.equal(parseError('{{"a\\qb"}}'), 'template: :1: invalid syntax');
  assert.equal(parseError('{{range $i, $v, $w := .}}{{end}}'), 'template: :1: too many declarations in range');
  assert.equal(parseError('{{if $a, $b := .}}{{end}}'), 'template: :1: too many declarations in if');
  assert.equal(parseError('{{"x".Y}}'), 'template: :1: unexpected . after term "\\"x\\""');
  assert.equal(parseError('{{with .X}}{{else with .Y}}{{end}}'), 'template: :1: unexpected <with> in else');
  assert.equal(parseError('{{break}}'), 'template: :1: {{break}} outside {{range}}');
  assert.equal(parseError('{{/* x'), 'template: :1: unclosed comment');
});

test('a variable is known from its declaration to the {{end}} of its block', () => {
  assert.equal(parseError('{{if .X}}{{$v := 1}}{{end}}{{$v}}'), 'template: :1: undefined variable "$v"');
  assert.equal(parseError('{{with $v := .X}}{{end}}{{$v}}'), 'template: :1: undefined variable "$v"');
  parseTemplate('{{$v := 1}}{{if .X}}{{$v}}{{end}}{{$v}}');
});

test('define, template and block: Go\'s parse errors', () => {
  assert.equal(parseError('{{define "x"}}a{{end}}{{define "x"}}b{{end}}'), 'template: :1: template: multiple definition of template "x"');
  assert.equal(parseError('{{if 1}}{{define "x"}}{{end}}{{end}}'), 'template: :1: unexpected <define> in command');
  assert.equal(parseError('{{define x}}{{end}}'), 'template: :1: unexpected "x" in define clause');
  assert.equal(parseError('{{define "x"}}'), 'template: :1: unexpected EOF');
  assert.equal(parseError('{{define "x"}}{{else}}{{end}}'), 'template: :1: unexpected {{else}} in define clause');
  assert.equal(parseError('{{template .X}}'), 'template: :1: unexpected ".X" in template clause');
  assert.equal(parseError('{{block "b"}}{{end}}'), 'template: :1: missing value for block clause');
  // A definition is a template of its own: the variables around it are not its variables.
  assert.equal(parseError('{{$v := 1}}{{define "x"}}{{$v}}{{end}}'), 'template: :1: undefined variable "$v"');
  // An empty definition may be replaced, as Go's add() allows.
  parseTemplate('{{define "x"}}{{end}}{{define "x"}}b{{end}}');
});

test('nodes print as Go\'s Node.String() (the <context> of execution errors)', () => {
  const t = parseTemplate('x');
  assert.ok(t);
  const field = { type: 'field' as const, pos: 0, ident: ['A', 'B'] };
  assert.equal(nodeString(field), '.A.B');
  assert.equal(nodeString({ type: 'command', pos: 0, args: [{ type: 'identifier', pos: 0, ident: 'printf' }, { type: 'string', pos: 0, quoted: '"%s"', text: '%s' }, field] }), 'printf "%s" .A.B');
  assert.equal(
    nodeString({ type: 'pipe', pos: 0, line: 1, isAssign: false, decl: [{ type: 'variable', pos: 0, ident: ['$x'] }], cmds: [{ type: 'command', pos: 0, args: [field] }] }),
    '$x := .A.B',
  );
});

test('deep nesting is refused in one line, never a stack overflow', () => {
  assert.equal(parseError(`{{${'('.repeat(600)}1${')'.repeat(600)}}}`), 'template: :1: max expression depth exceeded');
  assert.equal(parseTemplate(`{{${'('.repeat(400)}1${')'.repeat(400)}}}`).execute(null), '1');
  assert.equal(parseError(`${'{{if 1}}'.repeat(20000)}x${'{{end}}'.repeat(20000)}`), "template: : nested too deeply for cairn's template engine");
});
