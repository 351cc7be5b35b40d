/**
 * `cairn build`'s inputs and outputs through the real CLI on a temporary store with a busybox
 * base image: `-f -` (the Dockerfile on stdin), context `-` (a tar archive of the context on
 * stdin — plain, gzip, zstd, bzip2, xz — or a Dockerfile alone), `--build-context
 * NAME=DIR|docker-image://REF` (FROM, COPY --from, RUN --mount from=, a stage replaced),
 * `-o/--output` (local, tar, docker, oci; nothing stored), and `--platform` (another platform
 * builds without RUN, refuses with one). Each with its error paths.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAIRN, cairn, makeTar, tempDir, unmountUnder, type FileSpec } from './helpers.js';
import { busyboxArchive } from './build-fixtures.js';
import { listTar } from './container-fixtures.js';
import { readTar } from '../src/tar/index.js';

const BASE = 'bb:1';
let dir: { path: string; cleanup: () => Promise<void> };
let root: string;
let n = 0;

/** A fresh directory under the test's temp dir with these files. */
function directory(files: Record<string, string>): string {
  const d = join(dir.path, `d${++n}`);
  mkdirSync(d, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), content);
  }
  return d;
}

async function build(args: string[], input?: Buffer | string): Promise<{ code: number; stdout: string; stderr: string }> {
  return cairn(root, ['build', '--network', 'none', '-q', ...args], input === undefined ? {} : { input });
}

/** `cairn build` with stdout kept as bytes (a tar on stdout). */
function buildRaw(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAIRN, '--', '--root', root, 'build', '--network', 'none', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
  });
}

