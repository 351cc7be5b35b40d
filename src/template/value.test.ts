import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloatG, formatValue, goJSON, GoFloat, GoNil, GoStruct, isTrue, kindOf, typeName } from './value.js';

test('formatFloatG is strconv.FormatFloat(f, \'g\', -1, 64)', () => {
  assert.equal(formatFloatG(1.5), '1.5');
  assert.equal(formatFloatG(100000), '100000');
  assert.equal(formatFloatG(1000000), '1e+06');
  assert.equal(formatFloatG(1234567), '1.234567e+06');
  assert.equal(formatFloatG(0.0001), '0.0001');
  assert.equal(formatFloatG(0.00001), '1e-05');
  assert.equal(formatFloatG(-2.5e-10), '-2.5e-10');
  assert.equal(formatFloatG(1e100), '1e+100');
  assert.equal(formatFloatG(0), '0');
  assert.equal(formatFloatG(Infinity), '+Inf');
  assert.equal(formatFloatG(NaN), 'NaN');
});

test('kinds and Go type names of JS values', () => {
  assert.deepEqual([1, 1.5, 2 ** 60, 's', true, null, undefined, [], {}].map(kindOf), ['int', 'float', 'float', 'string', 'bool', 'nil', 'invalid', 'slice', 'map']);
  assert.equal(kindOf(new GoFloat(1)), 'float');
  assert.equal(typeName(new GoStruct('types.ImageInspect', {})), 'types.ImageInspect');
  assert.equal(typeName(new GoNil('slice', 'strslice.StrSlice')), 'strslice.StrSlice');
  assert.equal(typeName({}), 'map[string]interface {}');
});

test('%v of values: nested slices, maps sorted byte-wise, structs without methods', () => {
  assert.equal(formatValue([['a'], []]), '[[a] []]');
  assert.equal(formatValue({ b: 1, B: 2, a: 3 }), 'map[B:2 a:3 b:1]');
  assert.equal(formatValue(new GoStruct('t', { A: 'x', M: () => 1, B: new GoNil('map', 'm') })), '{x map[]}');
  assert.equal(formatValue(null), '<nil>');
  assert.equal(formatValue(2 ** 60), '1.152921504606847e+18');
});

test('truth of values as Go\'s if sees it', () => {
  assert.deepEqual([0, 1, '', 'a', [], [0], {}, { a: 1 }, null, undefined, true, false, new GoFloat(0)].map(isTrue), [false, true, false, true, false, true, false, true, false, false, true, false, false]);
});

test('goJSON: compact, escapeHTML as json.Marshal or not as Docker\'s json function, control characters as Go before 1.22', () => {
  const v = { a: '<b>&', n: [1, 1.5, null], t: true, s: 'é\u2028\b' };
  assert.equal(goJSON(v, true), '{"a":"\\u003cb\\u003e\\u0026","n":[1,1.5,null],"t":true,"s":"é\\u2028\\u0008"}');
  assert.equal(goJSON(v, false), '{"a":"<b>&","n":[1,1.5,null],"t":true,"s":"é\\u2028\\u0008"}');
  assert.equal(goJSON(1e21, false), '1e+21');
  assert.equal(goJSON(0.0000001, false), '1e-7');
  assert.equal(goJSON(new GoStruct('t', { A: 1 }, () => '{"custom":true}'), false), '{"custom":true}');
  assert.equal(goJSON({ keep: 'order', a: 1, missing: undefined }, false), '{"keep":"order","a":1}');
});
