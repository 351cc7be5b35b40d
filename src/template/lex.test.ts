import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lex, itemString, type Item } from './lex.js';

const kinds = (s: string): Array<[string, string]> => lex(s).map((i: Item) => [i.type, i.val]);

test('text and actions: delimiters, fields, spaces, EOF', () => {
  assert.deepEqual(kinds('a {{.X.Y}} b'), [
    ['text', 'a '],
    ['leftDelim', '{{'],
    ['field', '.X'],
    ['field', '.Y'],
    ['rightDelim', '}}'],
    ['text', ' b'],
    ['eof', ''],
  ]);
});

test('keywords, identifiers, variables, declarations, pipes, parens, literals', () => {
  assert.deepEqual(kinds('{{range $i, $v := .}}{{printf "%d" (len `x`) | print nil true 1.5 \'a\'}}{{end}}'), [
    ['leftDelim', '{{'], ['range', 'range'], ['space', ' '], ['variable', '$i'], ['char', ','], ['space', ' '], ['variable', '$v'], ['space', ' '], ['declare', ':='], ['space', ' '], ['dot', '.'], ['rightDelim', '}}'],
    ['leftDelim', '{{'], ['identifier', 'printf'], ['space', ' '], ['string', '"%d"'], ['space', ' '], ['leftParen', '('], ['identifier', 'len'], ['space', ' '], ['rawString', '`x`'], ['rightParen', ')'], ['space', ' '], ['pipe', '|'], ['space', ' '],
    ['identifier', 'print'], ['space', ' '], ['nil', 'nil'], ['space', ' '], ['bool', 'true'], ['space', ' '], ['number', '1.5'], ['space', ' '], ['charConstant', "'a'"], ['rightDelim', '}}'],
    ['leftDelim', '{{'], ['end', 'end'], ['rightDelim', '}}'], ['eof', ''],
  ]);
  assert.deepEqual(kinds('{{$x = $}}'), [['leftDelim', '{{'], ['variable', '$x'], ['space', ' '], ['assign', '='], ['space', ' '], ['variable', '$'], ['rightDelim', '}}'], ['eof', '']]);
});

test('trim markers eat the white space beside them; "{{-3}}" is the number -3', () => {
  assert.deepEqual(kinds('a \n {{- .X -}} \n b'), [['text', 'a'], ['leftDelim', '{{'], ['field', '.X'], ['rightDelim', '}}'], ['text', 'b'], ['eof', '']]);
  assert.deepEqual(kinds('{{-3}}'), [['leftDelim', '{{'], ['number', '-3'], ['rightDelim', '}}'], ['eof', '']]);
});

test('comments, with and without trim markers', () => {
  assert.deepEqual(kinds('a{{/* c */}}b'), [['text', 'a'], ['comment', '/* c */'], ['text', 'b'], ['eof', '']]);
  assert.deepEqual(kinds('a {{- /* c */ -}} b'), [['text', 'a'], ['comment', '/* c */'], ['text', 'b'], ['eof', '']]);
});

test('numbers: Go literal forms; a letter right after one is bad number syntax', () => {
  assert.deepEqual(kinds('{{0x1F 1e3 1_000 0o17 .5}}').filter(([t]) => t === 'number').map(([, v]) => v), ['0x1F', '1e3', '1_000', '0o17', '.5']);
  const bad = lex('{{3x}}').at(-1)!;
  assert.deepEqual([bad.type, bad.val], ['error', 'bad number syntax: "3x"']);
});

test('lexical errors carry Go\'s messages', () => {
  const err = (s: string) => lex(s).at(-1)!.val;
  assert.equal(err('{{.X'), 'unclosed action');
  assert.equal(err('{{/* x'), 'unclosed comment');
  assert.equal(err('{{/* x */ .X}}'), 'comment ends before closing delimiter');
  assert.equal(err('{{"abc}}'), 'unterminated quoted string');
  assert.equal(err('{{`abc}}'), 'unterminated raw quoted string');
  assert.equal(err("{{'a}}"), 'unterminated character constant');
  assert.equal(err('{{(.X}}'), 'unclosed left paren');
  assert.equal(err('{{.X)}}'), "unexpected right paren U+0029 ')'");
  assert.equal(err('{{.X€}}'), "bad character U+20AC '€'");
  assert.equal(err('{{a:b}}'), 'expected :=');
  assert.equal(err('{{\u00a0}}'), 'unrecognized character in action: U+00A0');
});

test('an item shows in parse errors as Go\'s item.String() does', () => {
  const item = (type: Item['type'], val: string): Item => ({ type, val, pos: 0, line: 1 });
  assert.equal(itemString(item('eof', '')), 'EOF');
  assert.equal(itemString(item('with', 'with')), '<with>');
  assert.equal(itemString(item('char', '@')), '"@"');
  assert.equal(itemString(item('string', '"a long string"')), '"\\"a long st"...');
});
