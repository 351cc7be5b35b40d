import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoFloat, GoNil, GoStruct, parseTemplate, TemplateError, type ExecOptions } from './index.js';

const run = (text: string, data: unknown, opts?: ExecOptions): string => parseTemplate(text).execute(data, opts);

function execError(text: string, data: unknown, opts?: ExecOptions): string {
  try {
    run(text, data, opts);
  } catch (e) {
    assert.ok(e instanceof TemplateError, `a TemplateError, not ${String(e)}`);
    assert.ok(!e.message.includes('\n'));
    return e.message;
  }
  assert.fail(`${text} ran`);
}

const image = {
  Id: 'sha256:abc',
  RepoTags: ['busybox:latest', 'busybox:1'],
  Size: 1988788,
  Config: { Cmd: ['echo', 'hi'], Entrypoint: null, Labels: { b: '2', a: '1' }, Env: [] },
  Nested: { A: { B: { C: 'deep' } } },
};

test('fields, nested fields, map keys, dot and $', () => {
  assert.equal(run('{{.Id}}', image), 'sha256:abc');
  assert.equal(run('{{.Nested.A.B.C}}', image), 'deep');
  assert.equal(run('{{with .Nested.A}}{{.B.C}} {{$.Id}}{{end}}', image), 'deep sha256:abc');
  assert.equal(run('{{.}}', 'hello'), 'hello');
  assert.equal(run('plain text', image), 'plain text');
});

test("Go's printing of values: slices [a b], maps map[k:v] sorted, booleans, numbers, nil", () => {
  assert.equal(run('{{.Config.Cmd}}', image), '[echo hi]');
  assert.equal(run('{{.RepoTags}}', image), '[busybox:latest busybox:1]');
  assert.equal(run('{{.Config.Labels}}', image), 'map[a:1 b:2]');
  assert.equal(run('{{.Config.Env}}', image), '[]');
  assert.equal(run('{{.Size}}', image), '1988788');
  assert.equal(run('{{.}}', 1.5), '1.5');
  assert.equal(run('{{.}}', 1e21), '1e+21');
  assert.equal(run('{{.}}', 0.000001), '1e-06');
  assert.equal(run('{{.}}', [true, false]), '[true false]');
  assert.equal(run('{{.}}', { a: [1, { b: null }] }), 'map[a:[1 map[b:<nil>]]]');
  // A nil interface value and a missing key print "<no value>" in an action.
  assert.equal(run('{{.Config.Entrypoint}}', image), '<no value>');
  assert.equal(run('{{.Missing}}', image), '<no value>');
  // Typed nils print as Go prints a nil slice, map and pointer.
  assert.equal(run('{{.S}} {{.M}} {{.P}}', { S: new GoNil('slice', '[]string'), M: new GoNil('map', 'map[string]string'), P: new GoNil('ptr', '*int') }), '[] map[] <nil>');
  assert.equal(run('{{.}}', new GoStruct('t', { A: 'x', B: 2, C: [1] })), '{x 2 [1]}');
});

test('constants: strings, raw strings, numbers (int, float, hex, char), booleans', () => {
  assert.equal(run('{{"a\\tb"}}|{{`a\\tb`}}', null), 'a\tb|a\\tb');
  assert.equal(run('{{1}} {{-2}} {{1.0}} {{1e3}} {{0x1F}} {{\'a\'}} {{true}}', null), '1 -2 1 1000 31 97 true');
  assert.equal(run('{{1e6}} {{1.5e7}}', null), '1e+06 1.5e+07');
});

test('variables: declare, assign, $ is the data, scopes end at {{end}}', () => {
  assert.equal(run('{{$x := 1}}{{$x}}{{$x = 2}}{{$x}}', null), '12');
  assert.equal(run('{{$x := "out"}}{{if true}}{{$x := "in"}}{{$x}}{{end}} {{$x}}', null), 'in out');
  assert.equal(run('{{$x := "out"}}{{if true}}{{$x = "in"}}{{end}}{{$x}}', null), 'in');
  assert.equal(run('{{$}}', 'data'), 'data');
  assert.equal(run('{{$c := .Config}}{{$c.Cmd}}', image), '[echo hi]');
});

test('pipelines and parenthesised pipelines: the value goes in as the last argument', () => {
  assert.equal(run('{{.Id | printf "%s!"}}', image), 'sha256:abc!');
  assert.equal(run('{{"x" | printf "%s-%s" "a"}}', null), 'a-x');
  assert.equal(run('{{printf "%d" (len .RepoTags)}}', image), '2');
  assert.equal(run('{{(index .RepoTags 1)}}', image), 'busybox:1');
  assert.equal(run('{{(.Nested).A.B.C}}', image), 'deep');
});

