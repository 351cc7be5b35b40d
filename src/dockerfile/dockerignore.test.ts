import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPath, dockerignoreCandidates, parseDockerignore, PatternMatcher } from './dockerignore.js';

function m(...patterns: string[]): PatternMatcher {
  return new PatternMatcher(patterns);
}

test('parseDockerignore: comments, blank lines, BOM, cleaning, leading slash, exceptions', () => {
  assert.deepEqual(parseDockerignore('\uFEFF# c\n\n  *.md  \n/abs/dir/\n./a/../b\n! keep.md\n!/x/\n'), ['*.md', 'abs/dir', 'b', '!keep.md', '!x']);
  // A `#` not at the start of the line is part of the pattern.
  assert.deepEqual(parseDockerignore(' #x\n'), ['#x']);
});

test('cleanPath is Go path.Clean', () => {
  assert.equal(cleanPath('a//b/./c/..'), 'a/b');
  assert.equal(cleanPath('/../x'), '/x');
  assert.equal(cleanPath('../x'), '../x');
  assert.equal(cleanPath(''), '.');
  assert.equal(cleanPath('./'), '.');
});

test('patterns are anchored at the context root', () => {
  const p = m('*.md');
  assert.equal(p.matches('README.md'), true);
  assert.equal(p.matches('docs/README.md'), false);
  assert.equal(m('docs/*.md').matches('docs/a.md'), true);
  assert.equal(m('docs/*.md').matches('docs/sub/a.md'), false);
  assert.equal(m('?.txt').matches('a.txt'), true);
  assert.equal(m('?.txt').matches('ab.txt'), false);
  assert.equal(m('[ab].txt').matches('b.txt'), true);
});

test('** matches any number of directories', () => {
  assert.equal(m('**/*.go').matches('main.go'), true);
  assert.equal(m('**/*.go').matches('a/b/c.go'), true);
  assert.equal(m('**/node_modules').matches('node_modules'), true);
  assert.equal(m('**/node_modules').matches('x/y/node_modules'), true);
  assert.equal(m('**/node_modules').matches('x/node_modules2'), false);
  assert.equal(m('build/**').matches('build/a/b'), true);
  assert.equal(m('a/**/z').matches('a/z'), true);
  assert.equal(m('a/**/z').matches('a/b/c/z'), true);
  assert.equal(m('**').matches('anything/at/all'), true);
});

test('! exceptions: the last matching pattern wins', () => {
  const p = m('*.md', '!README.md');
  assert.equal(p.matches('CHANGES.md'), true);
  assert.equal(p.matches('README.md'), false);
  assert.equal(p.exclusions, true);
  const q = m('*.md', '!README.md', 'README.md');
  assert.equal(q.matches('README.md'), true);
  assert.throws(() => m('!'), /illegal exclusion pattern/);
});

test('matchesOrParentMatches counts excluded parent directories', () => {
  const p = m('docs', '!docs/keep');
  assert.equal(p.matches('docs/a/b.txt'), false);
  assert.equal(p.matchesOrParentMatches('docs/a/b.txt'), true);
  assert.equal(p.matchesOrParentMatches('docs/keep'), false);
  assert.equal(p.matchesOrParentMatches('src/docs'), false);
  assert.equal(m('vendor/*').matchesOrParentMatches('vendor/x/y/z.go'), true);
});

test('regexp characters in patterns are literal', () => {
  assert.equal(m('a+b(c).txt').matches('a+b(c).txt'), true);
  assert.equal(m('a.b').matches('axb'), false);
  // A backslash escapes a wildcard in a pattern that is matched as a regexp...
  assert.equal(m('\\*s?ar').matches('*star'), true);
  assert.equal(m('\\*s?ar').matches('xstar'), false);
  // ...while a pattern without wildcards is compared as written, as patternmatcher does.
  assert.equal(m('\\*star').matches('*star'), false);
});

test('dockerignoreCandidates: NAME.dockerignore beside the Dockerfile comes before .dockerignore at the context root', () => {
  assert.deepEqual(dockerignoreCandidates('/ctx', '/ctx/Dockerfile'), ['/ctx/Dockerfile.dockerignore', '/ctx/.dockerignore']);
  assert.deepEqual(dockerignoreCandidates('/ctx', '/elsewhere/app.Dockerfile'), ['/elsewhere/app.Dockerfile.dockerignore', '/ctx/.dockerignore']);
  assert.deepEqual(dockerignoreCandidates('/ctx'), ['/ctx/.dockerignore']);
});