async function runCat(image: string, ...paths: string[]): Promise<string> {
  const r = await cairn(root, ['run', '--rm', '--network', 'none', image, 'cat', ...paths]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The last line of stderr: a failed command's one-line error. */
function lastLine(stderr: string): string {
  return stderr.trimEnd().split('\n').at(-1)!;
}

/** Assert a failure with a one-line error matching `re` and no stack trace. */
function assertFails(r: { code: number; stderr: string }, re: RegExp): void {
  assert.notEqual(r.code, 0, 'the command should fail');
  assert.match(lastLine(r.stderr), re);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** The files of a tar (by name, bodies as text). */
async function tarFiles(bytes: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const e of readTar(bytes)) {
    const chunks: Buffer[] = [];
    if (e.header.type === 'file') for await (const c of e.body) chunks.push(Buffer.from(c));
    files.set(e.header.name, Buffer.concat(chunks).toString('utf8'));
  }
  return files;
}

async function imageIds(): Promise<string[]> {
  const r = await cairn(root, ['images', '-q', '--no-trunc']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '').sort();
}

/** The store's scratch directories (a context from stdin is extracted there, then removed). */
function scratchLeft(): string[] {
  const tmp = join(root, 'tmp');
  return existsSync(tmp) ? readdirSync(tmp) : [];
}

function compress(tool: 'gzip' | 'zstd' | 'bzip2' | 'xz', bytes: Buffer): Buffer {
  const r = spawnSync(tool, ['-c', ...(tool === 'zstd' ? ['-q'] : [])], { input: bytes, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${tool}: ${r.stderr?.toString()}`);
  return r.stdout;
}

before(async () => {
  dir = await tempDir('cairn-build-io-');
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

// ---- -f - and context -

test('-f - reads the Dockerfile from stdin, the context from PATH', async () => {
  const ctx = directory({ 'a.txt': 'from the context\n', Dockerfile: 'FROM scratch\n' });
  const r = await build(['-f', '-', '-t', 'io-stdin-df:1', ctx], `FROM ${BASE}\nCOPY a.txt /a.txt\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await runCat('io-stdin-df:1', '/a.txt'), 'from the context\n');
});

const CONTEXT_FILES: FileSpec[] = [
  { path: 'Dockerfile', content: `FROM ${BASE}\nCOPY . /ctx/\n` },
  { path: 'sub/', type: 'dir' },
  { path: 'sub/Other.dockerfile', content: `FROM ${BASE}\nCOPY a.txt /other.txt\n` },
  { path: 'a.txt', content: 'a from the archive\n' },
  { path: 'secret.txt', content: 'ignored\n' },
  { path: '.dockerignore', content: 'secret.txt\n' },
];

test('context - : a tar archive on stdin is the context (its Dockerfile and .dockerignore), in every compression', async () => {
  const tar = await makeTar(CONTEXT_FILES);
  const variants: Array<[string, Buffer]> = [
    ['plain', tar],
    ['gzip', compress('gzip', tar)],
    ['zstd', compress('zstd', tar)],
    ['bzip2', compress('bzip2', tar)],
    ['xz', compress('xz', tar)],
  ];
  for (const [name, bytes] of variants) {
    const tag = `io-tar-${name}:1`;
    const r = await build(['-t', tag, '-'], bytes);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(await runCat(tag, '/ctx/a.txt', '/ctx/sub/Other.dockerfile'), `a from the archive\nFROM ${BASE}\nCOPY a.txt /other.txt\n`, name);
    const ls = await cairn(root, ['run', '--rm', '--network', 'none', tag, 'ls', '-A', '/ctx']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.split('\n').filter((l) => l !== '').sort(), ['.dockerignore', 'Dockerfile', 'a.txt', 'sub'], `${name}: .dockerignore applies`);
  }
  assert.deepEqual(scratchLeft(), [], 'the extracted context is removed');
});

test('context - with -f NAME reads that Dockerfile inside the archive', async () => {
  const r = await build(['-f', 'sub/Other.dockerfile', '-t', 'io-tar-f:1', '-'], await makeTar(CONTEXT_FILES));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await runCat('io-tar-f:1', '/other.txt'), 'a from the archive\n');
  const missing = await build(['-f', 'nosuch/Dockerfile', '-'], await makeTar(CONTEXT_FILES));
  assertFails(missing, /^Error: failed to read dockerfile: open nosuch\/Dockerfile: no such file or directory$/);
  assert.deepEqual(scratchLeft(), []);
});

test('context - with a Dockerfile (no archive) on stdin builds with an empty context', async () => {
  const r = await build(['-t', 'io-stdin-only:1', '-'], `FROM ${BASE}\nRUN echo built > /built\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await runCat('io-stdin-only:1', '/built'), 'built\n');
  const copy = await build(['-'], `FROM ${BASE}\nCOPY a.txt /\n`);
  assertFails(copy, /"\/a\.txt" not found/);
  const both = await build(['-f', 'Dockerfile', '-'], `FROM ${BASE}\n`);
  assertFails(both, /^Error: ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles$/);
  assert.deepEqual(scratchLeft(), []);
});

test('-f - with context - is refused in Docker\'s words', async () => {
  const r = await build(['-f', '-', '-'], `FROM ${BASE}\n`);
  assertFails(r, /^Error: invalid argument: can't use stdin for both build context and dockerfile$/);
});

test('an archive whose entries climb out of the context is refused; nothing is written outside', async () => {
  const outside = join(dir.path, 'escaped.txt');
  const evil = await makeTar([
    { path: 'Dockerfile', content: `FROM ${BASE}\n` },
    { path: `../../../../../../..${outside}`, content: 'escaped\n' },
  ]);
  const r = await build(['-'], evil);
  assertFails(r, /^Error: failed to read the build context from stdin: .*outside/);
  assert.equal(existsSync(outside), false);
  const link = await makeTar([
    { path: 'Dockerfile', content: `FROM ${BASE}\n` },
    { path: 'up', type: 'symlink', linkname: '/' },
    { path: `up${dir.path}/via-link.txt`, content: 'escaped\n' },
  ]);
  const l = await build(['-'], link);
  assert.notEqual(l.code, 0);
  assert.equal(existsSync(join(dir.path, 'via-link.txt')), false);
  const corrupt = await build(['-'], Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(100, 7)]));
  assertFails(corrupt, /^Error: /);
  assert.deepEqual(scratchLeft(), []);
});

// ---- --build-context

test('--build-context NAME=DIR: COPY --from, FROM and RUN --mount from= read the directory, through its own .dockerignore', async () => {
  const extra = directory({ 'f.txt': 'from the named context\n', 'g.txt': 'ignored by its .dockerignore\n', '.dockerignore': 'g.txt\n' });
  const ctx = directory({
    Dockerfile: `FROM ${BASE}\nCOPY --from=extra / /x/\nRUN --mount=from=extra,target=/m cat /m/f.txt > /mounted\n`,
  });
  const r = await build(['--build-context', `extra=${extra}`, '-t', 'io-bc-dir:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await runCat('io-bc-dir:1', '/x/f.txt', '/mounted'), 'from the named context\nfrom the named context\n');
  const ls = await cairn(root, ['run', '--rm', '--network', 'none', 'io-bc-dir:1', 'ls', '-A', '/x']);
  assert.deepEqual(ls.stdout.split('\n').filter((l) => l !== '').sort(), ['.dockerignore', 'f.txt']);

  // FROM the directory: its files are the stage's root filesystem.
  const out = join(dir.path, 'bc-from-out');
  const ctx2 = directory({ Dockerfile: 'FROM extra\nCOPY a.txt /a.txt\n', 'a.txt': 'main\n' });
  const f = await build(['--build-context', `extra=${extra}`, '-o', out, ctx2]);
  assert.equal(f.code, 0, f.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['.dockerignore', 'a.txt', 'f.txt']);
  assert.equal(readFileSync(join(out, 'f.txt'), 'utf8'), 'from the named context\n');
});

test('--build-context NAME=docker-image://REF: FROM NAME, and a stage of that name replaced by the image', async () => {
  const alt = directory({ Dockerfile: `FROM ${BASE}\nRUN echo override > /which\n` });
  assert.equal((await build(['-t', 'io-alt:1', alt])).code, 0);
  const ctx = directory({ Dockerfile: 'FROM myalias\nRUN cat /which > /seen\n' });
  const r = await build(['--build-context', 'myalias=docker-image://io-alt:1', '-t', 'io-bc-img:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await runCat('io-bc-img:1', '/seen'), 'override\n');

  const staged = directory({ Dockerfile: `FROM ${BASE} AS base\nRUN echo original > /which\nFROM base\nRUN cat /which > /seen\n` });
  const s = await build(['--build-context', 'base=docker-image://io-alt:1', '-t', 'io-bc-stage:1', staged]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(await runCat('io-bc-stage:1', '/seen'), 'override\n');
  const plain = await build(['-t', 'io-bc-stage:2', staged]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(await runCat('io-bc-stage:2', '/seen'), 'original\n');
});

test('--build-context errors: no =, a missing directory, an unsupported source, a missing image', async () => {
  const ctx = directory({ Dockerfile: `FROM ${BASE}\nCOPY --from=extra / /x/\n` });
  assertFails(await build(['--build-context', 'extra', ctx]), /^Error: invalid context value: extra, expected key=value$/);
  assertFails(await build(['--build-context', 'extra=/no/such/dir', ctx]), /^Error: failed to get build context extra: stat \/no\/such\/dir: no such file or directory$/);
  assertFails(await build(['--build-context', 'extra=https://example.com/x.git', ctx]), /^Error: build context extra: "https:\/\/example\.com\/x\.git" is not supported/);
  assertFails(await build(['--build-context', 'extra=docker-image://nosuch:1', ctx]), /nosuch:1.*not found/);
});

// ---- --output

const OUT_DOCKERFILE = `FROM ${BASE}\nRUN echo ran > /ran\nCOPY a.txt /a.txt\n`;

test('-o DIR and type=local,dest=DIR write the root filesystem as files; no image and no tag are stored', async () => {
  const ctx = directory({ Dockerfile: OUT_DOCKERFILE, 'a.txt': 'exported\n' });
  const before = await imageIds();
  for (const spec of [(d: string) => d, (d: string) => `type=local,dest=${d}`]) {
    const out = join(dir.path, `local-${++n}`);
    const r = await build(['-t', 'io-not-stored:1', '-o', spec(out), ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'no image ID for a file system export');
    assert.equal(readFileSync(join(out, 'a.txt'), 'utf8'), 'exported\n');
    assert.equal(readFileSync(join(out, 'ran'), 'utf8'), 'ran\n');
    assert.equal(readFileSync(join(out, 'bin', 'busybox')).equals(readFileSync('/bin/busybox')), true);
  }
  assert.deepEqual(await imageIds(), before, 'no image stored');
  assert.equal((await cairn(root, ['inspect', 'io-not-stored:1'])).code, 1, 'no tag');
});

test('type=tar,dest=FILE and -o - write the root filesystem as one tar', async () => {
  const ctx = directory({ Dockerfile: OUT_DOCKERFILE, 'a.txt': 'in the tar\n' });
  const file = join(dir.path, 'rootfs.tar');
  const r = await build(['-o', `type=tar,dest=${file}`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const files = await tarFiles(readFileSync(file));
  assert.equal(files.get('a.txt'), 'in the tar\n');
  assert.equal(files.get('ran'), 'ran\n');
  assert.ok(files.has('bin/busybox'));
  const s = await buildRaw(['-q', '-o', '-', ctx]);
  assert.equal(s.code, 0, s.stderr);
  const entries = await listTar(s.stdout);
  assert.deepEqual(entries.map((e) => e.name).filter((x) => x === 'a.txt' || x === 'ran'), ['a.txt', 'ran']);
  assert.equal(entries.find((e) => e.name === 'a.txt')!.uid, 0);
});

test('type=docker,dest=FILE and type=oci,dest=FILE write image archives that load; without dest type=docker stores the image', async () => {
  const ctx = directory({ Dockerfile: OUT_DOCKERFILE, 'a.txt': 'in the archive\n' });
  const before = await imageIds();
  const file = join(dir.path, 'img.tar');
  const r = await build(['-o', `type=docker,dest=${file},name=io-out-docker:1`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(await imageIds(), before, 'an archive export stores no image');
  const files = await tarFiles(readFileSync(file));
  const manifest = JSON.parse(files.get('manifest.json')!) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
  assert.deepEqual(manifest[0]!.RepoTags, ['io-out-docker:1']);
  assert.equal(manifest[0]!.Config, `blobs/sha256/${id.slice(7)}`);
  assert.equal(manifest[0]!.Layers.length, 3);
  const load = await cairn(root, ['load', '-i', file]);
  assert.equal(load.code, 0, load.stderr);
  assert.equal(await runCat('io-out-docker:1', '/a.txt', '/ran'), 'in the archive\nran\n');

  const oci = join(dir.path, 'img.oci.tar');
  const o = await build(['-t', 'io-out-oci:1', '-o', `type=oci,dest=${oci}`, ctx]);
  assert.equal(o.code, 0, o.stderr);
  const ofiles = await tarFiles(readFileSync(oci));
  assert.ok(ofiles.has('oci-layout') && ofiles.has('index.json'));
  assert.equal(ofiles.has('manifest.json'), false);
  const index = JSON.parse(ofiles.get('index.json')!) as { manifests: Array<{ annotations?: Record<string, string> }> };
  assert.equal(index.manifests[0]!.annotations?.['io.containerd.image.name'], 'docker.io/library/io-out-oci:1');
  assert.equal((await cairn(root, ['inspect', 'io-out-oci:1'])).code, 1, 'not stored');

  // type=oci without dest: the archive on stdout (the ID only in --iidfile).
  const iid = join(dir.path, 'oci.iid');
  const piped = await buildRaw(['-q', '--iidfile', iid, '-o', 'type=oci', ctx]);
  assert.equal(piped.code, 0, piped.stderr);
  const piecesOnStdout = (await listTar(piped.stdout)).map((e) => e.name);
  assert.ok(piecesOnStdout.includes('index.json') && piecesOnStdout.includes('oci-layout'));
  assert.match(readFileSync(iid, 'utf8'), /^sha256:[0-9a-f]{64}$/);

  const loaded = await build(['-t', 'io-out-load:1', '-o', 'type=docker', ctx]);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.equal(await runCat('io-out-load:1', '/a.txt'), 'in the archive\n');
});

test('an export to stdout whose reader goes away fails in one line and leaves nothing mounted', async () => {
  const ctx = directory({ Dockerfile: OUT_DOCKERFILE, 'a.txt': 'x\n' });
  for (const o of ['-', 'type=oci', 'type=docker,dest=-']) {
    const r = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CAIRN, '--', '--root', root, 'build', '--network', 'none', '-o', o, ctx], { stdio: ['ignore', 'pipe', 'pipe'] });
      const err: Buffer[] = [];
      child.stdout.once('data', () => child.stdout.destroy());
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stderr: Buffer.concat(err).toString() }));
    });
    assertFails(r, /^Error: failed to write the output: write EPIPE$/);
    assert.equal(readFileSync('/proc/mounts', 'utf8').includes(root), false, `${o}: nothing left mounted`);
    assert.deepEqual(scratchLeft(), [], o);
  }
});

test('--output errors in Docker\'s words', async () => {
  const ctx = directory({ Dockerfile: OUT_DOCKERFILE, 'a.txt': 'x\n' });
  assertFails(await build(['-o', 'type=local', ctx]), /^Error: dest is required for local output$/);
  assertFails(await build(['-o', 'type=tar', ctx]), /^Error: dest is required for tar output$/);
  assertFails(await build(['-o', 'type=bogus', ctx]), /^Error: exporter "bogus" could not be found$/);
  assertFails(await build(['-o', 'type=local,dest', ctx]), /^Error: failed to parse outputs: invalid value dest$/);
  assertFails(await build(['-o', 'dest=x,foo=y', ctx]), /^Error: failed to parse outputs: type is required for output$/);
  assertFails(await build(['-o', join(dir.path, 'o1'), '-o', join(dir.path, 'o2'), ctx]), /^Error: multiple outputs not supported$/);
  assertFails(await build(['-o', 'type=docker,dest=x.tar,compression=gzip', ctx]), /^Error: output type=docker: compression=gzip is not supported$/);
});

// ---- --platform

test('--platform: another platform builds without RUN (the config names it); RUN for it is refused', async () => {
  const foreign = process.arch === 'arm64' ? 'linux/amd64' : 'linux/arm64';
  const [os, arch] = foreign.split('/') as [string, string];
  const ctx = directory({ Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n', 'a.txt': 'any platform\n' });
  const r = await build(['--platform', foreign, '-t', 'io-foreign:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  const fmt = await cairn(root, ['inspect', '-f', '{{.Os}}/{{.Architecture}}', 'io-foreign:1']);
  assert.equal(fmt.stdout.trim(), `${os}/${arch}`);
  const out = join(dir.path, 'foreign-out');
  assert.equal((await build(['--platform', foreign, '-o', out, ctx])).code, 0);
  assert.equal(readFileSync(join(out, 'a.txt'), 'utf8'), 'any platform\n');

  const withRun = directory({ Dockerfile: `FROM ${BASE}\nRUN true\n` });
  const refused = await build(['--platform', foreign, withRun]);
  assertFails(refused, new RegExp(`^Error: Dockerfile:2: cannot RUN for platform ${foreign} \\(stage stage-0\\): this host runs linux/\\w+ and cairn has no emulation for other platforms$`));

  const base = directory({ Dockerfile: `FROM ${BASE}\nCOPY Dockerfile /\n` });
  assertFails(await build(['--platform', foreign, base]), new RegExp(`^Error: Dockerfile:1: image ${BASE} is for linux/\\w+, not ${foreign}`));
});

test('--platform: the host\'s platform, however spelled, builds and runs', async () => {
  const spellings = process.arch === 'x64' ? ['linux/amd64', 'linux/x86_64', 'Linux/AMD64', 'local'] : process.arch === 'arm64' ? ['linux/arm64', 'linux/aarch64', 'linux/arm64/v8', 'local'] : ['local'];
  const ctx = directory({ Dockerfile: `FROM ${BASE}\nRUN echo ran > /ran\n` });
  for (const p of spellings) {
    const r = await build(['--platform', p, '-t', 'io-host:1', ctx]);
    assert.equal(r.code, 0, `${p}: ${r.stderr}`);
  }
  assert.equal(await runCat('io-host:1', '/ran'), 'ran\n');
  assertFails(await build(['--platform', 'bogus', ctx]), /^Error: "bogus": unknown operating system or architecture: invalid argument$/);
});
