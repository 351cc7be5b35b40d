/**
 * The differential suite for the builder: the same Dockerfiles and contexts built by Docker
 * 20.10's BuildKit (`DOCKER_BUILDKIT=1 docker build --network=none`, test/docker.ts) and by
 * `cairn build --network none`, on the same busybox base (one docker-archive loaded into both,
 * so its ID is the same), and the results compared through `save`: the image config's
 * container config (Env, Cmd, Entrypoint, WorkingDir, User, Labels, ExposedPorts, Volumes,
 * Healthcheck, Shell, StopSignal, OnBuild, ArgsEscaped), author, os and architecture, the
 * history (created_by, comment, empty_layer of every entry), the number of layers and each
 * layer's entries (name, type, mode, owner, link target, content digest; whiteouts by name:
 * see whiteoutsAligned). Times are not
 * compared (each engine builds at its own moment); COPY's file mtimes are, where the context
 * gives them.
 * The docker daemon may be shared: only what this run made (names with its prefix) is removed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTar } from '../src/tar/index.js';
import { busyboxRunTar, cairn, makeDockerArchive, tempDir, unmountUnder } from './helpers.js';
import { DOCKER, ensureDockerd, type DockerDaemon } from './docker.js';
import { listTar, type TarListing } from './container-fixtures.js';

const P = `cbuild${process.pid}`;
const BASE = `${P}-bb:1`;

let dir: { path: string; cleanup: () => Promise<void> };
let daemon: DockerDaemon;
let root: string;
const dockerImages = new Set<string>();

interface Built {
  config: Record<string, unknown>;
  history: Array<{ created_by: string; comment: string; empty_layer: boolean }>;
  layers: TarListing[][];
}

/**
 * A layer's entries with its whiteouts made comparable: Docker's overlay2 diff writes a deletion
 * with mode 0600 and the whiteout device's owner and time, where the deleted name sorts; cairn's
 * (as containerd's differ) with mode 0 where `.wh.NAME` sorts. Same names, same meaning: the
 * whiteouts are compared by name, after the other entries, whose order is compared as it is;
 * opaque markers without their mode.
 */
function whiteoutsAligned(entries: TarListing[]): TarListing[] {
  const isWhiteout = (e: TarListing) => e.name.split('/').pop()!.startsWith('.wh.') && e.name.split('/').pop() !== '.wh..wh..opq';
  const whiteouts = entries.filter(isWhiteout).map((e) => ({ ...e, mode: 0 })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // An opaque directory's marker: Docker gives it the directory's permissions, cairn mode 0.
  const rest = entries.filter((e) => !isWhiteout(e)).map((e) => (e.name.endsWith('.wh..wh..opq') ? { ...e, mode: 0 } : e));
  return [...rest, ...whiteouts];
}

/** An image as `save` gives it: its config's comparable fields and its layers' entries. */
async function saved(archive: Buffer): Promise<Built> {
  const members = new Map<string, Buffer>();
  for await (const e of readTar(archive)) {
    if (e.header.type !== 'file') continue;
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(Buffer.from(c));
    members.set(e.header.name, Buffer.concat(chunks));
  }
  const manifest = JSON.parse(members.get('manifest.json')!.toString()) as Array<{ Config: string; Layers: string[] }>;
  const m = manifest[0]!;
  const config = JSON.parse(members.get(m.Config)!.toString()) as {
    config?: Record<string, unknown>;
    author?: string;
    os: string;
    architecture: string;
    history?: Array<{ created_by?: string; comment?: string; empty_layer?: boolean }>;
  };
  const c = config.config ?? {};
  const pick: Record<string, unknown> = {};
  for (const k of ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'Healthcheck', 'Shell', 'StopSignal', 'OnBuild', 'ArgsEscaped']) {
    const v = c[k];
    // Docker writes some empty fields as null or "" where BuildKit leaves them out: absent either way.
    if (v === undefined || v === null || v === '' || v === false) continue;
    pick[k] = v;
  }
  pick.author = config.author ?? '';
  pick.os = config.os;
  pick.architecture = config.architecture;
  const layers: TarListing[][] = [];
  for (const l of m.Layers) layers.push(whiteoutsAligned(await listTar(members.get(l)!)));
  return {
    config: pick,
    history: (config.history ?? []).map((h) => ({ created_by: h.created_by ?? '', comment: h.comment ?? '', empty_layer: h.empty_layer === true })),
    layers,
  };
}

function dockerBuild(context: string, tag: string, extra: string[] = []): { code: number; stderr: string } {
  const r = spawnSync(DOCKER, ['build', '--progress=plain', '--network=none', '-t', tag, ...extra, context], { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '1' }, timeout: 300_000 });
  if (r.error) throw r.error;
  if (r.status === 0) dockerImages.add(tag);
  return { code: r.status ?? -1, stderr: r.stderr };
}

