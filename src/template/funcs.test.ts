import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoNil, GoStruct, parseTemplate, TemplateError } from './index.js';

const run = (text: string, data: unknown = null): string => parseTemplate(text).execute(data);

function execError(text: string, data: unknown = null): string {
  try {
    run(text, data);
  } catch (e) {
    assert.ok(e instanceof TemplateError);
    return e.message;
  }
  assert.fail(`${text} ran`);
}

test('and / or return the deciding argument and stop there; not', () => {
  assert.equal(run('{{and 1 0 2}}|{{and 1 2}}|{{or 0 "" "x" 3}}|{{or 0 ""}}'), '0|2|x|');
  // Evaluation stops at the deciding argument: the erroring index is never reached.
  assert.equal(run('{{or 1 (index . 99)}}|{{and 0 (index . 99)}}', [1]), '1|0');
  assert.equal(run('{{not 0}} {{not "x"}} {{not .Missing}}', {}), 'true false true');
  assert.equal(run('{{if and .A (not .B)}}yes{{end}}', { A: true, B: false }), 'yes');
  assert.equal(execError('{{and}}'), 'template: :1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0');
  assert.equal(execError('{{not 1 2}}'), 'template: :1:2: executing "" at <not>: wrong number of args for not: want 1 got 2');
});

test('eq / ne / lt / le / gt / ge: Go\'s basic kinds and its errors for incompatible types', () => {
  assert.equal(run('{{eq 1 1}} {{eq "a" "a"}} {{eq 1 2 3 1}} {{ne 1 2}} {{eq true true}}'), 'true true true true true');
  assert.equal(run('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2.5}} {{lt "B" "a"}}'), 'true true true false true');
  assert.equal(run('{{eq .Size 1988788}}', { Size: 1988788 }), 'true');
  assert.equal(run('{{eq .Missing "x"}} {{eq .Missing nil}}', {}), 'false true');
  assert.equal(execError('{{eq 1 1.5}}'), 'template: :1:2: executing "" at <eq 1 1.5>: error calling eq: incompatible types for comparison');
  assert.equal(execError('{{eq "1" 1}}'), 'template: :1:2: executing "" at <eq "1" 1>: error calling eq: incompatible types for comparison');
  assert.equal(execError('{{lt 1 "a"}}'), 'template: :1:2: executing "" at <lt 1 "a">: error calling lt: incompatible types for comparison');
  assert.equal(execError('{{lt true false}}'), 'template: :1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison');
  assert.equal(execError('{{lt . 1}}', [1]), 'template: :1:2: executing "" at <lt . 1>: error calling lt: invalid type for comparison');
  assert.equal(execError('{{gt .Missing 1}}', {}), 'template: :1:2: executing "" at <gt .Missing 1>: error calling gt: invalid type for comparison');
  assert.equal(execError('{{eq 1}}'), 'template: :1:2: executing "" at <eq 1>: error calling eq: missing argument for comparison');
  assert.equal(execError('{{lt 1}}'), 'template: :1:2: executing "" at <lt>: wrong number of args for lt: want 2 got 1');
});

test('index: slices, strings (a byte), maps (a missing key is no value), nested; Go\'s errors', () => {
  const d = { L: ['a', 'b'], M: { k: 'v', n: { x: 'y' } }, S: 'héllo', N: [['a', 'b'], ['c']] };
  assert.equal(run('{{index .L 1}} {{index .M "k"}} {{index .M "n" "x"}} {{index .N 1 0}} {{index .S 1}}', d), 'b v y c 195');
  assert.equal(run('{{index .M "nope"}}', d), '<no value>');
  assert.equal(run('{{index .L}}', d), '[a b]');
  assert.equal(execError('{{index .L 2}}', d), 'template: :1:2: executing "" at <index .L 2>: error calling index: index out of range: 2');
  assert.equal(execError('{{index .L -1}}', d), 'template: :1:2: executing "" at <index .L -1>: error calling index: index out of range: -1');
  assert.equal(execError('{{index .L "x"}}', d), 'template: :1:2: executing "" at <index .L "x">: error calling index: cannot index slice/array with type string');
  assert.equal(execError('{{index .M 1}}', d), 'template: :1:2: executing "" at <index .M 1>: error calling index: value has type int; should be string');
  assert.equal(execError('{{index .Missing 1}}', d), 'template: :1:2: executing "" at <index .Missing 1>: error calling index: index of untyped nil');
  assert.equal(execError('{{index 3 1}}', d), 'template: :1:2: executing "" at <index 3 1>: error calling index: can\'t index item of type int');
});

