import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoFloat, GoNil, GoStruct, parseTemplate, sprint, sprintf, sprintln } from './index.js';

test('Sprint puts a space between operands when neither is a string; Sprintln always, then a newline', () => {
  assert.equal(sprint([1, 2, 'a', 'b', 3, true]), '1 2ab3 true');
  assert.equal(sprint(['a', 1, 'b']), 'a1b');
  assert.equal(sprint([null, [1, 2]]), '<nil> [1 2]');
  assert.equal(sprintln([1, 'a', 'b']), '1 a b\n');
  assert.equal(sprintln([]), '\n');
});

test('Sprintf: strings with width, left alignment, precision, %q, %x', () => {
  assert.equal(sprintf('%s|%5s|%-5s|%.2s|%5.1s|', ['ab', 'ab', 'ab', 'abc', 'xyz']), 'ab|   ab|ab   |ab|    x|');
  assert.equal(sprintf('%-10s|', ['héllo']), 'héllo     |', 'width counts runes');
  assert.equal(sprintf('%q %q', ['a"b', 'tab\there']), '"a\\"b" "tab\\there"');
  assert.equal(sprintf('%#q', ['raw']), '`raw`');
  assert.equal(sprintf('%x %X', ['hi', 'hi']), '6869 6869');
  assert.equal(sprintf('%v', ['s']), 's');
});

test('Sprintf: integers %d %+d %5d %-5d %05d %x %X %#x %o %b %c %q %U', () => {
  assert.equal(sprintf('%d|%+d|%5d|%-5d|%05d|%05d', [42, 42, 42, 42, 42, -42]), '42|+42|   42|42   |00042|-0042');
  assert.equal(sprintf('%x %X %#x %o %#o %O %b', [255, 255, 255, 8, 8, 8, 5]), 'ff FF 0xff 10 010 0o10 101');
  assert.equal(sprintf('%x', [-255]), '-ff');
  assert.equal(sprintf('%c %q %U', [65, 65, 0x1f600]), "A 'A' U+1F600");
  assert.equal(sprintf('%.3d % d', [7, 7]), '007  7');
});

test('Sprintf: floats %f %.2f %8.3f %e %E %g %G and %v', () => {
  assert.equal(sprintf('%f|%.2f|%8.3f|%-8.1f|%08.3f', [3.14159, 3.14159, 3.14159, 3.14159, -3.14159]), '3.141590|3.14|   3.142|3.1     |-003.142');
  assert.equal(sprintf('%e|%E|%.2e', [123456.789, 123456.789, 0.000123]), '1.234568e+05|1.234568E+05|1.23e-04');
  assert.equal(sprintf('%g|%g|%g|%.3g|%G|%g', [new GoFloat(100000), new GoFloat(1000000), 0.00001, 3.14159, 1e-7, 100000]), '100000|1e+06|1e-05|3.14|1E-07|%!g(int=100000)');
  assert.equal(sprintf('%v %v', [new GoFloat(2), 2.5]), '2 2.5');
  assert.equal(sprintf('%f', [new GoFloat(2)]), '2.000000');
  assert.equal(sprintf('%.1f %.0f', [0.25, 2.5]), '0.2 2', 'round half to even on the binary value');
  assert.equal(sprintf('%v %v %f', [Infinity, -Infinity, NaN]), '+Inf -Inf NaN');
});

test('Sprintf: booleans, slices and maps element by element, structs, nil, %T, %%', () => {
  assert.equal(sprintf('%t %v', [true, false]), 'true false');
  assert.equal(sprintf('%v|%d|%q|%s', [['a', 'b'], [1, 2], ['a', 'b'], ['x']]), '[a b]|[1 2]|["a" "b"]|[x]');
  assert.equal(sprintf('%v|%s', [{ b: 2, a: 1 }, { k: 'v' }]), 'map[a:1 b:2]|map[k:v]');
  assert.equal(sprintf('%v', [new GoStruct('t', { A: 1, B: 'x' })]), '{1 x}');
  assert.equal(sprintf('%v %v %v', [null, new GoNil('slice', '[]string'), new GoNil('ptr', '*int')]), '<nil> [] <nil>');
  assert.equal(sprintf('%T %T %T %T %T %T', ['s', 1, 1.5, true, ['a'], { a: 1 }]), 'string int float64 bool []interface {} map[string]interface {}');
  assert.equal(sprintf('100%%', []), '100%');
  assert.equal(sprintf('%*d|%-*d|%.*f', [5, 1, 3, 2, 2, 3.14159]), '    1|2  |3.14');
});

test('Sprintf: Go\'s in-band errors for wrong verbs, missing and extra arguments', () => {
  assert.equal(sprintf('%d', ['hi']), '%!d(string=hi)');
  assert.equal(sprintf('%s', [5]), '%!s(int=5)');
  assert.equal(sprintf('%d', [1.5]), '%!d(float64=1.5)');
  assert.equal(sprintf('%t', [1]), '%!t(int=1)');
  assert.equal(sprintf('%s', [null]), '%!s(<nil>)');
  assert.equal(sprintf('%z', [1]), '%!z(int=1)');
  assert.equal(sprintf('%d %d', [1]), '1 %!d(MISSING)');
  assert.equal(sprintf('%d', [1, 'x', 2]), '1%!(EXTRA string=x, int=2)');
  assert.equal(sprintf('abc%', []), 'abc%!(NOVERB)');
});

test('print, printf and println as template functions', () => {
  const t = (s: string, d: unknown = null) => parseTemplate(s).execute(d);
  assert.equal(t('{{print "a" 1 2 "b"}}'), 'a1 2b');
  assert.equal(t('{{println "a" 1}}'), 'a 1\n');
  assert.equal(t('{{printf "%-10s|%5d|%.2f|%v|%q" .N 42 3.14159 .L "x"}}', { N: 'name', L: ['a', 'b'] }), 'name      |   42|3.14|[a b]|"x"');
  assert.equal(t('{{printf "%s" .Missing}}', {}), '%!s(<nil>)');
  assert.equal(t('{{print .Missing}}', {}), '<nil>');
  assert.equal(t('{{.Missing | print}}', {}), '<nil>');
});