test('if / else if / else, with / else; Go\'s truth', () => {
  const t = '{{if .A}}a{{else if .B}}b{{else}}c{{end}}';
  assert.equal(run(t, { A: 1, B: 1 }), 'a');
  assert.equal(run(t, { A: 0, B: 'x' }), 'b');
  assert.equal(run(t, { A: '', B: [] }), 'c');
  for (const falsy of [0, '', false, [], {}, null, new GoNil('slice', '[]string')]) assert.equal(run('{{if .}}t{{else}}f{{end}}', falsy), 'f', JSON.stringify(falsy));
  for (const truthy of [1, -1, 0.5, 'x', true, [0], { a: 0 }, new GoStruct('t', {})]) assert.equal(run('{{if .}}t{{else}}f{{end}}', truthy), 't');
  assert.equal(run('{{with .Config.Cmd}}{{.}}{{end}}', image), '[echo hi]');
  assert.equal(run('{{with .Config.Entrypoint}}{{.}}{{else}}none{{end}}', image), 'none');
  assert.equal(run('{{with $x := .Id}}{{$x}}{{end}}', image), 'sha256:abc');
});

test('range over slices and maps (sorted keys), with variables, else, break and continue', () => {
  assert.equal(run('{{range .RepoTags}}[{{.}}]{{end}}', image), '[busybox:latest][busybox:1]');
  assert.equal(run('{{range $i, $t := .RepoTags}}{{$i}}={{$t}} {{end}}', image), '0=busybox:latest 1=busybox:1 ');
  assert.equal(run('{{range $v := .RepoTags}}{{$v}};{{end}}', image), 'busybox:latest;busybox:1;');
  assert.equal(run('{{range $k, $v := .}}{{$k}}={{$v}},{{end}}', { zeta: 1, alpha: 2, Mid: 3 }), 'Mid=3,alpha=2,zeta=1,');
  assert.equal(run('{{range .Config.Env}}x{{else}}empty{{end}}', image), 'empty');
  assert.equal(run('{{range .Missing}}x{{else}}none{{end}}', image), 'none');
  assert.equal(run('{{range .}}{{if eq . 3}}{{break}}{{end}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}', [0, 1, 2, 3, 4]), '02');
  assert.equal(run('{{range $i, $e := .}}{{range $e}}{{$i}}{{.}} {{end}}{{end}}', [['a'], ['b', 'c']]), '0a 1b 1c ');
});