test('len and slice', () => {
  const d = { L: ['a', 'b', 'c'], M: { a: 1 }, S: 'héllo', E: new GoNil('slice', '[]string') };
  assert.equal(run('{{len .L}} {{len .M}} {{len .S}} {{len .E}} {{len ""}}', d), '3 1 6 0 0');
  assert.equal(run('{{slice .L 1}} {{slice .L 1 2}} {{slice .L}} {{slice "abcdef" 1 3}}', d), '[b c] [b] [a b c] bc');
  assert.equal(execError('{{len 3}}', d), 'template: :1:2: executing "" at <len 3>: error calling len: len of type int');
  assert.equal(execError('{{len .N}}', { N: null }), 'template: :1:2: executing "" at <len .N>: error calling len: len of nil pointer');
  assert.equal(execError('{{slice .L 2 1}}', d), 'template: :1:2: executing "" at <slice .L 2 1>: error calling slice: invalid slice index: 2 > 1');
  assert.equal(execError('{{slice .L 0 4}}', d), 'template: :1:2: executing "" at <slice .L 0 4>: error calling slice: index out of range: 4');
  assert.equal(execError('{{slice "abc" 0 1 2}}', d), 'template: :1:2: executing "" at <slice "abc" 0 1 2>: error calling slice: cannot 3-index slice a string');
  assert.equal(execError('{{slice 3 1}}', d), 'template: :1:2: executing "" at <slice 3 1>: error calling slice: can\'t slice item of type int');
});

test('argument types are checked as Go checks a function\'s parameters', () => {
  assert.equal(execError('{{printf 3}}'), 'template: :1:9: executing "" at <3>: expected string; found 3');
  assert.equal(execError('{{printf .N}}', { N: 3 }), 'template: :1:9: executing "" at <.N>: wrong type for value; expected string; got int');
  assert.equal(execError('{{upper .Missing}}', {}), 'template: :1:8: executing "" at <.Missing>: invalid value; expected string');
  assert.equal(execError('{{truncate "abc" "x"}}'), 'template: :1:17: executing "" at <"x">: expected integer; found "x"');
  assert.equal(execError('{{upper nil}}'), 'template: :1:8: executing "" at <nil>: cannot assign nil to string');
  assert.equal(execError('{{join .L ","}}', { L: [1, 2] }), 'template: :1:7: executing "" at <.L>: wrong type for value; expected []string; got []interface {}');
  assert.equal(execError('{{upper "a" "b"}}'), 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 2');
});

test("Docker's functions: json, join, split, lower, upper, title, pad, truncate", () => {
  const d = { Config: { Cmd: ['sh', '-c', 'echo a > b && c < d'], Labels: { z: '1', a: '2' } }, Tags: ['a:1', 'b:2'], Name: 'hello wide-world_x' };
  // Docker's json: an Encoder with SetEscapeHTML(false), its newline trimmed (reference: inspect -f '{{json .ContainerConfig}}').
  assert.equal(run('{{json .Config.Cmd}}', d), '["sh","-c","echo a > b && c < d"]');
  assert.equal(run('{{json .Tags}} {{json .Name}} {{json 1}} {{json .Missing}} {{json true}}', d), '["a:1","b:2"] "hello wide-world_x" 1 null true');
  assert.equal(run('{{json .}}', { s: 'tab\t\u0001\u2028"\\' }), '{"s":"tab\\t\\u0001\\u2028\\"\\\\"}');
  assert.equal(run('{{json .}}', new GoStruct('t', { A: 1, B: new GoNil('slice', '[]string') })), '{"A":1,"B":null}');
  assert.equal(run('{{join .Tags ", "}}', d), 'a:1, b:2');
  assert.equal(run('{{split "a,b,,c" ","}} {{len (split "a,b" ",")}} {{split "ab" ""}}'), '[a b  c] 2 [a b]');
  assert.equal(run('{{lower "ABC"}} {{upper "abc"}} {{title .Name}}', d), 'abc ABC Hello Wide-World_x');
  assert.equal(run('[{{pad "x" 2 1}}] [{{pad "" 2 1}}]'), '[  x ] []');
  assert.equal(execError('{{pad "x" -1 0}}'), 'template: :1:2: executing "" at <pad "x" -1 0>: error calling pad: strings: negative Repeat count');
  assert.equal(run('{{truncate "abcdef" 3}} {{truncate "ab" 3}} {{truncate "abc" 3}}'), 'abc ab abc');
  assert.equal(run('{{.Name | upper | printf "%s!"}}', d), 'HELLO WIDE-WORLD_X!');
});

test('html, js and urlquery escape the text of their arguments as Go\'s builtins do', () => {
  assert.equal(run(`{{html "<a href='x'>&\\"" }}`), '&lt;a href=&#39;x&#39;&gt;&amp;&#34;');
  assert.equal(run('{{js .}}', 'a\'b"c<d>=&\\\u0001é'), 'a\\\'b\\"c\\u003Cd\\u003E\\u003D\\u0026\\\\\\u0001é');
  assert.equal(run('{{urlquery "a b&c=d/é~"}}'), 'a+b%26c%3Dd%2F%C3%A9~');
  assert.equal(run('{{html 1 2}} {{urlquery 3}}'), '1 2 3');
});
