/**
 * Heredocs in `cairn build` through the real CLI (BuildKit's dockerfile syntax 1.4+ semantics,
 * build/heredoc.ts): RUN <<EOF run by the shell, a shebang heredoc run as a file from
 * /dev/pipes, `<<-` tab stripping, heredocs read by the command (`RUN sh <<EOF`, several in one
 * line), COPY <<EOF as inline files (expansion unless quoted, mode 0644, several files, --chmod,
 * --chown), the history BuildKit writes for them, and the cache: a heredoc's content is part of
 * the step's key. Also a base image's ONBUILD triggers (a base built here) run first in a stage
 * built on it, and the result has no OnBuild.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, tempDir, unmountUnder } from './helpers.js';
import { buildSteps, busyboxArchive } from './build-fixtures.js';

const BASE = 'bb:1';
let dir: { path: string; cleanup: () => Promise<void> };
let root: string;
let n = 0;

/** A fresh context directory with a Dockerfile and files. */
function context(dockerfile: string, files: Record<string, string> = {}): string {
  const ctx = join(dir.path, `ctx${n++}`);
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(ctx, name), content);
  return ctx;
}

async function build(ctx: string, tag: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return cairn(root, ['build', '--progress=plain', '--network', 'none', '-t', tag, ...extra, ctx]);
}

