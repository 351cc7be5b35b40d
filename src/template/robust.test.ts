import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoNil, GoStruct, parseTemplate, TemplateError } from './index.js';

/** A small seeded generator (mulberry32): the same templates on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '{{', '}}', '{{-', '-}}', ' ', '.', '.A', '.B.C', '.L', '.M', '.S', '.N', '.F', '$', '$x', ':=', '=', '|', '(', ')', ',', 'if', 'else', 'end', 'range', 'with',
  'break', 'continue', 'and', 'or', 'not', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'index', 'len', 'slice', 'print', 'printf', 'println', 'json', 'join', 'split',
  'lower', 'upper', 'title', 'pad', 'truncate', 'html', 'js', 'urlquery', 'nil', 'true', '1', '-2', '1.5', '0x1F', "'a'", '"s"', '"%d %s %v %q %x %5.2f"', '`r`',
  '/*', '*/', 'text', '\n', '"', '\\', '{', '}', 'é', 'define', 'template', 'block', '"t"', '{{define "t"}}', '{{template "t" .}}',
];

test('any template either runs or fails with a TemplateError: never a JavaScript error', () => {
  const next = rng(14);
  const data = {
    A: 1,
    B: { C: 'c' },
    L: ['x', 'y'],
    M: { k: 'v', n: null },
    S: new GoStruct('t.S', { F: 'f', G: (a: unknown) => `g${String(a)}` }),
    N: new GoNil('slice', '[]string'),
    F: 2.5,
  };
  let ran = 0;
  for (let i = 0; i < 4000; i++) {
    const n = 1 + Math.floor(next() * 12);
    let text = '';
    for (let j = 0; j < n; j++) text += PIECES[Math.floor(next() * PIECES.length)];
    // Most random texts do not parse; bias towards actions.
    if (next() < 0.7) text = `{{${text}}}`;
    try {
      parseTemplate(text).execute(data);
      ran++;
    } catch (e) {
      if (!(e instanceof TemplateError)) assert.fail(`${JSON.stringify(text)} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      assert.match(e.message, /^template: /);
    }
  }
  assert.ok(ran > 100, `some templates ran (${ran})`);
});
