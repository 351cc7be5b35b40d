/**
 * `RUN --mount` and `build --secret` through the real CLI, on a busybox base: what the command
 * sees at each mount type's target, that no target (nor the directories made for it) reaches
 * the layers, that `rw` bind writes are discarded, that a cache persists across builds, that a
 * secret is readable in RUN and absent from the image and its history, and the one-line
 * errors (missing required secret, ssh, a bad option, a missing source). Docker 20.10's
 * BuildKit needs a `# syntax=` frontend image for RUN --mount, which cannot be pulled here, so
 * these check cairn against BuildKit's documented behaviour rather than against docker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTar } from '../src/tar/index.js';
import { busyboxRunTar, cairn, makeDockerArchive, tempDir, unmountUnder, type RunResult } from './helpers.js';
import { listTar, type TarListing } from './container-fixtures.js';

const BASE = 'mnt-bb:1';
const SECRET = 'hunter2-s3cr3t-value';
const ENV_SECRET = 'env-borne-s3cr3t';

let dir: { path: string; cleanup: () => Promise<void> };
let root: string;

interface Saved {
  config: { config?: { Env?: string[] }; history?: Array<{ created_by?: string }> };
  /** The layers above the base's, entries listed. */
  layers: TarListing[][];
  /** The bytes of those layers. */
  raw: Buffer[];
}

before(async () => {
  dir = await tempDir('cairn-build-mounts-');
  root = join(dir.path, 'store');
  const archive = join(dir.path, 'bb.tar');
  writeFileSync(archive, await makeDockerArchive([{ layers: [await busyboxRunTar()], repoTags: [BASE], config: { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } } }]));
  const r = await cairn(root, ['load', '-q', '-i', archive]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

/** A context directory holding `files` and the Dockerfile. */
function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const ctx = join(dir.path, name);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', BASE));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(ctx, path, '..'), { recursive: true });
    writeFileSync(join(ctx, path), content);
  }
  return ctx;
}

function build(ctx: string, tag: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return cairn(root, ['build', '--network', 'none', '--progress', 'plain', '-t', tag, ...extra, ctx], { env });
}

async function buildOk(ctx: string, tag: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const r = await build(ctx, tag, extra, env);
  assert.equal(r.code, 0, `cairn build: ${r.stderr}`);
  return r;
}

async function saved(tag: string): Promise<Saved> {
  const file = join(dir.path, `save-${tag.replace(/[^a-z0-9]/g, '_')}.tar`);
  const r = await cairn(root, ['save', '-o', file, tag]);
  assert.equal(r.code, 0, r.stderr);
  const members = new Map<string, Buffer>();
  for await (const e of readTar(readFileSync(file))) {
    if (e.header.type !== 'file') continue;
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(Buffer.from(c));
    members.set(e.header.name, Buffer.concat(chunks));
  }
  const m = (JSON.parse(members.get('manifest.json')!.toString()) as Array<{ Config: string; Layers: string[] }>)[0]!;
  const raw = m.Layers.slice(1).map((l) => members.get(l)!);
  const layers: TarListing[][] = [];
  for (const b of raw) layers.push(await listTar(b));
  return { config: JSON.parse(members.get(m.Config)!.toString()) as Saved['config'], layers, raw };
}

/** A file's content in the image, read from the top-most layer that has it. */
async function fileIn(s: Saved, path: string): Promise<string | undefined> {
  for (let i = s.raw.length - 1; i >= 0; i--) {
    for await (const e of readTar(s.raw[i]!)) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(Buffer.from(c));
      if (e.header.name === path && e.header.type === 'file') return Buffer.concat(chunks).toString();
    }
  }
  return undefined;
}

/** Entry names (all layers above the base) that are `name` or under it. */
function entriesUnder(s: Saved, ...names: string[]): string[] {
  return s.layers.flat().map((e) => e.name).filter((n) => names.some((p) => n === p || n === `${p}/` || n.startsWith(`${p}/`)));
}