async function sh(image: string, script: string): Promise<string> {
  const r = await cairn(root, ['run', '--rm', '--network', 'none', image, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The image's history, newest first (each entry JSON-quoted by the template: heredoc bodies span lines). */
async function history(image: string): Promise<string[]> {
  const r = await cairn(root, ['history', '--no-trunc', '--format', '{{json .CreatedBy}}', image]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as string);
}


before(async () => {
  dir = await tempDir('cairn-build-heredoc-');
  root = join(dir.path, 'store');
  const archive = join(dir.path, 'bb.tar');
  writeFileSync(archive, await busyboxArchive(BASE));
  const r = await cairn(root, ['load', '-q', '-i', archive]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

test('RUN heredocs: a script for the shell, a shebang file, <<- tabs, heredocs read by the command; their history', async () => {
  const ctx = context(`FROM ${BASE}
ENV WHO=world
RUN <<EOF
echo "hello $WHO" > /hello
echo second line >> /hello
EOF
RUN <<EOF
#!/bin/sh
echo "run as $0" > /shebang
EOF
RUN <<-EOF
\techo tabbed > /tabbed
\tEOF
RUN sh <<EOF
echo "read by sh" > /by-sh
EOF
RUN cat <<A > /a && cat <<'B' > /b
first $WHO
A
second $WHO
B
`);
  const r = await build(ctx, 'hd-run:1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /#\d+ \[2\/6\] RUN <<EOF \(echo "hello \$WHO" > \/hello\.\.\.\)\n/);
  assert.match(r.stderr, /#\d+ \[3\/6\] RUN <<EOF \(#!\/bin\/sh\.\.\.\)\n/);
  assert.equal(await sh('hd-run:1', 'cat /hello /shebang /tabbed /by-sh /a /b'), 'hello world\nsecond line\nrun as /dev/pipes/EOF\ntabbed\nread by sh\nfirst world\nsecond $WHO\n');
  // The inline script's mount point is not left in the image.
  assert.equal(await sh('hd-run:1', 'ls -a /dev/pipes 2>/dev/null || echo none'), 'none\n');
  assert.deepEqual((await history('hd-run:1')).slice(0, 6).reverse(), [
    'ENV WHO=world',
    'RUN /bin/sh -c echo "hello $WHO" > /hello\necho second line >> /hello\n # buildkit',
    'RUN /bin/sh -c /dev/pipes/EOF # buildkit',
    'RUN /bin/sh -c echo tabbed > /tabbed\n # buildkit',
    'RUN /bin/sh -c sh <<EOF\necho "read by sh" > /by-sh\nEOF # buildkit',
    "RUN /bin/sh -c cat <<A > /a && cat <<'B' > /b\nfirst $WHO\nA\nsecond $WHO\nB # buildkit",
  ]);
});

test('COPY heredocs: inline files, expanded unless quoted, mode 0644, several to a directory, --chmod and --chown; their history', async () => {
  const ctx = context(`FROM ${BASE}
ARG NAME=cairn
COPY <<EOF /etc/greeting
hello $NAME
EOF
COPY <<'EOF' /raw.txt
kept $NAME
EOF
COPY ctx.txt <<one.txt <<two.txt /many/
1
one.txt
2
two.txt
COPY --chmod=755 --chown=1:2 <<EOF /bin/hi
#!/bin/sh
echo hi
EOF
`, { 'ctx.txt': 'from the context\n' });
  const r = await build(ctx, 'hd-copy:1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sh('hd-copy:1', 'cat /etc/greeting /raw.txt; cat /many/ctx.txt /many/one.txt /many/two.txt; /bin/hi'), 'hello cairn\nkept $NAME\nfrom the context\n1\n2\nhi\n');
  assert.equal(await sh('hd-copy:1', 'stat -c "%n %a %u:%g" /etc/greeting /raw.txt /many/one.txt /bin/hi'), '/etc/greeting 644 0:0\n/raw.txt 644 0:0\n/many/one.txt 644 0:0\n/bin/hi 755 1:2\n');
  assert.deepEqual((await history('hd-copy:1')).slice(0, 5).reverse(), [
    'ARG NAME=cairn',
    'COPY <<EOF /etc/greeting # buildkit',
    "COPY <<EOF /raw.txt # buildkit",
    'COPY ctx.txt <<one.txt <<two.txt /many/ # buildkit',
    'COPY <<EOF /bin/hi # buildkit',
  ]);
});

test('the cache: an unchanged heredoc is CACHED; a changed body (also a shebang script and a COPY heredoc) runs again', async () => {
  const dockerfile = (word: string) => `FROM ${BASE}
RUN <<EOF
echo ${word} > /plain
EOF
RUN <<EOF
#!/bin/sh
echo ${word} > /script
EOF
COPY <<EOF /copied
${word}
EOF
`;
  const ctx = context(dockerfile('one'));
  const first = await build(ctx, 'hd-cache:1');
  assert.equal(first.code, 0, first.stderr);
  assert.equal(buildSteps(first.stderr).ran.length, 3);
  const again = await build(ctx, 'hd-cache:1');
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(buildSteps(again.stderr).ran, []);
  assert.equal(buildSteps(again.stderr).cached.length, 3);
  // Only the shebang script's body changes: its argv (/dev/pipes/EOF) stays the same, the key does not.
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile('one').replace('echo one > /script', 'echo two > /script'));
  const script = await build(ctx, 'hd-cache:1');
  assert.equal(script.code, 0, script.stderr);
  assert.deepEqual(buildSteps(script.stderr).cached.map((s) => s.replace(/ \(.*/, '')), ['[2/4] RUN <<EOF']);
  assert.equal(buildSteps(script.stderr).ran.length, 2);
  assert.equal(await sh('hd-cache:1', 'cat /plain /script /copied'), 'one\ntwo\none\n');
  // Only the COPY heredoc changes.
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile('one').replace('echo one > /script', 'echo two > /script').replace('\none\nEOF\n', '\nthree\nEOF\n'));
  const copied = await build(ctx, 'hd-cache:1');
  assert.equal(copied.code, 0, copied.stderr);
  assert.deepEqual(buildSteps(copied.stderr).ran, ['[4/4] COPY <<EOF /copied']);
  assert.equal(await sh('hd-cache:1', 'cat /copied'), 'three\n');
});

test("a base image's ONBUILD triggers run first in a stage built on it, expanded there; the result has none", async () => {
  const base = context(`FROM ${BASE}
ONBUILD ARG WHO=world
ONBUILD RUN echo "hello $WHO" > /greeting
ONBUILD COPY f.txt /f.txt
ONBUILD ENV TRIG=yes
ONBUILD RUN <<EOF
echo heredoc trigger > /trig
EOF
`, { 'f.txt': 'base context\n' });
  const b = await build(base, 'hd-obbase:1');
  assert.equal(b.code, 0, b.stderr);
  const onbuild = await cairn(root, ['inspect', '-f', '{{json .Config.OnBuild}}', 'hd-obbase:1']);
  assert.equal(onbuild.stdout.trim(), JSON.stringify(['ARG WHO=world', 'RUN echo "hello $WHO" > /greeting', 'COPY f.txt /f.txt', 'ENV TRIG=yes', 'RUN <<EOF\necho heredoc trigger > /trig\nEOF']));
  const child = context(`FROM hd-obbase:1
RUN cat /greeting /f.txt /trig > /all
`, { 'f.txt': 'child context\n' });
  const c = await build(child, 'hd-obchild:1', ['--build-arg', 'WHO=cairn']);
  assert.equal(c.code, 0, c.stderr);
  // BuildKit counts the stage's own steps only: the triggers are [2/2], [3/2], [4/2], then [5/2].
  assert.match(c.stderr, /#\d+ \[2\/2\] RUN echo "hello \$WHO" > \/greeting\n/);
  assert.match(c.stderr, /#\d+ \[5\/2\] RUN cat \/greeting \/f.txt \/trig > \/all\n/);
  assert.equal(await sh('hd-obchild:1', 'cat /all; echo $TRIG'), 'hello cairn\nchild context\nheredoc trigger\nyes\n');
  const after = await cairn(root, ['inspect', '-f', '{{json .Config.OnBuild}}', 'hd-obchild:1']);
  assert.equal(after.stdout.trim(), 'null');
  assert.deepEqual((await history('hd-obchild:1')).slice(0, 6).reverse(), [
    'ARG WHO=world',
    'RUN |1 WHO=cairn /bin/sh -c echo "hello $WHO" > /greeting # buildkit',
    'COPY f.txt /f.txt # buildkit',
    'ENV TRIG=yes',
    'RUN |1 WHO=cairn /bin/sh -c echo heredoc trigger > /trig\n # buildkit',
    'RUN |1 WHO=cairn /bin/sh -c cat /greeting /f.txt /trig > /all # buildkit',
  ]);
});
