import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstructionError } from './errors.js';
import {
  parseCsvRecord,
  parseFlags,
  parseGoDuration,
  parseInstruction,
  parseMount,
  suggest,
  validateChmod,
  validateChown,
  type Instruction,
} from './instructions.js';
import { parse } from './parser.js';

/** Parse a one-instruction Dockerfile fragment (after a FROM) with the real parser. */
function one(line: string): Instruction {
  const ast = parse(`FROM scratch\n${line}\n`).ast;
  const node = ast.children[1];
  assert.ok(node);
  return parseInstruction(node);
}

function errorOf(line: string): string {
  try {
    one(line);
  } catch (err) {
    assert.ok(err instanceof InstructionError, String(err));
    assert.deepEqual(err.ranges[0]?.start, 2);
    return err.message;
  }
  assert.fail(`expected ${line} to be refused`);
}

test('FROM: image, stage name (lower-cased), AS keyword and --platform as written', () => {
  const ast = parse('from --platform=$BUILDPLATFORM golang:1.22 As Builder\n').ast;
  const ins = parseInstruction(ast.children[0] as never);
  assert.equal(ins.kind, 'from');
  if (ins.kind !== 'from') return;
  assert.deepEqual(
    [ins.keyword, ins.image, ins.stageName, ins.stageNameWritten, ins.asKeyword, ins.platform],
    ['from', 'golang:1.22', 'builder', 'Builder', 'As', '$BUILDPLATFORM'],
  );
  assert.throws(() => parseInstruction(parse('FROM a AS 1x\n').ast.children[0] as never), /invalid name for build stage: "1x"/);
});

test('COPY/ADD: sources, destination, heredoc sources and flags', () => {
  const c = one('COPY --from=build --chown=1:2 --chmod=644 --link --parents --exclude=*.md --exclude=x a b /dst/');
  assert.equal(c.kind, 'copy');
  if (c.kind !== 'copy') return;
  assert.deepEqual([c.from, c.chown, c.chmod, c.link, c.parents, c.exclude, c.sources, c.dest], ['build', '1:2', '644', true, true, ['*.md', 'x'], ['a', 'b'], '/dst/']);
  const a = one('ADD --checksum=sha256:abc --keep-git-dir=false --unpack=true https://x/y.tgz /y');
  assert.equal(a.kind, 'add');
  if (a.kind !== 'add') return;
  assert.deepEqual([a.checksum, a.keepGitDir, a.unpack, a.link], ['sha256:abc', false, true, false]);
  const h = parse('FROM scratch\nCOPY <<EOF /f\nhello\nEOF\n').ast.children[1];
  const hc = parseInstruction(h as never);
  assert.ok(hc.kind === 'copy' && hc.sources.length === 0 && hc.heredocSources[0]?.data === 'hello\n');
  assert.match(errorOf('COPY onlyone'), /COPY requires at least two arguments/);
});

test('flags are validated per instruction like bflag.go', () => {
  assert.equal(errorOf('COPY --bogus a b'), 'unknown flag for COPY: --bogus');
  assert.equal(errorOf('COPY --from a b'), 'missing a value on flag: --from');
  assert.equal(errorOf('COPY --from=a --from=b a b'), 'duplicate flag specified: --from');
  assert.equal(errorOf('COPY --link=yes a b'), 'expecting boolean value for flag --link, not: yes');
  assert.equal(errorOf('COPY --link= a b'), 'missing a value on flag: --link');
  assert.equal(errorOf('WORKDIR --chown=1 /x'), 'WORKDIR does not take flags: --chown');
  assert.equal(errorOf('ADD --from=x a b'), 'unknown flag for ADD: --from');
  assert.equal(errorOf('RUN --network=bridge true'), 'unsupported network mode "bridge"');
  assert.equal(errorOf('RUN --security=root true'), 'unsupported security mode "root"');
  const f = parseFlags('X', ['--a', '--b=1', '--m=x', '--m=y', '--', '--ignored'], { a: 'bool', b: 'string', m: 'strings' }, { start: 1, end: 1 });
  assert.deepEqual([f.bools.get('a'), f.strings.get('b'), f.lists.get('m')], [true, '1', ['x', 'y']]);
});

