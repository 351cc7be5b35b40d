import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDockerfile, formatCheckReport, parseCheckOptions, RULES, type CheckOptions } from './checks.js';
import type { RuleName } from './lint.js';

function rulesOf(text: string, opts: Omit<CheckOptions, 'text'> = {}): RuleName[] {
  return checkDockerfile({ ...opts, text }).findings.map((f) => f.rule);
}

const X = '# check=experimental=all\n';

/** [rule, Dockerfile that triggers it, Dockerfile that does not, expected message]. */
const CASES: Array<[RuleName, string, string, string]> = [
  ['StageNameCasing', 'FROM alpine AS Build\nRUN true\n', 'FROM alpine AS build\nRUN true\n', "Stage name 'Build' should be lowercase"],
  ['FromAsCasing', 'FROM alpine as build\n', 'FROM alpine AS build\n', "'as' and 'FROM' keywords' casing do not match"],
  ['NoEmptyContinuation', 'FROM alpine\nRUN echo a \\\n\n  b\n', 'FROM alpine\nRUN echo a \\\n  b\n', 'Empty continuation line'],
  ['ConsistentInstructionCasing', 'FROM alpine\nrun true\nRUN false\n', 'from alpine\nrun true\nrun false\n', "Command 'run' should match the case of the command majority (uppercase)"],
  ['DuplicateStageName', 'FROM alpine AS a\nFROM busybox AS a\n', 'FROM alpine AS a\nFROM busybox AS b\n', 'Duplicate stage name "a", stage names should be unique'],
  ['ReservedStageName', 'FROM alpine AS scratch\n', 'FROM alpine AS base\n', 'Stage name should not use the same name as reserved stage "scratch"'],
  ['JSONArgsRecommended', 'FROM alpine\nENTRYPOINT my-app --serve\n', 'FROM alpine\nENTRYPOINT ["my-app", "--serve"]\n', 'JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals'],
  ['MaintainerDeprecated', 'FROM alpine\nMAINTAINER me@example.com\n', 'FROM alpine\nLABEL org.opencontainers.image.authors=me\n', 'Maintainer instruction is deprecated in favor of using label'],
  ['UndefinedArgInFrom', 'FROM alpine:$VERSON\n', 'ARG VERSION=3\nFROM alpine:$VERSION\n', "FROM argument 'VERSON' is not declared"],
  ['WorkdirRelativePath', 'FROM alpine\nWORKDIR app\n', 'FROM alpine\nWORKDIR /app\nWORKDIR sub\n', 'Relative workdir "app" can have unexpected results if the base image changes'],
  ['UndefinedVar', 'FROM scratch\nENV PATH=$PAHT:/x\n', 'FROM scratch\nENV PATH=$PATH:/x\n', "Usage of undefined variable '$PAHT' (did you mean $PATH?)"],
  ['MultipleInstructionsDisallowed', 'FROM alpine\nCMD ["a"]\nCMD ["b"]\n', 'FROM alpine\nCMD ["a"]\nFROM alpine\nCMD ["b"]\n', 'Multiple CMD instructions should not be used in the same stage because only the last one will be used'],
  ['LegacyKeyValueFormat', 'FROM alpine\nENV key value\n', 'FROM alpine\nENV key=value\n', '"ENV key=value" should be used instead of legacy "ENV key value" format'],
  ['InvalidDefaultArgInFrom', 'ARG TAG\nFROM alpine:${TAG}\n', 'ARG TAG=3.19\nFROM alpine:${TAG}\n', 'Default value for ARG alpine:${TAG} results in empty or invalid base image name'],
  ['FromPlatformFlagConstDisallowed', 'FROM --platform=linux/amd64 alpine AS build\n', 'FROM --platform=linux/amd64 alpine AS build-amd64\n', 'FROM --platform flag should not use constant value "linux/amd64"'],
  ['SecretsUsedInArgOrEnv', 'FROM alpine\nARG GITHUB_TOKEN\n', 'FROM alpine\nARG PUBLIC_KEY\nARG TOKENIZER\n', 'Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")'],
  ['ExposeProtoCasing', 'FROM alpine\nEXPOSE 80/TCP\n', 'FROM alpine\nEXPOSE 80/tcp\n', "Defined protocol '80/TCP' in EXPOSE instruction should be lowercase"],
  ['ExposeInvalidFormat', 'FROM alpine\nEXPOSE 127.0.0.1:80:80\n', 'FROM alpine\nEXPOSE 80\n', "EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:80:80'"],
  ['RedundantTargetPlatform', 'FROM --platform=$TARGETPLATFORM alpine\n', 'FROM --platform=$BUILDPLATFORM alpine\n', 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior'],
  ['InvalidDefinitionDescription', X + '# this is the base\nFROM alpine AS base\n', X + '# base is the base\nFROM alpine AS base\n', 'Comment for FROM should follow the format: `# base <description>`'],
];

for (const [rule, bad, good, message] of CASES) {
  test(`${rule}: fires on a Dockerfile that breaks it, not on one that follows it`, () => {
    const report = checkDockerfile({ text: bad });
    const hit = report.findings.find((f) => f.rule === rule);
    assert.ok(hit, `${rule} should fire; got ${report.findings.map((f) => f.rule).join(',')}`);
    assert.equal(hit.message, message);
    assert.equal(hit.url, RULES[rule].url);
    assert.equal(hit.description, RULES[rule].description);
    assert.equal(hit.level, 'warning');
    assert.equal(report.exitCode, 1);
    assert.ok(!rulesOf(good).includes(rule), `${rule} should not fire on:\n${good}`);
  });
}

test('rules report the lines of the offending instruction', () => {
  const r = checkDockerfile({ text: 'FROM alpine\nRUN true\nCMD a \\\n  b\n' });
  assert.deepEqual(r.findings.map((f) => [f.rule, f.lines]), [['JSONArgsRecommended', [{ start: 3, end: 4 }]]]);
});

test('MultipleInstructionsDisallowed points at the instruction that gets ignored', () => {
  const r = checkDockerfile({ text: 'FROM alpine\nHEALTHCHECK NONE\nRUN x\nHEALTHCHECK NONE\n' });
  assert.deepEqual(r.findings.map((f) => [f.rule, f.lines[0]?.start]), [['MultipleInstructionsDisallowed', 2]]);
});

test('UndefinedVar: variables from ARG (even without value), ENV, the base stage and image env count as defined', () => {
  assert.deepEqual(rulesOf('FROM scratch AS a\nARG V\nENV E=1\nCOPY $V$E /x\nFROM a\nWORKDIR /$E\n'), []);
  // An image base whose environment is unknown cannot be judged.
  assert.deepEqual(rulesOf('FROM alpine\nWORKDIR /$HOME\n'), []);
  // With the image env known, an undefined name is reported, a defined one is not.
  const imageEnv = (): string[] => ['HOME=/root', 'PATH=/bin'];
  assert.deepEqual(rulesOf('FROM alpine\nWORKDIR /$HOME\n', { imageEnv }), []);
  assert.deepEqual(rulesOf('FROM alpine\nWORKDIR /$HOEM\n', { imageEnv }), ['UndefinedVar']);
  // RUN is left to the shell.
  assert.deepEqual(rulesOf('FROM scratch\nRUN echo $NOPE\n'), []);
});

test('UndefinedArgInFrom: global ARGs without a value and platform ARGs are declared', () => {
  assert.deepEqual(rulesOf('ARG IMG=alpine\nFROM --platform=$BUILDPLATFORM $IMG\n'), []);
});

test('WorkdirRelativePath is inherited through a base stage', () => {
  assert.deepEqual(rulesOf('FROM alpine AS a\nWORKDIR /src\nFROM a\nWORKDIR rel\n'), []);
});

test('JSONArgsRecommended is not reported after SHELL', () => {
  assert.deepEqual(rulesOf('FROM alpine\nSHELL ["/bin/bash", "-c"]\nCMD run\n'), []);
});

test('# check=skip and skip=all silence rules; error=true makes findings errors', () => {
  const base = 'FROM alpine as b\nMAINTAINER x\n';
  assert.deepEqual(rulesOf(base).sort(), ['FromAsCasing', 'MaintainerDeprecated']);
  assert.deepEqual(rulesOf('# check=skip=FromAsCasing\n' + base), ['MaintainerDeprecated']);
  assert.deepEqual(rulesOf('# check=skip=FromAsCasing,MaintainerDeprecated\n' + base), []);
  assert.deepEqual(rulesOf('# check=skip=all\n' + base), []);
  const r = checkDockerfile({ text: '# check=error=true\n' + base });
  assert.ok(r.findings.every((f) => f.level === 'error'));
  assert.match(r.error?.message ?? '', /^lint violation found for rules: /);
  assert.equal(r.exitCode, 1);
  // The build arg overrides the directive.
  assert.deepEqual(rulesOf('# check=skip=all\n' + base, { buildArgs: { BUILDKIT_DOCKERFILE_CHECK: 'skip=MaintainerDeprecated' } }), ['FromAsCasing']);
});

test('parseCheckOptions follows BuildKit', () => {
  assert.deepEqual(parseCheckOptions('skip=A, B;error=true'), { skipAll: false, skip: ['A', 'B'], experimentalAll: false, experimental: [], error: true });
  assert.throws(() => parseCheckOptions('nope'), /invalid check option/);
  assert.throws(() => parseCheckOptions('error=maybe'), /failed to parse check option/);
});

test('a clean Dockerfile gives exit code 0 and Docker-like text', () => {
  const r = checkDockerfile({ text: 'FROM alpine\nCMD ["true"]\n' });
  assert.equal(r.exitCode, 0);
  assert.equal(formatCheckReport(r), 'Check complete, no warnings found.\n');
});

test('formatCheckReport prints rule, URL, message and the marked lines', () => {
  const text = 'FROM alpine\nCMD echo hi\n';
  const out = formatCheckReport(checkDockerfile({ text: text }), text);
  assert.equal(
    out,
    'Check complete, 1 warning has been found!\n\n' +
      'WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n' +
      'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals\n' +
      'Dockerfile:2\n--------------------\n   1 |     FROM alpine\n   2 | >>> CMD echo hi\n   3 |     \n--------------------\n',
  );
});

test('an invalid Dockerfile is reported as the check error, with the warnings found before it', () => {
  const r = checkDockerfile({ text: 'FROM alpine as b\nBOGUS x\n' });
  assert.equal(r.error?.message, 'Dockerfile:2: unknown instruction: BOGUS');
  assert.deepEqual(r.error?.lines, [{ start: 2, end: 2 }]);
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.findings.map((f) => f.rule), ['FromAsCasing']);
});