test('missing keys: "<no value>" by default, Go\'s error with missingkey=error', () => {
  assert.equal(run('{{.Nope}}', image), '<no value>');
  assert.equal(run('{{.Nope.Deeper}}', image), '<no value>');
  assert.equal(execError('{{.Nope}}', image, { missingKey: 'error' }), 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"');
  assert.equal(execError('{{.Config.Nope}}', image, { missingKey: 'error' }), 'template: :1:9: executing "" at <.Config.Nope>: map has no entry for key "Nope"');
});

test('execution errors: Go\'s wording, position (line:byte column) and context', () => {
  const s = new GoStruct('*formatter.imageContext', { ID: 'abc' });
  assert.equal(execError('{{.Nope}}', s), 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext');
  assert.equal(execError('x\n  {{.ID}} {{.Nope}}', s), 'template: :2:12: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext');
  assert.equal(execError('é{{.Nope}}', s), 'template: :1:4: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext');
  assert.equal(execError('{{.Size.X}}', image), 'template: :1:7: executing "" at <.Size.X>: can\'t evaluate field X in type int');
  assert.equal(execError('{{.Config.Entrypoint.X}}', image), 'template: :1:9: executing "" at <.Config.Entrypoint.X>: nil pointer evaluating interface {}.X');
  assert.equal(execError('{{.P.X}}', { P: new GoNil('ptr', '*types.Version') }), 'template: :1:4: executing "" at <.P.X>: nil pointer evaluating *types.Version.X');
  assert.equal(execError('{{.Id 1}}', image), 'template: :1:2: executing "" at <.Id>: Id is not a method but has arguments');
  assert.equal(execError('{{.ID 1}}', s), 'template: :1:2: executing "" at <.ID>: ID has arguments but cannot be invoked as function');
  assert.equal(execError('{{"x" 1}}', null), 'template: :1:2: executing "" at <"x">: can\'t give argument to non-function "x"');
  assert.equal(execError('{{nil}}', null), 'template: :1:2: executing "" at <nil>: nil is not a command');
  assert.equal(execError('{{range .Size}}{{end}}', image), 'template: :1:8: executing "" at <.Size>: range can\'t iterate over 1988788');
  assert.equal(execError('{{.X}}', image, { missingKey: 'error' }), 'template: :1:2: executing "" at <.X>: map has no entry for key "X"');
  assert.match(execError('{{.}}', { f: () => 1 }.f), /^template: :1:2: executing "" at <\{\{\.\}\}>: can't print \{\{\.\}\} of type func/);
  assert.equal(execError('{{.A.B}}', { A: 'x' }), 'template: :1:4: executing "" at <.A.B>: can\'t evaluate field B in type string');
  assert.equal(execError('{{.A.B}}', [1]), 'template: :1:4: executing "" at <.A.B>: can\'t evaluate field A in type []interface {}');
  // Execute(w, nil): no data at all.
  assert.equal(run('{{.X}}', null), '<no value>');
  assert.equal(execError('{{.X}}', null, { missingKey: 'error' }), 'template: :1:2: executing "" at <.X>: nil data; no entry for key "X"');
});

test('an execution error carries what the template had written before it', () => {
  try {
    run('a{{.A}}b{{.Nope}}c', new GoStruct('t', { A: 1 }));
    assert.fail('ran');
  } catch (e) {
    assert.ok(e instanceof TemplateError);
    assert.equal(e.output, 'a1b');
  }
});

test('a struct field holding a function is a method, called with the arguments', () => {
  const row = new GoStruct('*formatter.containerContext', { Names: 'web', Label: (k: unknown) => ({ role: 'db' } as Record<string, string>)[k as string] ?? '' });
  assert.equal(run('{{.Names}} {{.Label "role"}} [{{.Label "x"}}]', row), 'web db []');
  assert.equal(run('{{"role" | .Label}}', row), 'db');
  assert.equal(execError('{{.Label}}', row), 'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0');
});

test('whitespace trimming and comments', () => {
  assert.equal(run('a  {{- "b" -}}  c', null), 'abc');
  assert.equal(run('{{- /* a comment */ -}}\n  x', null), 'x');
  assert.equal(run('{{range .}}\n  {{- .}}\n{{- end}}', [1, 2]), '12');
  assert.equal(run('a {{/* c */}} b', null), 'a  b');
});

test('numbers from JSON: integers are ints, others float64; a GoFloat is a float64 whatever its value', () => {
  assert.equal(run('{{.}}', 3), '3');
  assert.equal(run('{{.}}', 3.25), '3.25');
  assert.equal(run('{{.}}', new GoFloat(3)), '3');
  assert.equal(run('{{printf "%T %T %T" 3 3.5 .}}', new GoFloat(3)), 'int float64 float64');
});

test('define, template and block: named templates over the value given, without the caller\'s variables', () => {
  assert.equal(run('{{define "row"}}<{{.}}>{{end}}{{range .}}{{template "row" .}}{{end}}', ['a', 'b']), '<a><b>');
  assert.equal(run('{{define "x"}}[{{.}}]{{end}}{{template "x"}}', 'ignored'), '[<no value>]');
  assert.equal(run('{{block "b" .}}{{len .}}{{end}}!', [1, 2, 3]), '3!');
  // A later definition of a block's name replaces its body only when one of them is empty.
  assert.equal(run('{{define "b"}}{{end}}{{block "b" .}}default{{end}}', null), 'default');
  assert.equal(run('{{define "r"}}{{if .}}{{template "r" slice . 1}}{{index . 0}}{{end}}{{end}}{{template "r" .}}', ['a', 'b', 'c']), 'cba');
  assert.equal(run('{{define "x"}}{{$}}{{end}}{{$v := 1}}{{template "x" "dollar"}}', null), 'dollar');
  assert.equal(execError('{{template "nope"}}', null), 'template: :1:11: executing "" at <{{template "nope"}}>: template "nope" not defined');
  // Errors inside a named template name it in "executing".
  assert.equal(execError('{{define "x"}}{{.Nope}}{{end}}{{template "x" .}}', 5), 'template: :1:16: executing "x" at <.Nope>: can\'t evaluate field Nope in type int');
  assert.equal(execError('{{define "r"}}{{template "r"}}{{end}}{{template "r"}}', null), "template: : nested too deeply for cairn's template engine");
});
