/**
 * `cairn build` through the real CLI on a temporary store, with a busybox base image: the
 * build cache (an unchanged rebuild is all CACHED and gives the same image; touching a file
 * keeps the cache; changing one re-runs from the first step that reads it, and
 * --explain-cache names it; --no-cache and --no-cache-filter; cached layers outlive the image
 * and survive the collector), a failing RUN (one line naming the step, the Dockerfile line and
 * the exit code; nothing left behind), -q and --iidfile, and a missing COPY source.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAIRN, cairn, onTerminal, tempDir, unmountUnder } from './helpers.js';
import { buildSteps, busyboxArchive } from './build-fixtures.js';

const BASE = 'bb:1';
let dir: { path: string; cleanup: () => Promise<void> };
let root: string;
let ctx: string;

function writeContext(files: Record<string, string>, dockerfile: string): void {
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(ctx, name), content);
}

async function build(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cairn(root, ['build', '--network', 'none', ...args, ctx]);
}


const DOCKERFILE = `FROM ${BASE}
WORKDIR /app
COPY a.txt .
RUN cat a.txt > /copied && echo ran
COPY b.txt .
RUN cat b.txt >> /copied
`;

before(async () => {
  dir = await tempDir('cairn-build-');
  root = join(dir.path, 'store');
  ctx = join(dir.path, 'ctx');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(ctx);
  const archive = join(dir.path, 'bb.tar');
  writeFileSync(archive, await busyboxArchive(BASE));
  const r = await cairn(root, ['load', '-q', '-i', archive]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

test('an unchanged rebuild takes every step from the cache and gives the same image', async () => {
  writeContext({ 'a.txt': 'a\n', 'b.txt': 'b\n' }, DOCKERFILE);
  const first = await build(['-t', 'app:1']);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(buildSteps(first.stderr).cached, []);
  assert.equal(buildSteps(first.stderr).ran.length, 5);
  const id1 = (await cairn(root, ['inspect', '-f', '{{.Id}}', 'app:1'])).stdout.trim();
  const second = await build(['-t', 'app:1']);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(buildSteps(second.stderr).ran, []);
  assert.equal(buildSteps(second.stderr).cached.length, 5);
  assert.equal((await cairn(root, ['inspect', '-f', '{{.Id}}', 'app:1'])).stdout.trim(), id1, 'the same image');
  const run = await cairn(root, ['run', '--rm', '--network', 'none', 'app:1', 'cat', '/copied']);
  assert.equal(run.stdout, 'a\nb\n');
});

test('touching a file keeps the cache; changing one re-runs from the first step that reads it, and --explain-cache says why', async () => {
  utimesSync(join(ctx, 'a.txt'), new Date(), new Date(Date.now() + 5000));
  const touched = await build(['-t', 'app:1']);
  assert.equal(touched.code, 0, touched.stderr);
  assert.deepEqual(buildSteps(touched.stderr).ran, [], 'a touched file is the same content');
  writeFileSync(join(ctx, 'b.txt'), 'B\n');
  const changed = await build(['--explain-cache', '-t', 'app:1']);
  assert.equal(changed.code, 0, changed.stderr);
  const s = buildSteps(changed.stderr);
  assert.deepEqual(s.cached, ['[2/6] WORKDIR /app', '[3/6] COPY a.txt .', '[4/6] RUN cat a.txt > /copied && echo ran']);
  assert.deepEqual(s.ran, ['[5/6] COPY b.txt .', '[6/6] RUN cat b.txt >> /copied']);
  assert.match(changed.stderr, /cache miss: file \/b\.txt changed/);
  assert.match(changed.stderr, /cache miss: the layer below changed/);
  const run = await cairn(root, ['run', '--rm', '--network', 'none', 'app:1', 'cat', '/copied']);
  assert.equal(run.stdout, 'a\nB\n');
});

test('--no-cache runs every step; --no-cache-filter only the named stage', async () => {
  const all = await build(['--no-cache', '-t', 'app:1']);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(buildSteps(all.stderr).ran.length, 5);
  writeFileSync(join(ctx, 'Dockerfile.multi'), `FROM ${BASE} AS one\nRUN echo one > /one\n\nFROM ${BASE} AS two\nRUN echo two > /two\nCOPY --from=one /one /one\n`);
  assert.equal((await build(['-f', join(ctx, 'Dockerfile.multi'), '-t', 'multi:1'])).code, 0);
  const filtered = await build(['-f', join(ctx, 'Dockerfile.multi'), '--no-cache-filter', 'two', '-t', 'multi:1']);
  assert.equal(filtered.code, 0, filtered.stderr);
  assert.deepEqual(buildSteps(filtered.stderr).cached, ['[one 2/2] RUN echo one > /one']);
  assert.deepEqual(buildSteps(filtered.stderr).ran, ['[two 2/3] RUN echo two > /two', '[two 3/3] COPY --from=one /one /one']);
});

test('cached layers outlive the image: removed and collected, the next build still hits', async () => {
  // rmi collects what no root reaches: the cache entries are roots of their layers.
  const rmi = await cairn(root, ['rmi', 'app:1']);
  assert.equal(rmi.code, 0, rmi.stderr);
  assert.match(rmi.stdout, /Deleted: sha256:/);
  const again = await build(['-t', 'app:1']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(buildSteps(again.stderr).ran, []);
  const run = await cairn(root, ['run', '--rm', '--network', 'none', 'app:1', 'cat', '/copied']);
  assert.equal(run.stdout, 'a\nB\n');
});

test('a failing RUN stops the build with one line naming the step, the line and the exit code, and leaves nothing behind', async () => {
  writeFileSync(join(ctx, 'Dockerfile.fail'), `FROM ${BASE}\nRUN echo before\nRUN echo "about to fail" && echo "to stderr" >&2 && exit 3\nRUN echo never\n`);
  const r = await build(['-f', join(ctx, 'Dockerfile.fail'), '-t', 'fail:1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /#\d+ \d+\.\d+ about to fail\n#\d+ \d+\.\d+ to stderr\n/);
  const last = r.stderr.trimEnd().split('\n').at(-1)!;
  assert.equal(last, 'Error: Dockerfile.fail:3: [3/4] RUN echo "about to fail" && echo "to stderr" >&2 && exit 3: executor failed running [/bin/sh -c echo "about to fail" && echo "to stderr" >&2 && exit 3]: exit code: 3');
  assert.doesNotMatch(r.stderr, /never/);
  assert.equal((await cairn(root, ['inspect', 'fail:1'])).code, 1, 'no image');
  assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no scratch space left');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.ok(!mounts.includes(root), 'no mount left under the store');
  const runtimeState = join(root, 'runtime', 'crun');
  let left: string[] = [];
  try {
    left = readdirSync(runtimeState).filter((n) => n.startsWith('build-'));
  } catch {
    left = [];
  }
  assert.deepEqual(left, [], 'no build container left in the runtime');
  // Again, with the step before it cached: the failed step leaves no snapshot (nor anything else) behind.
  const snapshots = () => readdirSync(join(root, 'snapshots', 'overlay')).length;
  const before = snapshots();
  const again = await build(['-f', join(ctx, 'Dockerfile.fail'), '-t', 'fail:1']);
  assert.equal(again.code, 1);
  assert.equal(snapshots(), before, 'no snapshot left by the failed step');
});

test('a stage the target does not need is not built at all', async () => {
  writeFileSync(join(ctx, 'Dockerfile.skip'), `FROM ${BASE} AS broken\nRUN echo never-run && exit 9\n\nFROM ${BASE} AS fine\nRUN echo fine > /fine\n\nFROM ${BASE}\nCOPY --from=fine /fine /fine\n`);
  const r = await build(['-f', join(ctx, 'Dockerfile.skip'), '--no-cache', '-t', 'skip:1']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /broken|never-run/);
  const t = await build(['-f', join(ctx, 'Dockerfile.skip'), '--target', 'broken', '-t', 'skip:2']);
  assert.equal(t.code, 1, 'the target that fails does run');
  assert.match(t.stderr, /exit code: 9/);
});

test('-q prints the image ID alone; --iidfile writes it; a missing COPY source is BuildKit\'s error', async () => {
  writeContext({ 'a.txt': 'a\n', 'b.txt': 'b\n' }, DOCKERFILE);
  const iid = join(dir.path, 'iid');
  const q = await build(['-q', '--iidfile', iid, '-t', 'app:2']);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(q.stderr, '');
  assert.equal(readFileSync(iid, 'utf8'), q.stdout.trim());
  const badTag = await build(['-t', 'ref/UPPER:1']);
  assert.equal(badTag.code, 125);
  assert.equal(badTag.stderr, 'invalid argument "ref/UPPER:1" for "-t, --tag" flag: invalid reference format: repository name must be lowercase\nSee \'cairn build --help\'.\n');
  writeFileSync(join(ctx, 'Dockerfile.missing'), `FROM ${BASE}\nCOPY nosuch.txt /\n`);
  const m = await build(['-f', join(ctx, 'Dockerfile.missing')]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /#\d+ ERROR: "\/nosuch.txt" not found: not found\n/);
  assert.match(m.stderr.trimEnd().split('\n').at(-1)!, /^Error: Dockerfile.missing:2: \[2\/2\] COPY nosuch.txt \/: failed to compute cache key: "\/nosuch.txt" not found: not found$/);
});

test('a RUN whose bind mount reads the context runs again when the mounted file changes, and not otherwise', async () => {
  writeFileSync(join(ctx, 'mounted.txt'), 'one\n');
  writeFileSync(join(ctx, 'Dockerfile.bind'), `FROM ${BASE}\nRUN --mount=type=bind,source=mounted.txt,target=/m cat /m > /bound\n`);
  const args = ['-f', join(ctx, 'Dockerfile.bind'), '-t', 'bind:1'];
  assert.equal((await build(args)).code, 0);
  const same = await build(args);
  assert.deepEqual(buildSteps(same.stderr).ran, [], 'unchanged: cached');
  writeFileSync(join(ctx, 'mounted.txt'), 'two\n');
  const changed = await build(args);
  assert.equal(changed.code, 0, changed.stderr);
  assert.deepEqual(buildSteps(changed.stderr).ran, ['[2/2] RUN --mount=type=bind,source=mounted.txt,target=/m cat /m > /bound']);
  const run = await cairn(root, ['run', '--rm', '--network', 'none', 'bind:1', 'cat', '/bound']);
  assert.equal(run.stdout, 'two\n');
});

test('a RUN that copies files up only to change their mode or owner is warned about, in one line with the megabytes', async () => {
  writeFileSync(join(ctx, 'Dockerfile.dup'), `FROM ${BASE}\nRUN head -c 2500000 /dev/urandom > /big && head -c 1000 /dev/urandom > /small\nRUN chmod 600 /big /small && chown 65534 /big\nRUN echo new > /new && cat /big > /big.copy\n`);
  const r = await build(['-f', join(ctx, 'Dockerfile.dup'), '--no-cache', '-t', 'dup:1']);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('WARNING'));
  assert.deepEqual(warnings.map((l) => l.replace(/^#\d+ /, '')), [
    'WARNING: [3/4] RUN chmod 600 /big /small && chown 65534 /big adds 2.5 MB again (2 files unchanged from the layers below, only their owner, mode or times changed): set them as the files are added, with COPY --chown/--chmod',
  ]);
});

test('--squash merges the layers the build adds into one, above the base image\'s, under every tag given', async () => {
  writeFileSync(join(ctx, 'a.txt'), 'a\n');
  const danglingBefore = (await cairn(root, ['images', '-q', '--filter', 'dangling=true'])).stdout;
  writeFileSync(join(ctx, 'Dockerfile.squash'), `FROM ${BASE}\nRUN echo one > /one && rm /etc/motd\nRUN echo two > /two\nCOPY a.txt /a.txt\nENV X=1\n`);
  const r = await build(['-f', join(ctx, 'Dockerfile.squash'), '--squash', '-t', 'sq:1', '-t', 'sq:2']);
  assert.equal(r.code, 0, r.stderr);
  const layers = JSON.parse((await cairn(root, ['inspect', '-f', '{{json .RootFS.Layers}}', 'sq:1'])).stdout) as string[];
  const base = JSON.parse((await cairn(root, ['inspect', '-f', '{{json .RootFS.Layers}}', BASE])).stdout) as string[];
  assert.equal(layers.length, base.length + 1, 'the base layer and one more');
  assert.deepEqual(layers.slice(0, base.length), base);
  assert.equal((await cairn(root, ['inspect', '-f', '{{.Id}}', 'sq:2'])).stdout, (await cairn(root, ['inspect', '-f', '{{.Id}}', 'sq:1'])).stdout);
  const run = await cairn(root, ['run', '--rm', '--network', 'none', 'sq:1', 'sh', '-c', 'cat /one /two /a.txt; ls /etc/motd 2>&1; echo $X']);
  assert.equal(run.stdout, 'one\ntwo\na\nls: /etc/motd: No such file or directory\n1\n');
  const dangling = (await cairn(root, ['images', '-q', '--filter', 'dangling=true'])).stdout;
  assert.equal(dangling, danglingBefore, 'no image with the separate layers left');
});

test('on a terminal, the progress is BuildKit\'s display, redrawn in place and FINISHED; --progress plain keeps the plain lines', async () => {
  writeContext({ 'a.txt': 'a\n', 'b.txt': 'b\n' }, DOCKERFILE);
  const tty = onTerminal([process.execPath, CAIRN, '--', '--root', root, 'build', '--network', 'none', '-t', 'app:tty', ctx], 100);
  assert.equal(tty.code, 0, tty.output);
  const visible = tty.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  assert.match(visible, /\[\+\] Building \d+\.\ds \(\d+\/\d+\) FINISHED/);
  assert.match(visible, / => CACHED \[3\/6\] COPY a\.txt \. +\d+\.\ds\r?\n/);
  assert.doesNotMatch(visible, /^#1 /m);
  assert.ok(tty.output.endsWith('\x1b[?25h'), 'the cursor given back');
  const plain = onTerminal([process.execPath, CAIRN, '--', '--root', root, 'build', '--progress', 'plain', '--network', 'none', '-t', 'app:tty', ctx], 100);
  assert.equal(plain.code, 0, plain.output);
  assert.match(plain.output, /#\d+ \[3\/6\] COPY a\.txt \.\r\n#\d+ sha256:[0-9a-f]{64}\r\n#\d+ CACHED\r\n/);
});

test('COPY --link makes a layer independent of what is below it: the same layer on another base, taken from the cache', async () => {
  writeFileSync(join(ctx, 'a.txt'), 'a\n');
  writeFileSync(join(ctx, 'Dockerfile.base2'), `FROM ${BASE}\nRUN echo extra > /extra\n`);
  assert.equal((await build(['-f', join(ctx, 'Dockerfile.base2'), '-q', '-t', 'base2:1'])).code, 0);
  writeFileSync(join(ctx, 'Dockerfile.link'), `ARG BASE\nFROM $BASE\nCOPY --link a.txt /etc/linked.txt\nRUN cat /etc/linked.txt /etc/motd > /both\n`);
  const one = await build(['-f', join(ctx, 'Dockerfile.link'), '--build-arg', `BASE=${BASE}`, '-t', 'link:1']);
  assert.equal(one.code, 0, one.stderr);
  const two = await build(['-f', join(ctx, 'Dockerfile.link'), '--build-arg', 'BASE=base2:1', '-t', 'link:2']);
  assert.equal(two.code, 0, two.stderr);
  assert.deepEqual(buildSteps(two.stderr).cached, ['[2/3] COPY --link a.txt /etc/linked.txt'], 'the linked layer is reused on the other base');
  assert.deepEqual(buildSteps(two.stderr).ran, ['[3/3] RUN cat /etc/linked.txt /etc/motd > /both']);
  const layers = async (tag: string) => JSON.parse((await cairn(root, ['inspect', '-f', '{{json .RootFS.Layers}}', tag])).stdout) as string[];
  const l1 = await layers('link:1');
  const l2 = await layers('link:2');
  assert.equal(l1.at(-2), l2.at(-2), 'the same diffID on either base');
  for (const tag of ['link:1', 'link:2']) {
    const run = await cairn(root, ['run', '--rm', '--network', 'none', tag, 'cat', '/both']);
    assert.equal(run.stdout, 'a\nfrom the image\n');
  }
  assert.equal((await cairn(root, ['run', '--rm', '--network', 'none', 'link:2', 'cat', '/extra'])).stdout, 'extra\n');
});

test('COPY --parents keeps the source paths, --exclude leaves paths out, and NAME.dockerignore beside the Dockerfile hides what it names', async () => {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(ctx, 'pe', 'a', 'b'), { recursive: true });
  mkdirSync(join(ctx, 'pe', 'c'), { recursive: true });
  writeFileSync(join(ctx, 'pe', 'a', 'b', 'x.txt'), '1\n');
  writeFileSync(join(ctx, 'pe', 'a', 'y.log'), '2\n');
  writeFileSync(join(ctx, 'pe', 'a', 'skip.txt'), 'secret\n');
  writeFileSync(join(ctx, 'pe', 'c', 'z.txt'), '3\n');
  const dockerfile = join(ctx, 'pe', 'Dockerfile.pe');
  writeFileSync(dockerfile, `FROM ${BASE}\nCOPY --parents a/b/x.txt /p/\nCOPY --exclude=*.log --exclude=skip.txt a /e/\nCOPY . /all/\n`);
  writeFileSync(`${dockerfile}.dockerignore`, 'c\n');
  const r = await cairn(root, ['build', '--network', 'none', '-q', '-f', dockerfile, '-t', 'pe:1', join(ctx, 'pe')]);
  assert.equal(r.code, 0, r.stderr);
  const found = await cairn(root, ['run', '--rm', '--network', 'none', 'pe:1', 'sh', '-c', 'find /p /e /all | sort']);
  assert.deepEqual(found.stdout.trim().split('\n'), [
    '/all', '/all/Dockerfile.pe', '/all/Dockerfile.pe.dockerignore', '/all/a', '/all/a/b', '/all/a/b/x.txt', '/all/a/skip.txt', '/all/a/y.log',
    '/e', '/e/b', '/e/b/x.txt',
    '/p', '/p/a', '/p/a/b', '/p/a/b/x.txt',
  ]);
  writeFileSync(dockerfile, `FROM ${BASE}\nCOPY c/z.txt /\n`);
  const hidden = await cairn(root, ['build', '--network', 'none', '-q', '-f', dockerfile, join(ctx, 'pe')]);
  assert.equal(hidden.code, 1);
  assert.match(hidden.stderr, /"\/c\/z\.txt" not found: not found/);
});