test('--chmod and --chown values', () => {
  assert.equal(validateChmod('0755'), 0o755);
  assert.equal(validateChmod('7777'), 0o7777);
  assert.equal(validateChmod('u+x,go-w'), undefined);
  assert.throws(() => validateChmod('10000'), /invalid chmod parameter/);
  assert.throws(() => validateChmod('rwx'), /invalid chmod parameter/);
  validateChown('app');
  validateChown('1000:1000');
  assert.throws(() => validateChown(''), /invalid chown/);
  assert.throws(() => validateChown('a b'), /invalid chown/);
  // values with variables are checked after expansion, not at parse time
  assert.equal(one('COPY --chmod=$MODE a b').kind, 'copy');
});

test('RUN: shell and JSON forms, heredocs, mounts', () => {
  const r = one('RUN --mount=type=cache,target=/c --network=none echo hi');
  assert.ok(r.kind === 'run');
  if (r.kind !== 'run') return;
  assert.deepEqual([r.command, r.prependShell, r.mounts, r.network], [['echo hi'], true, ['type=cache,target=/c'], 'none']);
  const j = one('RUN ["echo", "hi"]');
  assert.ok(j.kind === 'run' && j.prependShell === false && j.command.length === 2);
  const h = parseInstruction(parse('FROM scratch\nRUN <<EOF\necho hi\nEOF\n').ast.children[1] as never);
  assert.ok(h.kind === 'run' && h.heredocs[0]?.content === 'echo hi\n');
});

