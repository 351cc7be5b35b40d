import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { parseSignal } from './values.js';
import { DockerfileError, formatDockerfileError } from './errors.js';
import { planDockerfile, type Plan, type PlanOptions } from './plan.js';
import type { CopyStep, KeyValueStep, ListStep, RunStep, Step, ValueStep } from './steps.js';

const AMD64 = { platform: 'linux/amd64', buildPlatform: 'linux/amd64' };

function plan(text: string, opts: Partial<PlanOptions> = {}): Plan {
  return planDockerfile({ text, ...AMD64, ...opts });
}

function steps(p: Plan, stage = p.stages.length - 1): Step[] {
  return (p.stages[stage] as { steps: Step[] }).steps;
}

function value(s: Step | undefined): string {
  return (s as ValueStep).value;
}

function planError(text: string, opts: Partial<PlanOptions> = {}): DockerfileError {
  try {
    plan(text, opts);
  } catch (err) {
    assert.ok(err instanceof DockerfileError, `expected DockerfileError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the plan to fail');
}

test('stages: bases are scratch, images or earlier stages; ids name unnamed stages', () => {
  const p = plan('FROM scratch\nFROM alpine:3.19 AS tools\nFROM tools\n', { allStages: true });
  assert.deepEqual(
    p.stages.map((s) => [s.id, s.base]),
    [
      ['stage-0', { type: 'scratch' }],
      ['tools', { type: 'image', ref: 'alpine:3.19', normalized: 'docker.io/library/alpine:3.19' }],
      ['stage-2', { type: 'stage', stage: 1 }],
    ],
  );
  assert.equal(p.target, 2);
});

test('global ARGs are usable in FROM only, unless redeclared in the stage', () => {
  const p = plan('ARG V=3.19\nFROM alpine:$V\nWORKDIR /v$V\nARG V\nWORKDIR /v$V\n');
  assert.deepEqual(p.stages[0]?.base, { type: 'image', ref: 'alpine:3.19', normalized: 'docker.io/library/alpine:3.19' });
  assert.deepEqual(
    steps(p).filter((s) => s.instruction === 'WORKDIR').map(value),
    ['/v', '/v3.19'],
  );
  assert.deepEqual(p.args, [{ name: 'V', value: '3.19', line: 1 }]);
});

test('--build-arg overrides global and stage defaults; stage defaults expand with the stage env', () => {
  const text = 'ARG V=1\nFROM alpine:$V\nENV P=/opt\nARG D=$P/data\nARG W=x\nWORKDIR $D/$W\n';
  let p = plan(text);
  assert.equal(p.stages[0]?.base.type === 'image' && p.stages[0].base.ref, 'alpine:1');
  assert.equal(value(steps(p)[3]), '/opt/data/x');
  p = plan(text, { buildArgs: { V: '2', W: 'y', UNUSED: 'z' } });
  assert.equal(p.stages[0]?.base.type === 'image' && p.stages[0].base.ref, 'alpine:2');
  assert.equal(value(steps(p)[3]), '/opt/data/y');
  assert.deepEqual(p.unusedBuildArgs, ['UNUSED']);
});

test('automatic platform ARGs: global in FROM, redeclared inside a stage; overridable', () => {
  const text = 'FROM --platform=$BUILDPLATFORM alpine AS b\nARG TARGETARCH\nARG TARGETPLATFORM\nARG BUILDOS\nWORKDIR /$TARGETARCH/$BUILDOS\nLABEL p=$TARGETPLATFORM\n';
  let p = plan(text, { platform: 'linux/arm64' });
  assert.equal(p.stages[0]?.platform, 'linux/amd64');
  assert.equal(value(steps(p)[3]), '/arm64/linux');
  assert.deepEqual((steps(p)[4] as KeyValueStep).pairs, [['p', 'linux/arm64']]);
  p = plan(text, { buildArgs: { TARGETARCH: 'riscv64' } });
  assert.equal(value(steps(p)[3]), '/riscv64/linux');
  assert.deepEqual(p.platforms, { build: 'linux/amd64', target: 'linux/amd64' });
});

test('the default platform is the host, mapped from process.arch', () => {
  const p = planDockerfile({ text: 'FROM alpine\n' });
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  if (arch !== undefined) assert.equal(p.platforms.target, `linux/${arch}`);
  assert.match(p.platforms.build, /^linux\//);
});

test('proxy build args need no ARG and go to proxyEnv, not to unused args', () => {
  const p = plan('FROM alpine\nRUN curl x\n', { buildArgs: { HTTP_PROXY: 'http://p:3128', no_proxy: 'local', OTHER: '1' } });
  assert.deepEqual(p.proxyEnv, { HTTP_PROXY: 'http://p:3128', no_proxy: 'local' });
  assert.deepEqual(p.unusedBuildArgs, ['OTHER']);
});

test('expansion: exactly the instructions BuildKit expands', () => {
  const text = [
    'FROM scratch',
    'ENV A=a B="two words" U=u0',
    'ENV U=u1 C=$U',
    'LABEL $A=$B',
    'USER $A:$U',
    'VOLUME $A /v/$U',
    'EXPOSE ${PORT:-8080} 53/udp',
    'STOPSIGNAL SIG$A',
    'COPY --chown=$A:$A --chmod=0755 src/$A /dst/$U/',
    'ADD https://example.com/$A.tar /x/',
    'RUN echo $A',
    'CMD echo $A',
    'ONBUILD RUN echo $A',
  ].join('\n');
  const s = steps(plan(text.replace('STOPSIGNAL SIG$A', 'STOPSIGNAL SIGTERM')));
  assert.deepEqual((s[0] as KeyValueStep).pairs, [['A', 'a'], ['B', 'two words'], ['U', 'u0']]);
  // All pairs of one ENV see the environment before it.
  assert.deepEqual((s[1] as KeyValueStep).pairs, [['U', 'u1'], ['C', 'u0']]);
  assert.deepEqual((s[2] as KeyValueStep).pairs, [['a', 'two words']]);
  assert.equal(value(s[3]), 'a:u1');
  assert.deepEqual((s[4] as ListStep).values, ['a', '/v/u1']);
  assert.deepEqual((s[5] as ListStep).values, ['8080/tcp', '53/udp']);
  assert.equal(value(s[6]), 'SIGTERM');
  const copy = s[7] as CopyStep;
  assert.deepEqual([copy.chown, copy.chmod, copy.mode, copy.sources, copy.dest], ['a:a', '0755', 0o755, ['src/a'], '/dst/u1/']);
  assert.deepEqual((s[8] as CopyStep).sources, ['https://example.com/a.tar']);
  assert.deepEqual((s[9] as RunStep).command, ['echo $A']);
  assert.deepEqual((s[10] as { command: string[] }).command, ['echo $A']);
  assert.equal(value(s[11]), 'RUN echo $A');
});

test('STOPSIGNAL is validated after expansion', () => {
  assert.match(planError('FROM alpine\nENV S=SIGNOPE\nSTOPSIGNAL $S\n').message, /^Dockerfile:3: Invalid signal: SIGNOPE$/);
  assert.equal(parseSignal('SIGKILL'), 9);
  assert.equal(parseSignal('term'), 15);
  assert.equal(parseSignal('RTMIN+2'), 36);
});

test('ONBUILD triggers of a base stage run, expanded, at the start of the stage built on it', () => {
  const p = plan('FROM alpine AS base\nONBUILD COPY --from=tools /t /t\nONBUILD WORKDIR /w/$X\nFROM alpine AS tools\nFROM base\nENV X=late\n', {});
  const last = p.stages[p.stages.length - 1];
  assert.ok(last);
  assert.deepEqual(last.dependsOn, [0, 1]);
  assert.deepEqual(
    last.steps.map((s) => [s.instruction, s.onbuild === true]),
    [['COPY', true], ['WORKDIR', true], ['ENV', false]],
  );
  assert.equal(value(last.steps[1]), '/w/');
  assert.deepEqual((last.steps[0] as CopyStep).from, { stage: 1 });
});

test('dependencies from FROM, COPY --from (name, index, image) and RUN --mount from=', () => {
  const text = [
    'FROM alpine AS a',
    'FROM alpine AS b',
    'FROM a AS c',
    'COPY --from=1 /x /x',
    'COPY --from=nginx:1.25 /etc/nginx /n',
    'RUN --mount=type=bind,from=b,target=/b --mount=type=cache,target=/c true',
  ].join('\n');
  const p = plan(text);
  const c = p.stages[2];
  assert.ok(c);
  assert.deepEqual(c.dependsOn, [0, 1]);
  assert.deepEqual(c.images, ['nginx:1.25']);
  assert.deepEqual((c.steps[0] as CopyStep).from, { stage: 1 });
  assert.deepEqual((c.steps[1] as CopyStep).from, { image: 'nginx:1.25' });
  const run = c.steps[2] as RunStep;
  assert.deepEqual(run.mounts.map((m) => [m.type, m.target, m.readOnly, m.fromSource]), [
    ['bind', '/b', true, { stage: 1 }],
    ['cache', '/c', false, undefined],
  ]);
});

test('--target prunes to what the target needs; independent stages share a level', () => {
  const text = 'FROM alpine AS deps\nFROM alpine AS lint\nFROM alpine AS test\nCOPY --from=deps / /\nFROM golang AS build\nCOPY --from=deps / /\nFROM scratch AS final\nCOPY --from=build /app /app\nCOPY --from=test /ok /ok\n';
  const p = plan(text);
  assert.deepEqual(p.stages.map((s) => s.id), ['deps', 'test', 'build', 'final']);
  assert.deepEqual(p.stages.map((s) => s.level), [0, 1, 1, 2]);
  assert.deepEqual(p.groups, [[0], [2, 3], [4]]);
  const t = plan(text, { target: 'test' });
  assert.deepEqual(t.stages.map((s) => s.id), ['deps', 'test']);
  assert.equal(t.target, 2);
  const all = plan(text, { allStages: true });
  assert.deepEqual(all.groups, [[0, 1], [2, 3], [4]]);
  assert.throws(() => plan(text, { target: 'tset' }), /target stage "tset" could not be found \(did you mean test\?\)/);
});

test('RUN args: ARG values reach the run environment until an ENV of the same name replaces them', () => {
  const s = steps(plan('FROM alpine\nARG A=1\nARG B=2\nRUN one\nENV A=env\nRUN two\n'));
  assert.deepEqual((s[2] as RunStep).args, [['A', '1'], ['B', '2']]);
  assert.deepEqual((s[4] as RunStep).args, [['B', '2']]);
});

test('imageEnv lets expansion see a base image environment', () => {
  const p = plan('FROM eclipse-temurin\nWORKDIR $JAVA_HOME/lib\n', { imageEnv: (ref) => (ref === 'docker.io/library/eclipse-temurin:latest' ? ['JAVA_HOME=/opt/java'] : undefined) });
  assert.equal(value(steps(p)[0]), '/opt/java/lib');
});

test('the plan is plain JSON', () => {
  const p = plan('FROM alpine AS a\nRUN --mount=type=secret,id=s true\nFROM a\nCOPY <<EOF /f\nhi $X\nEOF\n');
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
});

test('COPY heredoc sources are expanded unless the delimiter is quoted', () => {
  const s = steps(plan('FROM alpine\nENV X=1\nCOPY <<A <<"B" /d/\nx=$X\nA\ny=$X\nB\n'));
  assert.deepEqual((s[1] as CopyStep).heredocs.map((h) => h.data), ['x=1\n', 'y=$X\n']);
});

// ---- errors: file, line, problem, excerpt

const ERRORS: Array<[string, string, string]> = [
  ['unknown instruction', 'FROM alpine\nRUN true\nBAD thing\n', 'Dockerfile:3: unknown instruction: BAD (did you mean ADD?)'],
  ['unknown flag', 'FROM alpine\nCOPY --chmodd=755 a b\n', 'Dockerfile:2: unknown flag for COPY: --chmodd (did you mean --chmod?)'],
  ['malformed flag', 'FROM alpine\nCOPY --link=maybe a b\n', 'Dockerfile:2: expecting boolean value for flag --link, not: maybe'],
  ['flag without value', 'FROM --platform alpine\n', 'Dockerfile:1: missing a value on flag: --platform'],
  ['flag on an instruction that takes none', 'FROM alpine\nENV --chown=1 A=b\n', 'Dockerfile:2: ENV does not take flags: --chown'],
  ['flag of another instruction', 'FROM alpine\nRUN --from=x true\n', 'Dockerfile:2: unknown flag for RUN: --from'],
  ['bad --chmod', 'FROM alpine\nCOPY --chmod=999 a b\n', "Dockerfile:2: invalid chmod parameter: '999'. it should be octal string and between 0 and 07777"],
  ['bad --chmod after expansion', 'FROM alpine\nARG M=8888\nCOPY --chmod=$M a b\n', "Dockerfile:3: invalid chmod parameter: '8888'. it should be octal string and between 0 and 07777"],
  ['bad --chown', 'FROM alpine\nADD --chown=a:b:c x y\n', "Dockerfile:2: invalid chown parameter: 'a:b:c'. it should be user[:group] (names or numeric ids)"],
  ['stage name used twice', 'FROM alpine AS a\nFROM alpine AS a\n', 'Dockerfile:1: duplicate stage name "a": stage names must be unique (first used on line 1)'],
  ['stage index that does not exist', 'FROM alpine\nCOPY --from=3 /a /b\n', 'Dockerfile:2: invalid stage index 3'],
  ['stage that comes later', 'FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\n', 'Dockerfile:2: cannot copy from stage "b", it needs to be defined before current stage "a"'],
  ['FROM a later stage', 'FROM b AS a\nFROM alpine AS b\n', 'Dockerfile:1: stage "b" is defined later (line 2); FROM can only use an earlier stage'],
  ['cycle', 'FROM alpine AS a\nCOPY --from=a /x /y\n', 'Dockerfile:2: circular dependency detected on stage: a'],
  ['empty Dockerfile', '', 'Dockerfile: the Dockerfile cannot be empty'],
  ['only comments', '# nothing\n', 'Dockerfile:1: file with no instructions'],
  ['no FROM before an instruction', 'ARG X=1\nRUN true\nFROM alpine\n', 'Dockerfile:2: no build stage in current context: RUN comes before the first FROM (only ARG may)'],
  ['no stage at all', 'ARG X=1\n', 'Dockerfile: dockerfile contains no stages to build'],
  ['JSON form with a non-string element', 'FROM alpine\nCMD ["a", ["b"]]\n', 'Dockerfile:2: '],
  ['FROM arity', 'FROM alpine AS\n', 'Dockerfile:1: FROM requires either one or three arguments'],
  ['blank base name', 'ARG B\nFROM $B\n', 'Dockerfile:2: base name ($B) should not be blank'],
  ['bad mount', 'FROM alpine\nRUN --mount=type=nope,target=/x true\n', 'Dockerfile:2: unsupported mount type "nope"'],
  ['mount from with a variable', 'FROM alpine\nRUN --mount=from=$X,target=/x true\n', "Dockerfile:2: 'from' doesn't support variable expansion, define alias stage instead"],
  ['bad expansion', 'FROM alpine\nWORKDIR ${X:?required}\n', 'Dockerfile:2: failed to process "${X:?required}": X: required'],
  ['bad EXPOSE', 'FROM alpine\nEXPOSE 80/xyz\n', 'Dockerfile:2: invalid port: "80/xyz": invalid proto: xyz'],
  ['COPY from a URL', 'FROM alpine\nCOPY https://x.org/a /a\n', "Dockerfile:2: source can't be a URL for COPY"],
  ['SHELL not JSON', 'FROM alpine\nSHELL /bin/sh -c\n', 'Dockerfile:2: SHELL requires the arguments to be in JSON form'],
  ['HEALTHCHECK retries', 'FROM alpine\nHEALTHCHECK --retries=0 CMD true\n', 'Dockerfile:2: --retries must be at least 1 (not 0)'],
  ['ONBUILD FROM', 'FROM alpine\nONBUILD FROM x\n', "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"],
  ['global ARG default that does not expand', 'ARG A=${X:?needed}\nFROM alpine\n', 'Dockerfile:1: failed to process "${X:?needed}": X: needed'],
  ['FROM --platform that does not expand', 'FROM --platform=${P:?unset} alpine\n', 'Dockerfile:1: failed to process arguments for platform ${P:?unset}: failed to process "${P:?unset}": P: unset'],
  ['FROM --platform that does not parse', 'FROM --platform=linux/amd64/v2/x alpine\n', 'Dockerfile:1: failed to parse platform linux/amd64/v2/x: invalid platform "linux/amd64/v2/x": expected os/arch or os/arch/variant'],
  ['base image reference that does not parse', 'FROM Bad:Ref::\n', 'Dockerfile:1: failed to parse stage name "Bad:Ref::": invalid reference format: repository name (library/Bad) must be lowercase'],
  ['COPY --from neither stage nor image', 'FROM alpine\nCOPY --from=UPPER:Bad /a /b\n', 'Dockerfile:2: failed to parse stage name "UPPER:Bad": not a stage name or a valid image reference'],
  ['empty VOLUME', 'FROM alpine\nVOLUME ""\n', 'Dockerfile:2: VOLUME specified can not be an empty string'],
  ['EXPOSE port out of range', 'FROM alpine\nEXPOSE 99999\n', 'Dockerfile:2: invalid containerPort: 99999'],
  ['EXPOSE ranges of different sizes', 'FROM alpine\nEXPOSE 1-5:8000-8001\n', 'Dockerfile:2: invalid ranges specified for container and host Ports: 8000-8001 and 1-5'],
  ['ADD --checksum format', 'FROM alpine\nADD --checksum=nope http://x/a /a\n', 'Dockerfile:2: invalid checksum digest format: nope'],
  ['ADD --checksum with several sources', 'FROM alpine\nADD --checksum=sha256:abc a b /c\n', "Dockerfile:2: checksum can't be specified for multiple sources"],
  ['STOPSIGNAL 0', 'FROM alpine\nSTOPSIGNAL 0\n', 'Dockerfile:2: Invalid signal: 0'],
];

for (const [what, text, message] of ERRORS) {
  test(`invalid input is refused with file, line and problem: ${what}`, () => {
    const err = planError(text);
    if (message.endsWith(': ')) assert.ok(err.message.startsWith(message), err.message);
    else assert.equal(err.message, message);
    assert.ok(!err.message.includes('\n'), 'the message is one line');
    assert.equal(err.exitCode, 1);
  });
}

test('bad options are InvalidArgumentErrors that name the option, not a Dockerfile line', () => {
  for (const [opts, message] of [
    [{ target: 'nope' }, 'target stage "nope" could not be found'],
    [{ platform: 'linux/amd64/v2/x' }, 'invalid platform: invalid platform "linux/amd64/v2/x": expected os/arch or os/arch/variant'],
  ] as Array<[Partial<PlanOptions>, string]>) {
    assert.throws(
      () => plan('FROM alpine AS a\n', opts),
      (err: unknown) => err instanceof InvalidArgumentError && !(err instanceof DockerfileError) && err.message === message && err.exitCode === 1,
    );
  }
});

test('the error excerpt marks the offending lines as Docker does', () => {
  const err = planError('FROM alpine\nRUN true\nBAD thing\nRUN x\n');
  assert.equal(err.line, 3);
  assert.equal(err.file, 'Dockerfile');
  assert.equal(
    err.excerpt,
    'Dockerfile:3\n--------------------\n   1 |     FROM alpine\n   2 |     RUN true\n   3 | >>> BAD thing\n   4 |     RUN x\n   5 |     \n--------------------\n',
  );
  assert.equal(formatDockerfileError(err), err.excerpt + 'ERROR: Dockerfile:3: unknown instruction: BAD (did you mean ADD?)\n');
  const multi = planError('FROM alpine\nCOPY --chmod=9 \\\n  a b\n', { file: 'app/Dockerfile.dev' });
  assert.equal(multi.message.split(':')[0], 'app/Dockerfile.dev');
  assert.match(multi.excerpt, /^app\/Dockerfile.dev:2\n-+\n   1 \|     FROM alpine\n   2 \| >>> COPY --chmod=9 \\\n   3 \| >>>   a b\n/);
});
