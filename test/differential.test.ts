/**
 * The differential suite of issue 14 (point 7): the same commands run through a real dockerd
 * (Debian's docker.io 20.10, test/docker.ts) and through cairn, and their stdout, stderr and
 * exit codes compared.
 *
 * First, commands on names neither engine has. Then the image side on the same images: a
 * busybox root filesystem imported into Docker (labelled, so that every listing can be cut to
 * this run's images on a daemon other tests share), a Dockerfile of three instructions built on
 * it by Docker's classic builder, and the chain saved with its intermediate images — that
 * archive loaded into both engines gives the same image IDs on both sides, so `load`, `images`
 * (sizes, hidden intermediates, filters), `history` (parent IDs, sizes), `inspect`, `tag`,
 * `rmi` (parents pruned, layers said in order) and `save` (manifest.json, `repositories`)
 * are compared as printed; an image BuildKit built on the base, saved and loaded the same way,
 * for inspect's Comment and history. `import` and its `--change` rules are compared on a tar
 * both import. A docker-archive in the layout of Docker before 1.10 (no manifest.json; v1 image
 * directories, `repositories`), made here, loads with the same IDs, parents, history and inspect. Docker's images are removed at the end (BuildKit's build cache of that build
 * stays, as any build's: pruning it would prune other users' too).
 *
 * Normalisations, explicit and short:
 * - the program's name where the CLI names itself ("See 'docker … --help'", `"docker tag"
 *   requires`, `Usage:  docker …`, `docker: ` before a `run` error), and "Error response from daemon: " where cairn says
 *   "Error: ";
 * - relative times ("2 minutes ago"), and with them the padding of a table's columns (the two
 *   commands run seconds apart);
 * - the storage driver's paths and name in GraphDriver (Docker's /var/lib/docker/overlay2/ID/diff
 *   is cairn's ROOT/snapshots/overlay/N/fs; "overlay2" is cairn's "overlay");
 * - a layer Docker's rmi now and then releases a moment late (a reference held elsewhere in the
 *   daemon) and so does not say, where cairn says it;
 * - `load` on a terminal: a "Loading layer" redraw between a line's first one and its full bar
 *   (whether the daemon's 100 ms rate limiter let it through depends on each engine's pace);
 * - what differs by construction: the image ID, Created and LastTagTime of an image each engine
 *   imported itself, DockerVersion ("20.10.24+dfsg1" is Debian's build; cairn writes 20.10.24),
 *   the temporary file name in a failed save's message, and the docker-archive's layout (Docker
 *   20.10 writes `<v1 id>/layer.tar` members, cairn an OCI layout: manifest.json and
 *   `repositories` are compared by what they name).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxRunTar, CAIRN, cairn, cairnOk, type LegacyImageSpec, makeDockerArchive, makeLegacyArchive, makeTar, onTerminal, randomBytesSeeded, tempDir, type RunResult } from './helpers.js';
import { createHash } from 'node:crypto';
import { DOCKER, docker, ensureDockerd, type DockerDaemon } from './docker.js';

let dir: { path: string; cleanup: () => Promise<void> };
let daemon: DockerDaemon;
/** This run's names (the daemon is shared) and the label its images carry. */
const P = `cairn-diff${process.pid}`;
const LABEL = `cairn.diff=${P}`;

before(async () => {
  dir = await tempDir('cairn-differential-');
  daemon = await ensureDockerd();
});

after(async () => {
  if (daemon) removeDockerImages();
  await daemon?.stop();
  await dir?.cleanup();
});