test('--mount grammar like commands_runmount.go', () => {
  assert.deepEqual(parseMount('type=bind,source=/s,target=/t'), { type: 'bind', source: '/s', target: '/t', readOnly: true, required: false });
  assert.deepEqual(parseMount('type=cache,id=go,target=/root/.cache,sharing=locked,mode=0700,uid=1'), {
    type: 'cache',
    id: 'go',
    target: '/root/.cache',
    sharing: 'locked',
    mode: 0o700,
    uid: 1,
    readOnly: false,
    required: false,
  });
  assert.deepEqual(parseMount('type=secret,id=npm,required,env=TOKEN'), { type: 'secret', id: 'npm', required: true, env: 'TOKEN', readOnly: true });
  assert.equal(parseMount('type=tmpfs,target=/t,size=64m').size, 64 * 1024 * 1024);
  assert.equal(parseMount('target=/t,rw').readOnly, false);
  // A quoted CSV field is one field, commas included.
  assert.throws(() => parseMount('"type=bind,target=/t"'), /unsupported mount type "bind,target=\/t"/);
  assert.equal(parseMount('type=bind,"target=/a,b"').target, '/a,b');
  assert.throws(() => parseMount('type=bind,target=/t,mode=0700'), /mode not allowed for "bind" type mounts/);
  assert.throws(() => parseMount('type=bind,target=/t,sharing=shared'), /invalid cache sharing set for bind mount/);
  assert.throws(() => parseMount('type=secret,from=x,id=y'), /secret mount should not have a from/);
  assert.throws(() => parseMount('type=secret,source=a,id=b'), /both source and id can't be set/);
  assert.throws(() => parseMount('type=bind,target=/t,required'), /unexpected key 'required' for mount type 'bind'/);
  assert.throws(() => parseMount('type=bind,targte=/t'), /unexpected key 'targte' in 'targte=\/t' \(did you mean target\?\)/);
  assert.throws(() => parseMount('type=bind,nokey'), /invalid field 'nokey' must be a key=value pair/);
  assert.throws(() => parseMount('type=bind,ro=maybe,target=/t'), /invalid value for ro: maybe/);
  assert.throws(() => parseMount('type=bind', (w) => w), /requires a target/);
  // with an expander every value is expanded first
  assert.equal(parseMount('type=cache,target=$T', (w) => w.replace('$T', '/x')).target, '/x');
});

test('ENV/LABEL pairs record the legacy form; ARG keeps defaults as written', () => {
  const e = one('ENV A=1 B="x y"');
  assert.ok(e.kind === 'env');
  if (e.kind !== 'env') return;
  assert.deepEqual(e.pairs, [
    { key: 'A', value: '1', legacy: false },
    { key: 'B', value: '"x y"', legacy: false },
  ]);
  const l = one('LABEL k v w');
  assert.ok(l.kind === 'label' && l.pairs[0]?.legacy === true && l.pairs[0].value === 'v w');
  const a = one('ARG A B="1 2"');
  assert.ok(a.kind === 'arg');
  if (a.kind !== 'arg') return;
  assert.deepEqual(a.args, [{ key: 'A' }, { key: 'B', value: '"1 2"' }]);
  assert.equal(errorOf('ARG =x'), 'ARG names can not be blank');
});

test('HEALTHCHECK: NONE, CMD and CMD-SHELL, durations and retries', () => {
  const h = one('HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --retries=3 CMD curl -f http://localhost/');
  assert.ok(h.kind === 'healthcheck');
  if (h.kind !== 'healthcheck') return;
  assert.deepEqual([h.test, h.interval, h.timeout, h.startPeriod, h.retries], [['CMD-SHELL', 'curl -f http://localhost/'], 30e9, 90e9, 1.5e9, 3]);
  const j = one('HEALTHCHECK CMD ["curl", "x"]');
  assert.ok(j.kind === 'healthcheck' && j.test[0] === 'CMD' && j.test.length === 3);
  const n = one('HEALTHCHECK NONE');
  assert.ok(n.kind === 'healthcheck' && n.test[0] === 'NONE');
  assert.equal(errorOf('HEALTHCHECK --interval=10us CMD x'), 'Interval "interval" cannot be less than 1ms');
  assert.equal(errorOf('HEALTHCHECK --interval=5 CMD x'), 'time: missing unit in duration "5"');
  assert.equal(errorOf('HEALTHCHECK BOGUS x'), 'Unknown type "BOGUS" in HEALTHCHECK (try CMD)');
  assert.equal(errorOf('HEALTHCHECK NONE x'), 'HEALTHCHECK NONE takes no arguments');
  assert.equal(parseGoDuration('1h2m3s4ms'), 3723004e6);
});

test('ONBUILD: the trigger is parsed now; chaining and FROM/MAINTAINER refused', () => {
  const o = one('ONBUILD COPY --from=x a b');
  assert.ok(o.kind === 'onbuild');
  if (o.kind !== 'onbuild') return;
  assert.equal(o.expression, 'COPY --from=x a b');
  assert.equal(o.trigger.kind, 'copy');
  assert.equal(errorOf('ONBUILD ONBUILD RUN x'), "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  assert.equal(errorOf('ONBUILD MAINTAINER me'), "MAINTAINER isn't allowed as an ONBUILD trigger");
  assert.equal(errorOf('ONBUILD RUN --bogus x'), 'unknown flag for RUN: --bogus');
});

test('argument counts and unknown instructions', () => {
  assert.equal(errorOf('WORKDIR'), 'WORKDIR requires exactly one argument');
  assert.equal(errorOf('EXPOSE'), 'EXPOSE requires at least one argument');
  assert.equal(errorOf('VOLUME [""]'), 'VOLUME specified can not be an empty string');
  assert.equal(errorOf('SHELL []'), 'SHELL requires at least one argument');
  assert.equal(errorOf('COPYY a b'), 'unknown instruction: COPYY (did you mean COPY?)');
  assert.equal(errorOf('frobnicate x'), 'unknown instruction: frobnicate');
});

test('suggest and csv helpers', () => {
  assert.equal(suggest('chmodd', ['chmod', 'chown']), 'chmod');
  assert.equal(suggest('zzz', ['chmod']), undefined);
  assert.equal(suggest('Test', ['test'], false), 'test');
  assert.deepEqual(parseCsvRecord('a,"b,c",d'), ['a', 'b,c', 'd']);
  assert.throws(() => parseCsvRecord('a"b'), /bare "/);
});
