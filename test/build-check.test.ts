/** `cairn build --check` through the real CLI: findings, exit codes, JSON, -f, --build-arg, --target. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cairn, tempDir } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
before(async () => {
  dir = await tempDir();
});
after(() => dir.cleanup());

async function ctx(name: string, files: Record<string, string>): Promise<string> {
  const p = join(dir.path, name);
  await mkdir(p, { recursive: true });
  for (const [f, c] of Object.entries(files)) await writeFile(join(p, f), c);
  return p;
}

test('a clean Dockerfile: no findings, exit 0', async () => {
  const c = await ctx('clean', { Dockerfile: 'FROM busybox AS base\nWORKDIR /app\nCMD ["sh"]\n' });
  const r = await cairn(join(dir.path, 'root'), ['build', '--check', c]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Check complete, no warnings found.\n');
});

test('findings: rule names, lines, excerpt, exit 1; JSON report', async () => {
  const c = await ctx('dirty', { Dockerfile: 'FROM busybox as base\nMAINTAINER me\nCMD echo hi\n' });
  const r = await cairn(join(dir.path, 'root'), ['build', '--check', c]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^Check complete, 3 warnings have been found!\n/);
  assert.match(r.stdout, /WARNING: FromAsCasing - https:\/\/docs\.docker\.com\/go\/dockerfile\/rule\/from-as-casing\//);
  assert.match(r.stdout, /WARNING: MaintainerDeprecated/);
  assert.match(r.stdout, /WARNING: JSONArgsRecommended/);
  assert.match(r.stdout, / {3}2 \| >>> MAINTAINER me/);
  const j = await cairn(join(dir.path, 'root'), ['build', '--check', '--format', 'json', c]);
  assert.equal(j.code, 1);
  const report = JSON.parse(j.stdout) as { findings: Array<{ rule: string; lines: Array<{ start: number }> }> };
  assert.deepEqual(report.findings.map((f) => [f.rule, f.lines[0]!.start]), [['FromAsCasing', 1], ['MaintainerDeprecated', 2], ['JSONArgsRecommended', 3]]);
});

test('-f, --build-arg and --target reach the checks', async () => {
  const c = await ctx('args', {
    'other.Dockerfile': 'ARG BASE\nFROM ${BASE} AS one\nRUN true\nFROM busybox AS two\nCOPY --from=one /x /x\n',
  });
  const noArg = await cairn(join(dir.path, 'root'), ['build', '--check', '--format', 'json', '-f', join(c, 'other.Dockerfile'), c]);
  const rules = (JSON.parse(noArg.stdout) as { findings: Array<{ rule: string }> }).findings.map((f) => f.rule);
  assert.ok(rules.includes('InvalidDefaultArgInFrom'), `expected InvalidDefaultArgInFrom in ${rules.join(',')}`);
  // As BuildKit: the rule judges the ARG's default, so a --build-arg does not silence it.
  const withArg = await cairn(join(dir.path, 'root'), ['build', '--check', '--build-arg', 'BASE=busybox', '-f', join(c, 'other.Dockerfile'), c]);
  assert.match(withArg.stdout, /InvalidDefaultArgInFrom/);
  const good = await cairn(join(dir.path, 'root'), ['build', '--check', '--target', 'two', '--build-arg', 'BASE=busybox', '-f', join(c, 'other.Dockerfile'), c]);
  assert.doesNotMatch(good.stdout, /ERROR/);
  const missing = await cairn(join(dir.path, 'root'), ['build', '--check', '--target', 'nosuch', '--build-arg', 'BASE=busybox', '-f', join(c, 'other.Dockerfile'), c]);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /ERROR: .*nosuch/);
});

test('a missing Dockerfile is a one-line error', async () => {
  const r = await cairn(join(dir.path, 'root'), ['build', '--check', join(dir.path, 'nowhere')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: failed to read dockerfile: open .*nowhere\/Dockerfile: no such file or directory\n$/);
});

test('the CLI reads the .dockerignore that applies: NAME.dockerignore beside the Dockerfile wins', async () => {
  const c = await ctx('ignore', {
    Dockerfile: '# check=experimental=CopyIgnoredFile\nFROM busybox\nCOPY docs/readme.md /x\nCOPY ./src /src\nCOPY --from=busybox docs /y\n',
    '.dockerignore': '# comment\ndocs\n',
  });
  const messages = async (): Promise<string[]> => {
    const r = await cairn(join(dir.path, 'root'), ['build', '--check', '--format', 'json', c]);
    return (JSON.parse(r.stdout) as { findings: Array<{ message: string }> }).findings.map((f) => f.message);
  };
  assert.deepEqual(await messages(), ['Attempting to Copy file "docs/readme.md" that is excluded by .dockerignore']);
  await writeFile(join(c, 'Dockerfile.dockerignore'), 'src\n');
  assert.deepEqual(await messages(), ['Attempting to Copy file "./src" that is excluded by .dockerignore']);
  // Another Dockerfile name does not pick Dockerfile.dockerignore up.
  await writeFile(join(c, 'other.Dockerfile'), '# check=experimental=CopyIgnoredFile\nFROM busybox\nCOPY docs/readme.md /x\n');
  const other = await cairn(join(dir.path, 'root'), ['build', '--check', '--format', 'json', '-f', join(c, 'other.Dockerfile'), c]);
  assert.deepEqual((JSON.parse(other.stdout) as { findings: Array<{ message: string }> }).findings.map((f) => f.message), ['Attempting to Copy file "docs/readme.md" that is excluded by .dockerignore']);
});
