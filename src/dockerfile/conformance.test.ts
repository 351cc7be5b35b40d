/**
 * BuildKit's own parser and shell-expansion conformance data, read at test time from the
 * shared corpus next to the repository (../shared/conformance/dockerfile-parser; see its
 * README.md). Nothing from it is copied into the project.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import { parse } from './parser.js';
import { dump } from './dump.js';
import { envFromPairs, Lexer } from './shell.js';

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'src'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root (package.json) not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

const corpus = path.resolve(findRepoRoot(), '../shared/conformance/dockerfile-parser');
const positiveDir = path.join(corpus, 'parser/testfiles');
const negativeDir = path.join(corpus, 'parser/testfiles-negative');

function caseNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

describe('conformance corpus is present', () => {
  it('has the BuildKit parser and shell data', () => {
    assert.ok(existsSync(corpus), `missing conformance corpus at ${corpus}`);
    assert.equal(caseNames(positiveDir).length, 33);
    assert.equal(caseNames(negativeDir).length, 4);
  });
});

describe('BuildKit parser testfiles (dump equals result)', () => {
  for (const name of caseNames(positiveDir)) {
    it(name, () => {
      const text = readFileSync(path.join(positiveDir, name, 'Dockerfile'), 'utf8');
      const expected = readFileSync(path.join(positiveDir, name, 'result'), 'utf8');
      const result = parse(text);
      assert.equal(dump(result.ast) + '\n', expected);
    });
  }
});

describe('BuildKit parser testfiles-negative (rejected)', () => {
  for (const name of caseNames(negativeDir)) {
    it(name, () => {
      const text = readFileSync(path.join(negativeDir, name, 'Dockerfile'), 'utf8');
      assert.throws(
        () => parse(text),
        (err: unknown) => err instanceof InvalidArgumentError && /^Dockerfile:\d+: \S/.test(err.message),
      );
    });
  }
});

describe('BuildKit testfile-line (line positions)', () => {
  it('records start and end lines of the file and of each instruction', () => {
    const text = readFileSync(path.join(corpus, 'parser/testfile-line/Dockerfile'), 'utf8');
    const { ast } = parse(text);
    assert.equal(ast.startLine, 5);
    assert.equal(ast.endLine, 31);
    assert.equal(ast.children.length, 3);
    assert.deepEqual(
      ast.children.map((c) => [c.startLine, c.endLine]),
      [
        [5, 5],
        [11, 12],
        [17, 31],
      ],
    );
  });
});

describe('BuildKit shell/envVarTest (processWord)', () => {
  // Fixed environment of the upstream test; every other name is unset.
  const env = envFromPairs([
    ['PWD', '/home'],
    ['SHELL', 'bash'],
    ['KOREAN', '한국어'],
    ['NULL', ''],
  ]);
  const lines = readFileSync(path.join(corpus, 'shell/envVarTest'), 'utf8').split('\n');
  let count = 0;
  lines.forEach((raw, idx) => {
    if (raw.startsWith('#')) return;
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split('|');
    const platform = (fields[0] ?? '').trim();
    // W lines are Windows-only (case-insensitive names); A and U apply to Linux.
    if (platform === 'W') return;
    count++;
    it(`line ${idx + 1} [${platform}]: ${line}`, () => {
      assert.equal(fields.length, 3);
      assert.ok(platform === 'A' || platform === 'U', `bad platform tag ${platform}`);
      const source = (fields[1] as string).trim();
      const expected = (fields[2] as string).trim();
      const lex = new Lexer('\\');
      if (expected === 'error') {
        assert.throws(() => lex.processWord(source, env), InvalidArgumentError);
      } else {
        assert.equal(lex.processWord(source, env), expected);
      }
    });
  });
  it('ran every A and U line', () => {
    assert.equal(count, 228);
  });
});

describe('BuildKit shell/wordsTest (processWords)', () => {
  const lines = readFileSync(path.join(corpus, 'shell/wordsTest'), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const env: Array<[string, string]> = [];
  lines.forEach((line, idx) => {
    if (line.startsWith('#')) return;
    if (line.startsWith('ENV ')) {
      const assignment = line.slice(3).replace(/^ +/, '');
      const eq = assignment.indexOf('=');
      env.push([assignment.slice(0, eq), assignment.slice(eq + 1)]);
      return;
    }
    const snapshot = envFromPairs(env.slice());
    it(`line ${idx + 1}: ${line}`, () => {
      const parts = line.split('|');
      assert.equal(parts.length, 2, 'exactly one | per case');
      const input = (parts[0] as string).trim();
      const expected = (parts[1] as string).replace(/^ +/, '').split(',');
      let got: string[];
      try {
        got = new Lexer('\\').processWords(input, snapshot);
      } catch (err) {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        got = ['error'];
      }
      assert.deepEqual(got, expected);
    });
  });
});