function dockerSave(tag: string): Buffer {
  const r = spawnSync(DOCKER, ['save', tag], { maxBuffer: 256 << 20, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`docker save ${tag}: ${r.stderr.toString()}`);
  return r.stdout;
}

async function cairnSave(tag: string): Promise<Buffer> {
  const file = join(dir.path, `save-${tag.replace(/[^a-z0-9]/g, '_')}.tar`);
  const r = await cairn(root, ['save', '-o', file, tag]);
  assert.equal(r.code, 0, r.stderr);
  const { readFileSync } = await import('node:fs');
  return readFileSync(file);
}

/** A context directory with the given files (mtimes fixed, so COPY's are comparable). */
function context(name: string, files: Record<string, string>, dockerfile: string): string {
  const ctx = join(dir.path, name);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile.replaceAll('BASE', BASE));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(ctx, path, '..'), { recursive: true });
    writeFileSync(join(ctx, path), content);
    utimesSync(join(ctx, path), 1_700_000_000, 1_700_000_000);
  }
  return ctx;
}

/** Build `ctx` with both engines and compare what they made. */
async function compare(name: string, ctx: string, extra: string[] = [], adjust?: (b: Built, engine: 'docker' | 'cairn') => void): Promise<{ docker: Built; cairn: Built }> {
  const tag = `${P}-${name}:1`;
  const d = dockerBuild(ctx, tag, extra);
  assert.equal(d.code, 0, `docker build: ${d.stderr}`);
  const c = await cairn(root, ['build', '--network', 'none', '-t', tag, ...extra, ctx]);
  assert.equal(c.code, 0, `cairn build: ${c.stderr}`);
  const docker = await saved(dockerSave(tag));
  const ours = await saved(await cairnSave(tag));
  adjust?.(docker, 'docker');
  adjust?.(ours, 'cairn');
  assert.deepEqual(ours.config, docker.config, 'the config');
  assert.deepEqual(ours.history, docker.history, 'the history');
  assert.equal(ours.layers.length, docker.layers.length, 'the number of layers');
  for (let i = 0; i < docker.layers.length; i++) assert.deepEqual(ours.layers[i], docker.layers[i], `layer ${i}`);
  return { docker, cairn: ours };
}

before(async () => {
  dir = await tempDir('cairn-differential-build-');
  root = join(dir.path, 'store');
  daemon = await ensureDockerd();
  const archive = join(dir.path, 'bb.tar');
  writeFileSync(
    archive,
    await makeDockerArchive([{ layers: [await busyboxRunTar()], repoTags: [BASE], config: { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } } }]),
  );
  const r = spawnSync(DOCKER, ['load', '-q', '-i', archive], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  dockerImages.add(BASE);
  const c = await cairn(root, ['load', '-q', '-i', archive]);
  assert.equal(c.code, 0, c.stderr);
});

after(async () => {
  for (const t of dockerImages) spawnSync(DOCKER, ['rmi', '-f', t], { stdio: 'ignore' });
  spawnSync(DOCKER, ['builder', 'prune', '-f'], { stdio: 'ignore' });
  await daemon?.stop();
  unmountUnder(dir.path);
  await dir?.cleanup();
});

test('a multi-stage build: WORKDIR, COPY, RUN, LABEL, COPY --from, ENV, CMD', async () => {
  const ctx = context('multi', { 'hello.txt': 'hello from the context' }, `FROM BASE AS build
WORKDIR /src
COPY hello.txt .
RUN echo "built from: $(cat hello.txt)" > /out.txt && echo "build step output" && wc -c /out.txt

FROM BASE
LABEL ref.stage=final
COPY --from=build /out.txt /out.txt
ENV GREETING=hi
CMD ["cat", "/out.txt"]
`);
  await compare('multi', ctx);
  const run = await cairn(root, ['run', '--rm', '--network', 'none', `${P}-multi:1`]);
  assert.equal(run.stdout, 'built from: hello from the context\n');
});

test('metadata instructions: ENV, LABEL, EXPOSE, USER, ENTRYPOINT, SHELL, STOPSIGNAL, VOLUME, HEALTHCHECK, MAINTAINER, ONBUILD', async () => {
  const ctx = context('meta', {}, `FROM BASE
MAINTAINER someone <someone@example.com>
ENV A=1 B="two words"
ENV A=3
LABEL org.example.a=1 "org.example.b"="x y"
EXPOSE 8080 53/udp 9000/tcp
VOLUME /data ["/cache", "/logs"]
SHELL ["/bin/sh", "-ec"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD wget -q -O- http://localhost/ || exit 1
ONBUILD RUN echo triggered
USER nobody
ENTRYPOINT echo entry
`);
  await compare('meta', ctx);
});