/** Every image of this run in Docker, removed: names first (their untagged parents go with them), then what is left. */
function removeDockerImages(): void {
  const list = (args: string[]): string[] => docker(['images', ...args, '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).split('\n').filter((l) => l !== '');
  for (const line of list(['-f', `label=${LABEL}`])) spawnSync(DOCKER, ['rmi', '-f', line.split(' ')[0]!], { stdio: 'ignore' });
  for (const line of list(['--filter', `reference=${P}*`])) spawnSync(DOCKER, ['rmi', '-f', line.split(' ')[0]!], { stdio: 'ignore' });
  for (let i = 0; i < 5; i++) {
    const left = list(['-a', '-f', `label=${LABEL}`]).map((l) => l.split(' ')[1]!);
    if (left.length === 0) return;
    for (const id of left) spawnSync(DOCKER, ['rmi', '-f', id], { stdio: 'ignore' });
  }
}

/** Names one character over Docker 20.10's 255 (docker/distribution counts the domain too: docker.io/library/ + 238, localhost:5000/ + 241), and names at the limit. */
const LONG = 'a'.repeat(238);
const LONG_HOST = `localhost:5000/${'b'.repeat(241)}`;
const AT_LIMIT = 'a'.repeat(237);

/** Cases where neither engine has the images named (names no test ever creates). */
const CASES: string[][] = [
  ['rmi', 'cairn-nosuch:1'],
  ['rmi', '-f', 'cairn-nosuch:1'],
  ['rmi', '-f', 'cairn-nosuch:1', 'cairn-nosuch:2'],
  ['inspect', 'cairn-nosuch'],
  ['inspect', 'cairn-nosuch', 'cairn-other'],
  ['inspect', 'UPPER'],
  ['image', 'inspect', 'cairn-nosuch'],
  ['inspect', '--type', 'image', 'cairn-nosuch'],
  ['inspect', '--type', 'container', 'cairn-nosuch'],
  ['inspect', '--type', 'bogus', 'cairn-nosuch'],
  ['images', '-f', 'bogus'],
  // image commands: filters, flags and names refused, files that are not there
  ['images', '-f', 'bogus=1'],
  ['images', '-f', 'Dangling=maybe', '-f', 'bogus=1'],
  ['images', '-f', 'dangling=maybe'],
  ['images', '-f', 'dangling=1'],
  ['images', '-f', 'before='],
  ['images', '-f', 'since=cairn-nosuch'],
  ['history', '-H=maybe', 'cairn-nosuch'],
  ['history', 'cairn-nosuch'],
  ['history', 'sha256:0123456789ab'],
  ['history', ':::'],
  ['tag', 'cairn-nosuch', 'x'],
  ['tag', 'cairn-nosuch', 'UPPER'],
  ['tag', 'UPPER', 'x'],
  ['tag', '', ''],
  ['tag', 'cairn-nosuch', ''],
  ['rmi', 'UPPER'],
  ['image', 'inspect', ':x'],
  ['save', '-o', '/no/such/dir/x.tar', 'cairn-nosuch'],
  ['save', '-o', '/dev/null', 'cairn-nosuch'],
  ['load', '-i', '/no/such/dir/x.tar'],
  ['import', '/no/such/dir/x.tar'],
  // a wrong number of arguments: cobra's words, the usage line and the description, exit 1
  ['tag', 'a', 'b', 'c'],
  ['image', 'tag', 'a'],
  ['rmi'],
  ['history'],
  ['history', 'a', 'b'],
  ['inspect'],
  ['save'],
  ['pull'],
  ['push'],
  ['images', 'a', 'b'],
  ['image', 'ls', 'a', 'b'],
  ['import'],
  ['login', 'a', 'b'],
  ['logout', 'a', 'b'],
  ['load', 'x'],
  // a name over 255 characters, the domain counted: said by the CLI, or by the daemon, as each command says it
  ['tag', 'cairn-nosuch', LONG],
  ['tag', 'cairn-nosuch', LONG_HOST],
  ['tag', 'cairn-nosuch', `${LONG_HOST}:tag`],
  ['tag', LONG, 'x'],
  ['tag', 'cairn-nosuch', AT_LIMIT],
  ['inspect', LONG],
  ['image', 'inspect', LONG_HOST],
  ['inspect', '--type', 'image', LONG],
  ['history', LONG],
  ['history', AT_LIMIT],
  ['rmi', LONG],
  ['rmi', '-f', LONG],
  ['save', '-o', '/dev/null', LONG],
  ['import', '/etc/hostname', LONG],
  ['import', '/etc/hostname', LONG_HOST],
  ['pull', LONG],
  ['push', LONG],
  ['pull', '--platform', 'bogus', 'cairn-nosuch:1'],
  ['pull', '--platform', 'a/b/c/d', 'cairn-nosuch'],
  // pull and push: a name the CLI does not parse, said bare
  ...['UPPER', 'a:b:c', '', 'a@sha256:xx', '0'.repeat(64)].flatMap((n) => [['pull', n], ['push', n]]),
  // run and create: the image as the CLI reads it (an ID or digest is one)
  ...['UPPER', 'a:b:c', ''].flatMap((n) => [['run', '--rm', n], ['create', n]]),
  ['commit', 'cairn-nosuch', LONG],
  ['run', '--rm', LONG],
  ['create', LONG],
  ['images', LONG],
  // volumes: errors before anything is made, what is not there, the prompt answered No (stdin at its end)
  ['volume', 'inspect', 'cairn-nosuch'],
  ['volume', 'inspect', 'cairn-nosuch', 'cairn-other'],
  ['volume', 'inspect', '-f', '{{.Name}}', 'cairn-nosuch'],
  ['volume', 'rm', 'cairn-nosuch'],
  ['volume', 'rm', '-f', 'cairn-nosuch', 'cairn-other'],
  ['volume', 'create', 'a'],
  ['volume', 'create', 'cairn/bad'],
  ['volume', 'create', '--driver', 'cairn-nosuch', 'cairn-x'],
  ['volume', 'create', '--opt', 'type=tmpfs,device=tmpfs', 'cairn-x'],
  ['volume', 'create', '--opt', 'foo=bar', 'cairn-x'],
  ['volume', 'create', '--label', '=x', 'cairn-x'],
  ['volume', 'create', '--name', 'cairn-x', 'cairn-y'],
  ['volume', 'create', 'a', 'b'],
  ['volume', 'ls', '-q', '-f', 'name=^cairn-nosuch-'],
  ['volume', 'ls', '-f', 'bogus=1'],
  ['volume', 'ls', '-f', 'dangling=maybe'],
  ['volume', 'ls', '-f', 'label'],
  ['volume', 'ls', 'x'],
  ['volume', 'inspect'],
  ['volume', 'rm'],
  // (`volume prune`'s prompt is Docker 23's — anonymous volumes unless -a — where this Docker is 20.10)
  ['volume', 'prune', 'x'],
  ['volume', 'prune', '-f', '--filter', 'name=x'],
  ['volume', 'prune', '--filter', 'label'],
];

for (const args of CASES) {
  test(`docker and cairn agree: ${args.join(' ')}`, async () => {
    const d = spawnSync(DOCKER, args, { encoding: 'utf8', timeout: 60_000 });
    const c = await cairn(join(dir.path, 'store'), args);
    // and the daemon's errors, which cairn (no daemon) prints as its own: "Error: ..."
    const norm = (s: string): string =>
      s.replace(/See 'docker /g, "See 'cairn ").replace(/^"docker /gm, '"cairn ').replace(/^docker: /gm, 'cairn: ').replace(/^Usage: {2}docker /gm, 'Usage:  cairn ').replace(/^Error response from daemon: /gm, 'Error: ');
    assert.deepEqual({ stdout: c.stdout, stderr: c.stderr, code: c.code }, { stdout: d.stdout, stderr: norm(d.stderr), code: d.status });
  });
}

// --- the same images in both engines ----------------------------------------------------------

/** A relative time as Docker's units.HumanDuration says it, with " ago". */
const RELATIVE = /\b(Less than a second|\d+ seconds?|About a minute|\d+ minutes|About an hour|\d+ hours|\d+ days|\d+ weeks|\d+ months|\d+ years) ago\b/g;

interface Compare {
  /** Stdin for both. */
  input?: Buffer;
  /** cairn's store (default: the one every section shares). */
  root?: string;
  /**
   * Compare the lines after the first (a listing's rows) in sorted order: Docker's own order
   * is random among images created in the same second (sort.Sort on whole seconds) and among
   * one image's repositories (a Go map).
   */
  rows?: boolean;
  /** Further rewriting of both outputs (after the common normalisations), e.g. IDs each engine makes itself. */
  also?: (s: string) => string;
}

/** The common normalisations (see the module comment), of either engine's output. */
function normalise(s: string, also?: (s: string) => string): string {
  let out = s
    .replace(/See 'docker /g, "See 'cairn ")
    .replace(/^"docker /gm, '"cairn ')
    .replace(/^Usage: {2}docker /gm, 'Usage:  cairn ')
    .replace(/^Error response from daemon: /gm, 'Error: ')
    .replace(/\/var\/lib\/docker\/overlay2\/[0-9a-z]+\/diff/g, '<layer>/fs')
    .replace(/\/var\/lib\/docker\/overlay2\/[0-9a-z]+\//g, '<layer>/')
    .replace(/\/[^\s":]*\/snapshots\/overlay\/\d+\//g, '<layer>/')
    .replace(/"Name": "overlay2"/g, '"Name": "overlay"')
    .replace(/"Name":"overlay2"/g, '"Name":"overlay"')
    .replace(/"DockerVersion": "[^"]*"/g, '"DockerVersion": "<version>"')
    .replace(/\/\.docker_temp_\d+|\/\.[^/\s]+\.cairn-\d+/g, '/<temp>');
  if (RELATIVE.test(out)) out = out.replace(RELATIVE, '<since>').replace(/ {2,}/g, '   ');
  return also ? also(out) : out;
}

async function both(args: string[], opts: Compare = {}): Promise<{ docker: RunResult; cairn: RunResult }> {
  const d = spawnSync(DOCKER, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, ...(opts.input ? { input: opts.input } : {}) });
  const c = await cairn(opts.root ?? store(), args, opts.input ? { input: opts.input } : {});
  const rows = (s: string): string => {
    if (!opts.rows) return s;
    const lines = s.split('\n');
    const header = /^[A-Z][A-Z ]*$/.test(lines[0]!.trimEnd()) ? 1 : 0;
    return [...lines.slice(0, header), ...lines.slice(header).sort()].join('\n');
  };
  const n = (r: RunResult): RunResult => ({ stdout: rows(normalise(r.stdout, opts.also)), stderr: normalise(r.stderr, opts.also), code: r.code });
  return { docker: n({ stdout: d.stdout, stderr: d.stderr, code: d.status ?? -1 }), cairn: n(c) };
}

/** Run `args` in both engines; stdout, stderr and exit code must be the same. */
async function same(args: string[], opts: Compare = {}): Promise<RunResult> {
  const r = await both(args, opts);
  assert.deepEqual(r.cairn, r.docker, `${args.join(' ')}`);
  return r.docker;
}

const store = (): string => join(dir.path, 'store');

interface Fixture {
  /** The busybox root filesystem tar (both engines import it). */
  rootfs: string;
  /** Docker's save of the built chain: the image, its intermediate images, the base. */
  chain: string;
  base: string;
  built: string;
  /** The built image's parents, nearest first (the intermediate images, then the base), as full IDs. */
  parents: string[];
  /** Docker's save of an image BuildKit built on the base (no parents; its history's comments BuildKit's). */
  buildkit: string;
}
let fx: Fixture;

test('fixture: a chain built by Docker\'s classic builder, saved with its intermediate images, then removed from Docker', async () => {
  const rootfs = join(dir.path, 'busybox.tar');
  await writeFile(rootfs, await busyboxRunTar());
  docker(['import', '-c', `LABEL ${LABEL}`, rootfs, `${P}-bb:1`]);
  const ctx = join(dir.path, 'ctx');
  await mkdir(ctx);
  // WORKDIR: a layer of one directory (0B); RUN: a 6-byte file, a deletion and a changed file
  // (copied up whole: 6B + 29B); CMD: no layer.
  await writeFile(join(ctx, 'Dockerfile'), `FROM ${P}-bb:1\nWORKDIR /app\nRUN echo hello > /app/hello && rm /etc/passwd && echo x >> /etc/group\nCMD ["sh"]\n`);
  const build = spawnSync(DOCKER, ['build', '--network=none', '-q', '-t', `${P}-built:1`, ctx], { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 300_000 });
  assert.equal(build.status, 0, build.stderr);
  const history = docker(['history', '-q', '--no-trunc', `${P}-built:1`]).split('\n').filter((l) => l !== '' && l !== '<missing>');
  const base = docker(['inspect', '-f', '{{.Id}}', `${P}-bb:1`]).trim();
  const built = docker(['inspect', '-f', '{{.Id}}', `${P}-built:1`]).trim();
  assert.equal(history[0], built);
  assert.equal(history.at(-1), base, 'the classic builder keeps every step as a parent image');
  const chain = join(dir.path, 'chain.tar');
  docker(['save', '-o', chain, `${P}-built:1`, ...history.slice(1, -1), `${P}-bb:1`]);
  // BuildKit: a file added and two settings, no RUN (this daemon has no bridge network)
  const bk = join(dir.path, 'bk');
  await mkdir(bk);
  await writeFile(join(bk, 'hello.txt'), 'hello from the context\n');
  await writeFile(join(bk, 'Dockerfile'), `FROM ${P}-bb:1\nCOPY hello.txt /hello.txt\nENV A=1\nCMD ["sh"]\n`);
  const bkBuild = spawnSync(DOCKER, ['build', '-q', '-t', `${P}-bk:1`, bk], { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '1' }, timeout: 300_000 });
  assert.equal(bkBuild.status, 0, bkBuild.stderr);
  const buildkit = join(dir.path, 'bk.tar');
  docker(['save', '-o', buildkit, `${P}-bk:1`]);
  const manifest = JSON.parse(spawnSync('tar', ['-xOf', chain, 'manifest.json'], { encoding: 'utf8' }).stdout) as Array<{ Parent?: string }>;
  assert.equal(manifest.filter((m) => m.Parent !== undefined).length, history.length - 1, "each image but the base names its parent");
  removeDockerImages();
  assert.equal(docker(['images', '-a', '-q', '-f', `label=${LABEL}`]), '', 'Docker holds none of them now');
  fx = { rootfs, chain, base, built, parents: history.slice(1), buildkit };
});

test('load: the same lines (Loaded image, and Loaded image ID for all when the last has no tag), nothing on stderr; again, and -q', async () => {
  await same(['load', '-i', fx.chain]);
  await same(['load', '-i', fx.chain]);
  await same(['load', '-q'], { input: readFileSync(fx.chain) });
});

test('sizes with the native storage driver: a layer that adds, deletes and changes files counts the files it holds, as Docker\'s overlay2', async () => {
  const native = join(dir.path, 'store-native');
  // the driver is recorded in the store on first use; the commands after it use it
  await cairnOk(native, ['--storage-driver', 'native', 'load', '-q', '-i', fx.chain]);
  assert.deepEqual(readdirSync(join(native, 'snapshots')), ['native']);
  const mine = ['-f', `label=${LABEL}`];
  await same(['images', '-a', ...mine], { root: native, rows: true });
  await same(['history', `${P}-built:1`], { root: native });
  await same(['history', '--format', '{{.ID}} {{.Size}}', '-H=false', `${P}-built:1`], { root: native });
  await same(['image', 'inspect', '-f', '{{.Size}} {{.VirtualSize}}', `${P}-built:1`, ...fx.parents], { root: native });
});

test("an image BuildKit built: inspect's Comment is its history's (buildkit.dockerfile.v0), history <missing> below the top", async () => {
  await same(['load', '-i', fx.buildkit]);
  await same(['inspect', `${P}-bk:1`]);
  await same(['history', '--no-trunc', `${P}-bk:1`]);
  await same(['image', 'inspect', '-f', '{{.Comment}} {{.Parent}} {{.Size}}', `${P}-bk:1`]);
  // (not compared: Docker's build cache keeps the COPY layer BuildKit made, so its rmi does not release it)
  docker(['rmi', `${P}-bk:1`]);
  await cairnOk(store(), ['rmi', `${P}-bk:1`]);
});

test('images: hidden intermediates (-a shows them), dangling=true lists none of them, sizes as Docker counts them', async () => {
  const mine = ['-f', `label=${LABEL}`];
  await same(['images', ...mine], { rows: true });
  await same(['images', '-a', ...mine], { rows: true });
  await same(['images', '-a', '--no-trunc', ...mine], { rows: true });
  await same(['images', '-f', 'dangling=true', ...mine], { rows: true });
  await same(['images', '-a', '-f', 'dangling=false', ...mine], { rows: true });
  await same(['images', `${P}-built`], { rows: true });
  await same(['images', '-a', '-q', ...mine], { rows: true });
  await same(['images', '--format', '{{.Repository}}:{{.Tag}} {{.Size}} {{.VirtualSize}}', ...mine], { rows: true });
});

test('images -f reference: Go\'s path.Match on the familiar name', async () => {
  for (const t of [`${P}/a:1`, `${P}/a/b:1`, `localhost:5000/${P}/c:1`, `docker.io/${P}/d:1`]) {
    docker(['tag', `${P}-bb:1`, t]);
    await cairnOk(store(), ['tag', `${P}-bb:1`, t]);
  }
  const mine = ['-f', `label=${LABEL}`, '--format', '{{.Repository}}:{{.Tag}}'];
  for (const pattern of ['*/*/*', '*/*', `${P}*`, `${P}/*`, `${P}/a`, `${P}/a:*`, `localhost:5000/*/*`, `docker.io/${P}/d`, `docker.io/library/${P}*`, `${P}-bb:[12]`, '*:1', `${P}[`]) {
    await same(['images', ...mine, '-f', `reference=${pattern}`], { rows: true });
  }
  await same(['images', ...mine, '-f', `reference=${P}/a`, '-f', `reference=${P}-built`], { rows: true });
  // a malformed pattern with named images on both sides (the daemon is shared: what else it holds
  // does not matter once it holds one); with none, Docker lists nothing (test/cli.test.ts)
  await same(['images', '-f', 'reference=[']);
});

test('history: the parents\' IDs, not <missing>; 0B for WORKDIR and rm layers; -H=false, --no-trunc, -q, formats', async () => {
  await same(['history', `${P}-built:1`]);
  await same(['history', '--no-trunc', `${P}-built:1`]);
  await same(['history', '-H=false', `${P}-built:1`]);
  await same(['history', '-q', `${P}-built:1`]);
  await same(['history', '-H=false', '--format', '{{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.Size}}', `${P}-built:1`]);
  await same(['history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', fx.parents[0]!.slice(7, 19)]);
});

test('inspect: the loaded images as Docker shows them (Size, Parent, GraphDriver data, LastTagTime unset by load)', async () => {
  // the base was tagged again by both engines (the reference filters' names): when, is each one's own
  await same(['inspect', `${P}-built:1`, fx.parents[0]!, `${P}-bb:1`], { also: (s) => s.replace(/"LastTagTime": "(?!0001-)[^"]*"/g, '"LastTagTime": "<time>"') });
  await same(['image', 'inspect', '-f', '{{.Size}} {{.VirtualSize}} {{.Parent}} {{.Metadata.LastTagTime}} {{json .GraphDriver.Data}}', `${P}-built:1`]);
});

test('tag: a name in the daemon\'s and in the client\'s words; LastTagTime set', async () => {
  await same(['tag', `${P}-built:1`, `${P}-other:1`]);
  await same(['image', 'inspect', '-f', '{{.RepoTags}} {{if eq (printf "%v" .Metadata.LastTagTime) "0001-01-01 00:00:00 +0000 UTC"}}zero{{else}}set{{end}}', `${P}-built:1`, `${P}-bb:1`]);
  for (const args of [
    [`${P}-built:1`, 'UPPER'],
    [`${P}-built:1`, ':x'],
    [`${P}-built:1`, 'a:b:c'],
    [`${P}-built:1`, `${P}@sha256:${'0'.repeat(64)}`],
    [`${P}-built:1`, `sha256:${'0'.repeat(64)}`],
    [`${P}-built:1`, '0'.repeat(64)],
    [`${P}-built:1`, 'UPPER/x'],
    ['UPPER', 'x'],
    [`${P}-nosuch`, 'x'],
    ['0123456789ab', 'x'],
  ]) {
    await same(['tag', ...args]);
  }
});

/** manifest.json and repositories of a docker-archive, by what they name (see the module comment). */
function archiveNames(file: string): unknown {
  const read = (member: string): string => spawnSync('tar', ['-xOf', file, member], { encoding: 'utf8' }).stdout;
  const hex = (p: string): string => /([0-9a-f]{64})(\.json)?$/.exec(p)![1]!;
  const manifest = (JSON.parse(read('manifest.json')) as Array<{ Config: string; RepoTags: string[] | null; Parent?: string }>).map((m) => ({ config: hex(m.Config), tags: m.RepoTags, parent: m.Parent ?? null }));
  manifest.sort((a, b) => a.config.localeCompare(b.config));
  const repos = read('repositories');
  const tags = repos === '' ? null : Object.entries(JSON.parse(repos) as Record<string, Record<string, string>>).map(([r, t]) => [r, Object.keys(t).sort()]).sort();
  return { manifest, tags };
}

test('save: every tag of a repository, RepoTags null by ID, parents saved alongside named, the repositories file; bad paths in one line', async () => {
  docker(['tag', `${P}-bb:1`, `${P}-bb:2`]);
  await cairnOk(store(), ['tag', `${P}-bb:1`, `${P}-bb:2`]);
  const cases: string[][] = [[`${P}-bb`], [fx.base.slice(7, 19)], [fx.base], [`${P}-built:1`, ...fx.parents]];
  for (const [i, names] of cases.entries()) {
    const d = join(dir.path, `d${i}.tar`);
    const c = join(dir.path, `c${i}.tar`);
    // as Docker's: nothing on stdout or stderr
    assert.deepEqual(await cairnOk(store(), ['save', '-o', c, ...names]), { code: 0, stdout: '', stderr: '' });
    assert.equal(docker(['save', '-o', d, ...names]), '');
    assert.deepEqual(archiveNames(c), archiveNames(d), `save ${names.join(' ')}`);
  }
  for (const args of [
    ['-o', '/no/such/dir/x.tar', `${P}-bb:1`],
    ['-o', '/etc/passwd/x.tar', `${P}-bb:1`],
    ['-o', '/proc/x.tar', `${P}-bb:1`],
    ['-o', dir.path, `${P}-bb:1`],
    ['-o', '/dev/null', `${P}-bb:1`],
    ['-o', join(dir.path, 'x.tar'), `${P}-nosuch`],
    ['-o', join(dir.path, 'x.tar'), `${P}-bb:nosuch`],
    ['-o', join(dir.path, 'x.tar'), `${P}-bb:1`, `${P}-nosuch`],
    ['-o', join(dir.path, 'x.tar'), 'UPPER'],
    ['-o', join(dir.path, 'x.tar'), ':x'],
    ['-o', join(dir.path, 'x.tar'), `${P}-bb@sha256:${'0'.repeat(64)}`],
    ['-o', join(dir.path, 'x.tar'), 'sha256:abc'],
  ]) {
    await same(['save', ...args], { also: (s) => s.replace(/rename \S+ /, 'rename <temp> ') });
  }
});

test('rmi: a parent with children is untagged or refused; the child deletes its untagged parents, each with the layers it released', async () => {
  await same(['rmi', `${P}-bb:1`, `${P}-bb:2`]);
  await same(['rmi', fx.parents[0]!.slice(7, 19)]);
  await same(['rmi', '-f', fx.base.slice(7, 19)]);
  await same(['images', '-a', '-f', `label=${LABEL}`], { rows: true });
  await same(['rmi', '--no-prune', `${P}-other:1`]);
  // Docker now and then keeps a released layer a moment longer (a reference held elsewhere in the
  // daemon) and does not say it; it is gone afterwards. cairn says it: accepted, and only that.
  const chain = await both(['rmi', `${P}-built:1`]);
  const dockerLines = chain.docker.stdout.split('\n');
  const cairnLines = chain.cairn.stdout.split('\n');
  const images = new Set([fx.built, ...fx.parents].map((id) => `Deleted: ${id}`));
  const late = cairnLines.filter((l) => !dockerLines.includes(l));
  assert.ok(late.every((l) => l.startsWith('Deleted: sha256:') && !images.has(l)), `only layers may be said by cairn alone: ${late.join(', ')}`);
  assert.deepEqual(cairnLines.filter((l) => !late.includes(l)), dockerLines, 'the rest is Docker\'s, in its order');
  assert.deepEqual({ ...chain.cairn, stdout: '' }, { ...chain.docker, stdout: '' });
  await same(['images', '-a', '-f', `label=${LABEL}`], { rows: true });
  await same(['rmi', `${P}-nosuch:1`, fx.base]);
});

/** For an image each engine imported itself: its ID and times are its own. */
const ownImage = (s: string): string =>
  s
    .replace(/sha256:[0-9a-f]{64}/g, '<id>')
    .replace(/\b[0-9a-f]{12}\b/g, '<id>')
    .replace(/"(Created|LastTagTime)": "[^"]*"/g, '"$1": "<time>"')
    .replace(/\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?( ?[+-]\d\d:?\d\d( UTC)?|Z)/g, '<time>');

test('import: the config Docker writes (an empty container.Config, DockerVersion, the comment), sizes; --change as 20.10', async () => {
  const imported = await both(['import', fx.rootfs, `${P}-imp:1`], { also: ownImage });
  assert.deepEqual(imported.cairn, imported.docker);
  await same(['inspect', `${P}-imp:1`], { also: ownImage });
  await same(['history', `${P}-imp:1`], { also: ownImage });
  await same(['images', `${P}-imp`], { also: ownImage, rows: true });
  const changes = ['LABEL zeta=last alpha=first', 'EXPOSE 8080 53/udp 443 7000-7002', 'VOLUME /z /a', 'ENV B=2 A=$B', 'CMD echo hi', 'ENTRYPOINT ["/bin/sh"]', 'WORKDIR rel/../x', 'WORKDIR /abs/../y', 'USER $B', 'HEALTHCHECK --interval=5s --retries=2 CMD true', 'ONBUILD run  echo x'];
  await same(['import', '-m', 'a message', ...changes.flatMap((c) => ['-c', c]), fx.rootfs, `${P}-imp:2`], { also: ownImage });
  await same(['inspect', `${P}-imp:2`], { also: ownImage });
  await same(['image', 'inspect', '-f', '{{.Config.Labels}} {{.Config.ExposedPorts}} {{.Config.Volumes}} {{json .Config.Healthcheck}} {{.Comment}}', `${P}-imp:2`]);
  for (const change of ['EXPOSE 99999', 'EXPOSE', 'EXPOSE 80/xyz', 'EXPOSE abc', 'STOPSIGNAL 9', 'FROM x', 'RUN true', 'SHELL ["/bin/sh"]', 'MAINTAINER me', 'ENV', 'ENV A', 'USER', 'ONBUILD FROM x', 'bogus x', '']) {
    await same(['import', '-c', change, fx.rootfs, `${P}-imp:bad`]);
  }
  for (const args of [[fx.rootfs, 'UPPER'], [fx.rootfs, 'a:b:c'], [fx.rootfs, `a@sha256:${'0'.repeat(64)}`], [join(dir.path, 'nosuch.tar')]]) {
    await same(['import', ...args]);
  }
  // --platform: containerd's parse and Docker's daemon's words; only the host's OS; the architecture always the host's
  for (const platform of ['bogus', 'linux//amd64', 'a/b/c/d', 'linux/*', 'lin.ux/amd64', 'windows/amd64', 'darwin', 'windows']) {
    await same(['import', '--platform', platform, '-c', 'EXPOSE 99999', fx.rootfs, `${P}-imp:plat`]);
  }
  for (const platform of ['linux/arm64', 'Linux/AMD64', 'arm64', 'linux/bogus', 'linux/arm/v7', 'amd64', '']) {
    await same(['import', '--platform', platform, '-c', `LABEL ${LABEL}`, fx.rootfs, `${P}-imp:plat`], { also: ownImage });
    await same(['image', 'inspect', '-f', '{{.Os}} {{.Architecture}} {{.Variant}} {{json .Config.Labels}}', `${P}-imp:plat`]);
  }
  docker(['rmi', `${P}-imp:1`, `${P}-imp:2`]);
});

test('a chain cairn saved loads into Docker with its parents', async () => {
  // cairn loads Docker's archive into a store of its own and saves the chain; both engines load that
  const root = join(dir.path, 'store2');
  await cairnOk(root, ['load', '-i', fx.chain]);
  const c = join(dir.path, 'cairn-chain.tar');
  await cairnOk(root, ['save', '-o', c, `${P}-built:1`, ...fx.parents.slice(0, -1), `${P}-bb:1`]);
  await cairnOk(root, ['rmi', `${P}-built:1`, `${P}-bb:1`]);
  assert.equal((await cairnOk(root, ['images', '-a', '-q'])).stdout, '');
  removeDockerImages();
  await same(['load', '-i', c], { root });
  await same(['images', '-a', '-f', `label=${LABEL}`], { root, rows: true });
  await same(['history', `${P}-built:1`], { root });
});

// --- docker-archives from before Docker 1.10 ------------------------------------------------------

/** A v1 ID: 64 hex digits (Docker before 1.10 named images so). */
const v1 = (c: string): string => c.repeat(64);

/**
 * Four v1 images, each the parent of the next: json written by hand (its bytes make the image
 * ID). The base is from Docker 1.6 (its config re-encoded: container settings Docker dropped,
 * a one-string Cmd); the next from 1.9.1 (members kept as written: their order, `1000.0`, an
 * unknown member, `<>&`); the third has no docker_version and keys in other cases (Go matches
 * them); the top's directory sorts first (loaded after its parents all the same).
 */
async function legacyImages(): Promise<LegacyImageSpec[]> {
  const labels = `{"cairn.diff": "${P}", "z": "last", "a": "first"}`;
  const base = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/hello', content: 'hello\n' }]);
  const second = await makeTar([{ path: 'etc/b', content: 'b & <c>\n' }]);
  const empty = await makeTar([]);
  return [
    { id: v1('1'), layer: base, json: `{"id": "${v1('1')}", "created": "2015-06-01T12:00:00.123456700Z", "container": "${v1('9')}", "container_config": {"Hostname": "h", "Cmd": ["/bin/sh", "-c", "#(nop) ADD file:abc in /"], "Memory": 0, "CpuShares": 0, "PortSpecs": null, "Labels": {}, "Env": null}, "docker_version": "1.6.2", "config": {"Cmd": "sh", "Env": ["PATH=/bin"], "Volumes": {"/data": {"x": 1}}, "ExposedPorts": {"80/tcp": {}}, "Labels": ${labels}}, "architecture": "amd64", "os": "linux", "Size": 6, "author": "me <me@example.com>"}` },
    { id: v1('2'), layer: second, json: `{"id": "${v1('2')}", "parent": "${v1('1')}", "created": "2015-06-01T14:00:00+02:00", "container_config": {"Cmd": ["/bin/sh", "-c", "echo  b > /etc/b && x<y"], "Labels": ${labels}}, "docker_version": "1.9.1", "config": {"Cmd": ["sh"], "Labels": ${labels}}, "architecture": "amd64", "os": "linux", "Size": 3, "comment": "c&d", "zzz": [1, 2.5, 1000.0], "Aaa": 1}` },
    { id: v1('3'), layer: empty, json: `{"Id": "${v1('3')}", "Parent": "${v1('2')}", "Created": "2015-06-01T15:00:00.5Z", "Container_Config": {"cmd": "echo  three"}, "Config": {"Cmd": ["sh"], "Labels": ${labels}}, "Architecture": "amd64", "OS": "linux"}` },
    { id: v1('0'), layer: empty, json: `{"id": "${v1('0')}", "parent": "${v1('3')}", "created": "2015-06-01T16:00:00Z", "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\\"sh\\"]"]}, "docker_version": "1.9.1", "config": {"Cmd": ["sh"], "Labels": ${labels}}, "architecture": "amd64", "os": "linux"}` },
  ];
}

test('load of a docker-archive from before Docker 1.10 (no manifest.json): nothing said, the same IDs, parents, history and inspect', async () => {
  removeDockerImages();
  const root = join(dir.path, 'store-legacy');
  const archive = await makeLegacyArchive(await legacyImages(), { [`${P}-legacy`]: { '1': v1('0'), base: v1('1') } });
  const file = join(dir.path, 'legacy.tar');
  await writeFile(file, archive);
  assert.deepEqual(await same(['load', '-i', file], { root }), { stdout: '', stderr: '', code: 0 });
  const mine = ['-f', `label=${LABEL}`];
  await same(['images', '-a', ...mine], { root, rows: true });
  await same(['images', ...mine], { root, rows: true });
  await same(['history', `${P}-legacy:1`], { root });
  await same(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedAt}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', `${P}-legacy:1`], { root });
  const parents = docker(['history', '-q', '--no-trunc', `${P}-legacy:1`]).split('\n').filter((l) => l !== '');
  assert.equal(parents.length, 4, 'each v1 image is an image, the parents hidden');
  await same(['inspect', `${P}-legacy:1`, ...parents.slice(1)], { root });
  // again, and from a stream: nothing new, nothing said
  await same(['load', '-i', file], { root });
  await same(['load'], { root, input: archive });
  await same(['images', '-a', ...mine], { root, rows: true });
});

test('load of a pre-1.10 archive without its repositories file: Docker loads the images untagged, then fails naming its temporary directory; cairn refuses it in one line, loading nothing', async () => {
  const root = join(dir.path, 'store-legacy-norepo');
  const file = join(dir.path, 'legacy-norepo.tar');
  await writeFile(file, await makeLegacyArchive(await legacyImages(), null));
  const r = await both(['load', '-i', file], { root });
  assert.match(r.docker.stderr, /^open \/\S+\/docker-import-\d+\/repositories: no such file or directory\n$/);
  assert.deepEqual(r.cairn, { stdout: '', stderr: 'legacy image archive (no manifest.json): it has no repositories file\n', code: r.docker.code });
  assert.equal((await cairnOk(root, ['images', '-a', '-q'])).stdout, '');
  // an archive with neither: Docker looks for the repositories file too
  const none = await both(['load'], { root, input: await makeTar([{ path: 'hello.txt', content: 'hi' }]) });
  assert.match(none.docker.stderr, /^open \/\S+\/repositories: no such file or directory\n$/);
  assert.deepEqual({ ...none.cairn, stderr: none.cairn.stderr.split('\n').length }, { stdout: '', stderr: 2, code: none.docker.code });
  assert.ok(!none.cairn.stderr.startsWith('Error: '), 'said bare, as Docker says a failed load');
  docker(['rmi', `${P}-legacy:1`, `${P}-legacy:base`]);
});

// --- load's progress on a terminal ---------------------------------------------------------------

/**
 * One redraw of a "Loading layer" line as Docker's CLI draws it on a terminal (cursor up, erase,
 * the line, cursor down). Normalised: a redraw between a line's first one and its full bar is
 * dropped — whether the daemon's rate limiter (one report per 100 ms) let it through depends on
 * how fast each engine read the layer; the first report, the full bar (once or twice, by the
 * daemon's rule) and everything else are compared as written.
 */
const REDRAW = /(?:\x1b\[\d+A)?\x1b\[2K\r([0-9a-f]{12}): Loading layer (?:\[[=> ]+\] )?\s*([\d.]+[kMG]?B)\/([\d.]+[kMG]?B)\r(?:\x1b\[\d+B)?/g;

function withoutTimedRedraws(s: string): string {
  const seen = new Set<string>();
  return s.replace(REDRAW, (all: string, id: string, current: string, total: string) => {
    const first = !seen.has(id);
    seen.add(id);
    return first || current === total ? all : '';
  });
}

/** `load ARGS` through each engine with a terminal of `cols` columns; output and exit code the same. */
async function sameOnTerminal(args: string[], root: string, cols = 120): Promise<string> {
  const d = onTerminal([DOCKER, 'load', ...args], cols);
  const c = onTerminal([process.execPath, CAIRN, '--', '--root', root, 'load', ...args], cols);
  assert.deepEqual({ output: withoutTimedRedraws(c.output), code: c.code }, { output: withoutTimedRedraws(d.output), code: d.code }, `load ${args.join(' ')} on a terminal`);
  return d.output;
}

/**
 * Two images Docker has never seen (the layers' bytes are this run's): one of three layers — 2.1 MB,
 * 40 kB, 1.5 kB: reported from 32 KiB, and whole at once — and one on the same first two layers
 * plus a third, saved as Docker 20.10 saves (manifest.json, `<id>/layer.tar`).
 */
async function freshArchive(): Promise<{ file: string; diffIds: string[] }> {
  const layer = (size: number, seed: number): Promise<Buffer> => makeTar([{ path: `data-${seed}`, content: randomBytesSeeded(size, process.pid * 8 + seed) }]);
  const layers = [await layer(2_100_000, 1), await layer(40_000, 2), await layer(1_000, 3), await layer(5_000, 4)];
  const config = { config: { Cmd: ['sh'], Labels: { 'cairn.diff': P } } };
  const file = join(dir.path, 'fresh.tar');
  await writeFile(file, await makeDockerArchive([
    { layers: layers.slice(0, 3), repoTags: [`${P}-fresh:1`], config },
    { layers: [layers[0]!, layers[1]!, layers[3]!], repoTags: [`${P}-fresh:2`, `${P}-fresh:two`], config },
  ]));
  return { file, diffIds: layers.map((l) => createHash('sha256').update(l).digest('hex').slice(0, 12)) };
}

test('load on a terminal: a "Loading layer" line per layer read (diffID, or v1 ID before 1.10), redrawn in place, the full bar, then the image\'s lines; -q and a narrow terminal', async () => {
  removeDockerImages();
  const fresh = await freshArchive();
  const root = join(dir.path, 'store-tty');
  const drawn = await sameOnTerminal(['-i', fresh.file], root);
  // what was compared: the layers' lines (by diffID; a layer shared by the second image not again), the images' lines after their layers
  assert.deepEqual([...drawn.matchAll(REDRAW)].map((m) => m[1]).filter((id, i, all) => all.indexOf(id) === i), fresh.diffIds);
  assert.match(drawn, new RegExp(`^\\r\\n\\x1b\\[1A\\x1b\\[2K\\r${fresh.diffIds[0]}: Loading layer \\[>\\s+\\]  32\\.77kB/2\\.1\\d\\dMB\\r\\x1b\\[1B`));
  assert.match(drawn, /\x1b\[1A\x1b\[2K\r[0-9a-f]{12}: Loading layer \[={50}>\] +[\d.]+[kM]B\/[\d.]+[kM]B\r\x1b\[1BLoaded image: [^\r]+-fresh:1\r\n\r\n\x1b\[1A/);
  // the layers are there now: none is read again
  assert.doesNotMatch(await sameOnTerminal(['-i', fresh.file], root), /Loading layer/);
  removeDockerImages();
  await sameOnTerminal(['-q', '-i', fresh.file], join(dir.path, 'store-tty-q'));
  removeDockerImages();
  assert.doesNotMatch(await sameOnTerminal(['-i', fresh.file], join(dir.path, 'store-tty-80'), 80), /\[=/);
  removeDockerImages();
  // before 1.10: each v1 image's layer, labelled with its v1 ID, then nothing
  const legacy = join(dir.path, 'legacy-tty.tar');
  await writeFile(legacy, await makeLegacyArchive(await legacyImages(), { [`${P}-legacy`]: { '1': v1('0'), base: v1('1') } }));
  const old = await sameOnTerminal(['-i', legacy], join(dir.path, 'store-tty-legacy'));
  assert.deepEqual([...old.matchAll(REDRAW)].map((m) => m[1]).filter((id, i, all) => all.indexOf(id) === i), ['111111111111', '222222222222', '333333333333', '000000000000']);
  docker(['rmi', `${P}-legacy:1`, `${P}-legacy:base`]);
  removeDockerImages();
});