/** The one error line of a failed build, checked to be the only one. */
function errorLine(r: RunResult): string {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('Error'));
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(r.stderr.endsWith(`${lines[0]!}\n`), r.stderr);
  return lines[0]!;
}

function noMountsLeft(): void {
  const left = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[1]?.startsWith(root));
  assert.deepEqual(left, []);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
}

test('bind from the context: read-only, .dockerignore honoured, source subpaths, rw writes discarded', async () => {
  const ctx = context(
    'bind-ctx',
    `FROM BASE
RUN --mount=target=/ctx ls -a /ctx > /ls.txt && cat /ctx/a.txt > /a-copy && test ! -e /ctx/hidden.txt && test ! -e /ctx/skip
RUN --mount=type=bind,source=sub,target=/mnt/deep/sub cat /mnt/deep/sub/b.txt > /b-copy
RUN --mount=target=/ctx,rw echo scribble > /ctx/new.txt && rm /ctx/a.txt && cat /ctx/new.txt > /rw-saw
RUN --mount=target=/ctx test -e /ctx/a.txt && test ! -e /ctx/new.txt && echo discarded > /rw-discarded
RUN --mount=target=/ctx touch /ctx/x 2>/dev/null; echo "touch:$?" > /ro-status
RUN --mount=target=/ctx stat -c '%u:%g %a' /ctx/a.txt > /owner
WORKDIR /w
RUN --mount=target=rel,source=sub cat rel/b.txt > /rel-saw
`,
    { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n', 'hidden.txt': 'nope\n', 'skip/c.txt': 'nope\n', '.dockerignore': 'hidden.txt\nskip\n' },
  );
  await buildOk(ctx, 'mnt-ctx:1');
  const s = await saved('mnt-ctx:1');
  assert.equal(await fileIn(s, 'ls.txt'), '.\n..\n.dockerignore\nDockerfile\na.txt\nsub\n');
  assert.equal(await fileIn(s, 'a-copy'), 'alpha\n');
  assert.equal(await fileIn(s, 'b-copy'), 'beta\n');
  assert.equal(await fileIn(s, 'rw-saw'), 'scribble\n');
  assert.equal(await fileIn(s, 'rw-discarded'), 'discarded\n');
  assert.match((await fileIn(s, 'ro-status'))!, /^touch:[1-9]/);
  // As Docker's CLI sends the context: owners reset to 0:0, modes kept.
  assert.equal(await fileIn(s, 'owner'), '0:0 644\n');
  // A relative target is taken from the WORKDIR.
  assert.equal(await fileIn(s, 'rel-saw'), 'beta\n');
  assert.deepEqual(entriesUnder(s, 'ctx', 'mnt', 'w/rel'), []);
  // The context on the host is untouched.
  assert.ok(existsSync(join(ctx, 'a.txt')));
  assert.ok(!existsSync(join(ctx, 'new.txt')));
  noMountsLeft();
});

test('bind from a stage and from an image; rw writes there are discarded too', async () => {
  const ctx = context(
    'bind-stage',
    `FROM BASE AS src
RUN mkdir -p /data && echo from-stage > /data/f
FROM BASE
RUN --mount=type=bind,from=src,source=/data,target=/d cat /d/f > /stage-saw
RUN --mount=from=src,target=/s,rw echo x > /s/data/f2 && rm /s/data/f && echo rw-ok
RUN --mount=from=src,target=/s test -e /s/data/f && test ! -e /s/data/f2 && echo discarded > /stage-rw
RUN --mount=from=BASE,target=/img head -n 1 /img/etc/passwd > /img-saw
`,
  );
  const r = await buildOk(ctx, 'mnt-stage:1');
  assert.match(r.stderr, /rw-ok/);
  const s = await saved('mnt-stage:1');
  assert.equal(await fileIn(s, 'stage-saw'), 'from-stage\n');
  assert.equal(await fileIn(s, 'stage-rw'), 'discarded\n');
  assert.equal(await fileIn(s, 'img-saw'), 'root:x:0:0:root:/root:/bin/sh\n');
  assert.deepEqual(entriesUnder(s, 'd', 's', 'img', 'data'), []);
  noMountsLeft();
});

test('cache: contents persist across builds, kept in the store, never in the layer; id, mode/uid, from, ro', async () => {
  const ctx = context(
    'cache',
    `FROM BASE AS src
RUN mkdir -p /seed && echo seeded > /seed/s
FROM BASE
RUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /count
RUN --mount=type=cache,id=shared-c,target=/other,sharing=locked wc -l < /other/log > /count-by-id || echo none > /count-by-id
RUN --mount=type=cache,id=perm,target=/p,uid=65534,gid=65534,mode=0700 stat -c '%u:%g %a' /p > /perm
RUN --mount=type=cache,target=/seeded,from=src,source=/seed cat /seeded/s > /seed-saw
RUN --mount=type=cache,target=/ro,ro touch /ro/x 2>/dev/null; echo "touch:$?" > /ro-status
RUN --mount=type=cache,target=/priv,sharing=private echo p >> /priv/log
`,
  );
  await buildOk(ctx, 'mnt-cache:1');
  let s = await saved('mnt-cache:1');
  assert.equal((await fileIn(s, 'count'))!.trim(), '1');
  assert.equal((await fileIn(s, 'count-by-id'))!.trim(), 'none');
  assert.equal(await fileIn(s, 'perm'), '65534:65534 700\n');
  assert.equal(await fileIn(s, 'seed-saw'), 'seeded\n');
  assert.match((await fileIn(s, 'ro-status'))!, /^touch:[1-9]/);
  assert.deepEqual(entriesUnder(s, 'var', 'other', 'p', 'seeded', 'ro', 'priv'), []);
  // Unchanged, the steps come from the build cache and do not run: --no-cache runs them again on the same cache mounts.
  await buildOk(ctx, 'mnt-cache:2', ['--no-cache']);
  s = await saved('mnt-cache:2');
  assert.equal((await fileIn(s, 'count'))!.trim(), '2');
  // The cache of id "/var/cache/app" (the target's default id) is a directory of the store.
  const hash = createHash('sha256').update('/var/cache/app').digest('hex');
  assert.equal(readFileSync(join(root, 'build', 'cache-mounts', hash, '0', 'data', 'log'), 'utf8'), 'run\nrun\n');
  assert.equal(JSON.parse(readFileSync(join(root, 'build', 'cache-mounts', hash, 'meta.json'), 'utf8')).id, '/var/cache/app');
  noMountsLeft();
});

test('tmpfs: a tmpfs of the given size at the target, not in the layer', async () => {
  const ctx = context(
    'tmpfs',
    `FROM BASE
RUN --mount=type=tmpfs,target=/scratch/t,size=1m echo hi > /scratch/t/x && cat /scratch/t/x > /tmpfs-saw && grep ' /scratch/t ' /proc/mounts | cut -d' ' -f1,3 > /tmpfs-mount && df -k /scratch/t | tail -n 1 | awk '{print $2}' > /tmpfs-size
`,
  );
  await buildOk(ctx, 'mnt-tmpfs:1');
  const s = await saved('mnt-tmpfs:1');
  assert.equal(await fileIn(s, 'tmpfs-saw'), 'hi\n');
  assert.equal(await fileIn(s, 'tmpfs-mount'), 'tmpfs tmpfs\n');
  assert.equal(await fileIn(s, 'tmpfs-size'), '1024\n');
  assert.deepEqual(entriesUnder(s, 'scratch'), []);
  noMountsLeft();
});

test('secrets: readable in RUN (file and env), absent from the layers, the config and the history', async () => {
  const secretFile = join(dir.path, 'token.txt');
  writeFileSync(secretFile, SECRET);
  const ctx = context(
    'secret',
    `FROM BASE
RUN --mount=type=secret,id=tok echo "saw:$(cat /run/secrets/tok)" && stat -c '%u:%g %a' /run/secrets/tok > /default-mode && wc -c < /run/secrets/tok > /len
RUN --mount=type=secret,id=tok,target=/etc/app/tok,mode=0440,uid=65534 stat -c '%u:%g %a' /etc/app/tok > /custom-mode && cat /etc/app/tok > /dev/null
RUN --mount=type=secret,id=envsec,env=MYSEC echo "env:$MYSEC" && test ! -e /run/secrets/envsec && echo "$MYSEC" | wc -c > /env-len
RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo optional-ok
RUN --mount=type=secret,id=tok,required=true cat /run/secrets/tok | wc -c > /len2
`,
  );
  const r = await buildOk(ctx, 'mnt-secret:1', ['--secret', `id=tok,src=${secretFile}`, '--secret', 'id=envsec,env=CAIRN_TEST_SECRET'], { CAIRN_TEST_SECRET: ENV_SECRET });
  assert.match(r.stderr, new RegExp(`saw:${SECRET}`));
  assert.match(r.stderr, new RegExp(`env:${ENV_SECRET}`));
  assert.match(r.stderr, /optional-ok/);
  const s = await saved('mnt-secret:1');
  assert.equal(await fileIn(s, 'default-mode'), '0:0 400\n');
  assert.equal(await fileIn(s, 'custom-mode'), '65534:0 440\n');
  assert.equal((await fileIn(s, 'len'))!.trim(), String(SECRET.length));
  assert.equal((await fileIn(s, 'len2'))!.trim(), String(SECRET.length));
  assert.equal((await fileIn(s, 'env-len'))!.trim(), String(ENV_SECRET.length + 1));
  assert.deepEqual(entriesUnder(s, 'run', 'etc/app'), []);
  for (const raw of s.raw) {
    assert.ok(!raw.includes(SECRET), 'the secret is in a layer');
    assert.ok(!raw.includes(ENV_SECRET), 'the env secret is in a layer');
  }
  const config = JSON.stringify(s.config);
  assert.ok(!config.includes(SECRET) && !config.includes(ENV_SECRET), 'a secret is in the config');
  assert.ok(!(s.config.config?.Env ?? []).some((e) => e.startsWith('MYSEC')), 'the secret variable is in the image env');
  const history = await cairn(root, ['history', '--no-trunc', 'mnt-secret:1']);
  assert.equal(history.code, 0, history.stderr);
  assert.ok(!history.stdout.includes(SECRET) && !history.stdout.includes(ENV_SECRET));
  // Nothing of the secret is left in the store.
  const grep = spawnGrep(SECRET, root);
  assert.deepEqual(grep, []);
  noMountsLeft();
});

function spawnGrep(needle: string, where: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(needle)) found.push(p);
    }
  };
  walk(where);
  return found;
}