test('RUN with build args in scope, exec form, and changes to the base (deleted, replaced, linked files)', async () => {
  const ctx = context('run', {}, `FROM BASE
ARG FLAVOUR=plain
ARG UNUSED
RUN echo "$FLAVOUR" > /flavour && mkdir -p /a/b && ln -s /flavour /a/link && ln /flavour /a/hard
RUN ["/bin/sh", "-c", "rm /etc/motd && chmod 600 /etc/group && echo x >> /etc/passwd"]
RUN rm -rf /tmp && mkdir /tmp && chmod 1777 /tmp
`);
  await compare('run', ctx, ['--build-arg', 'FLAVOUR=spicy']);
});

test('COPY forms: directories, wildcards, --chown, --chmod, a destination relative to WORKDIR', async () => {
  const ctx = context('copy', { 'dir/a.txt': 'a', 'dir/sub/b.txt': 'bb', 'one.conf': '1', 'two.conf': '22', 'skip.txt': 'no' }, `FROM BASE
WORKDIR /app
COPY dir ./dir/
COPY *.conf /etc/confs/
COPY --chown=nobody:nogroup one.conf owned.conf
COPY --chmod=600 two.conf /secret.conf
COPY dir/sub /flat
`);
  symlinkSync('a.txt', join(ctx, 'dir', 'link'));
  chownSync(join(ctx, 'dir', 'a.txt'), 1234, 1234);
  await compare('copy', ctx);
});

test('FROM scratch with COPY, and a stage built on another stage', async () => {
  const ctx = context('scratch', { 'f.txt': 'file' }, `FROM scratch AS files
COPY f.txt /f.txt

FROM files AS more
COPY f.txt /g.txt

FROM BASE
COPY --from=more / /from-more/
`);
  await compare('scratch', ctx);
});

test('ADD: local archives unpacked (tar, gzip, bzip2, xz, recognised by content), other files copied, a URL downloaded', async () => {
  // The server runs in its own process: docker build is waited for synchronously here, and BuildKit fetches the URL in the daemon.
  const { spawn } = await import('node:child_process');
  const script = `const http = require('node:http'); const zlib = require('node:zlib');
const served = zlib.gzipSync('served, not unpacked\\n');
const s = http.createServer((req, res) => {
  if (req.url === '/file.txt') { res.writeHead(200, { 'Last-Modified': 'Sun, 13 Sep 2020 12:26:40 GMT' }); res.end('downloaded content\\n'); }
  else if (req.url === '/arch.tgz') { res.writeHead(200); res.end(served); }
  else { res.writeHead(404); res.end(); }
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const server = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      server.once('exit', (code) => reject(new Error(`the URL server exited (${code})`)));
    });
    const ctx = context('add', { 'tree/one.txt': 'one', 'tree/sub/two.txt': 'two', 'plain.txt': 'not an archive', 'fake.tar': 'not a tar either' }, `FROM BASE
ADD a.tar /p1/
ADD a.tar.gz /p2
ADD a.tar.bz2 a.tar.xz /m/
ADD bundle plain.txt fake.tar /n/
ADD --chown=1234:99 a.tar.gz /ch/new/
ADD http://127.0.0.1:${port}/file.txt /u1/
ADD http://127.0.0.1:${port}/arch.tgz /u2
`);
    const tree = join(ctx, 'tree');
    const tar = (args: string[]) => {
      const r = spawnSync('tar', ['--numeric-owner', '--owner=1234', '--group=99', '-C', tree, ...args, '.'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    tar(['-cf', join(ctx, 'a.tar')]);
    tar(['-czf', join(ctx, 'a.tar.gz')]);
    tar(['-cjf', join(ctx, 'a.tar.bz2')]);
    tar(['-cJf', join(ctx, 'a.tar.xz')]);
    tar(['-czf', join(ctx, 'bundle')]);
    await compare('add', ctx);
  } finally {
    server.kill();
  }
});

test("a base image's ONBUILD triggers run first in a stage built on it (ARG, RUN, COPY, ENV, WORKDIR), then are cleared", async () => {
  const base = context('onbase', { 'f.txt': 'base context' }, `FROM BASE
ONBUILD ARG WHO=world
ONBUILD RUN echo "hello $WHO" > /greeting
ONBUILD COPY f.txt /f.txt
ONBUILD ENV TRIG=yes
ONBUILD WORKDIR /w
`);
  await compare('onbase', base);
  const child = context('onchild', { 'f.txt': 'child context' }, `FROM ${P}-onbase:1
RUN cat /greeting /f.txt > /all
LABEL x=y
`);
  const { cairn: built } = await compare('onchild', child, ['--build-arg', 'WHO=cairn']);
  assert.equal(built.config.OnBuild, undefined);
  const run = await cairn(root, ['run', '--rm', '--network', 'none', `${P}-onchild:1`, 'cat', '/all']);
  assert.equal(run.stdout, 'hello cairn\nchild context');
});