test('--target limits build-time rules to the stages the target needs', () => {
  const text = 'FROM alpine AS a\nWORKDIR rel\nFROM alpine AS b\nCMD ["x"]\n';
  assert.deepEqual(rulesOf(text), ['WorkdirRelativePath']);
  assert.deepEqual(rulesOf(text, { target: 'b' }), []);
});

test('CopyIgnoredFile (experimental) matches COPY sources against the .dockerignore patterns', () => {
  const text = '# check=experimental=CopyIgnoredFile\nFROM alpine\nCOPY docs/readme.md /x\nCOPY ./src /src\nCOPY --from=alpine docs /y\n';
  let r = checkDockerfile({ text, dockerignore: ['docs'] });
  assert.deepEqual(r.findings.map((f) => [f.rule, f.message]), [['CopyIgnoredFile', 'Attempting to Copy file "docs/readme.md" that is excluded by .dockerignore']]);
  // Without the experimental opt-in, BuildKit does not run it.
  r = checkDockerfile({ text: text.split('\n').slice(1).join('\n'), dockerignore: ['docs'] });
  assert.deepEqual(r.findings, []);
  r = checkDockerfile({ text, dockerignore: ['src'] });
  assert.deepEqual(r.findings.map((f) => f.message), ['Attempting to Copy file "./src" that is excluded by .dockerignore']);
  assert.deepEqual(checkDockerfile({ text }).findings, []);
});

test('checkDockerfile names the file in findings', () => {
  const r = checkDockerfile({ text: 'FROM alpine\nMAINTAINER me\n', file: 'app.Dockerfile' });
  assert.equal(r.findings[0]?.file, 'app.Dockerfile');
  assert.equal(r.file, 'app.Dockerfile');
});