test('a missing required secret, ssh, a bad option, a missing source: one-line errors, exit 1, nothing left mounted', async () => {
  const cases: Array<[string, RegExp, string[]]> = [
    ['FROM BASE\nRUN --mount=type=secret,id=nope,required echo never\n', /secret nope: not found$/, []],
    ['FROM BASE\nRUN --mount=type=ssh echo never\n', /RUN --mount=type=ssh is not supported/, []],
    ['FROM BASE\nRUN --mount=type=bind,target=/x,size=1m echo never\n', /unexpected key 'size' for mount type 'bind'/, []],
    ['FROM BASE\nRUN --mount=type=tmpfs,target=/ echo never\n', /invalid mount target "\/"/, []],
    ['FROM BASE\nRUN --mount=source=nosuch,target=/x echo never\n', /failed to compute cache key: "\/nosuch" not found: not found$/, []],
    ['FROM BASE\nRUN echo never\n', /unexpected key 'foo' in 'foo=bar'$/, ['--secret', 'id=a,foo=bar']],
    ['FROM BASE\nRUN echo never\n', /failed to stat \/no\/such\/file: no such file or directory$/, ['--secret', 'id=a,src=/no/such/file']],
  ];
  let i = 0;
  for (const [dockerfile, want, extra] of cases) {
    const ctx = context(`err-${i++}`, dockerfile);
    const r = await build(ctx, 'mnt-err:1', extra);
    assert.match(errorLine(r), want);
  }
  noMountsLeft();
});
