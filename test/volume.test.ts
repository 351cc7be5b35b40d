/**
 * Volumes end to end on a temporary root: `volume create|ls|inspect|rm|prune` through the real
 * CLI, with Docker 20.10's outputs and exit codes (../shared/reference/docker-20.10/volumes.txt);
 * and the library the container side uses — acquire/release of volumes with driver options
 * (a real tmpfs and a real bind mount, counted across processes), populate from an image's
 * tree, the in-use callback, crash leftovers. Every test unmounts what it mounted and checks
 * that nothing is left mounted under the root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, cairn, cairnOk, fileTree, tempDir, unmountUnder } from './helpers.js';
import { Cairn } from '../src/engine.js';
import { ConflictError, NotFoundError } from '../src/errors.js';
import { lgetxattr, lsetxattr } from '../src/native/index.js';
import { Store } from '../src/store/store.js';
import { humanSize } from '../src/cli/format.js';
import { acquireVolume, createVolume, isVolumeEmpty, listVolumes, populateVolume, pruneVolumes, releaseVolume, removeVolume } from '../src/volume/index.js';

let dir: { path: string; cleanup: () => Promise<void> };

before(async () => {
  dir = await tempDir('cairn-volume-');
});
after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

let roots = 0;
/** A fresh store root for one test. */
/** Bytes `du` says `path` takes (allocated blocks, a hard link once). */
function duOf(path: string): number {
  return Number(spawnSync('du', ['-s', '-B1', path]).stdout.toString().split('\t')[0]);
}

function newRoot(): string {
  return join(dir.path, `root${++roots}`);
}

/** Mounts at or under `path` (this process's view), with their file-system types and options. */
function mountsUnder(path: string): Array<{ at: string; fstype: string; mountOptions: string; superOptions: string }> {
  const base = realpathSync(path);
  const out = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const [pre, post] = line.split(' - ') as [string, string];
    const fields = pre.split(' ');
    const at = fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const [fstype, , superOptions] = post.split(' ') as [string, string, string];
    if (at === base || at.startsWith(`${base}/`)) out.push({ at, fstype, mountOptions: fields[5]!, superOptions });
  }
  return out;
}

function assertNothingMounted(root: string): void {
  assert.deepEqual(mountsUnder(root), [], 'nothing left mounted under the root');
}

const dataOf = (root: string, name: string): string => join(root, 'volumes', name, '_data');

interface LsRow {
  Driver: string;
  Labels: string;
  Links: string;
  Mountpoint: string;
  Name: string;
  Scope: string;
  Size: string;
}

test('create, ls and inspect print what Docker prints', async () => {
  const root = newRoot();
  assert.deepEqual(await cairn(root, ['volume', 'ls']), { code: 0, stdout: 'DRIVER    VOLUME NAME\n', stderr: '' });
  assert.equal((await cairnOk(root, ['volume', 'create', 'ref-vol-named'])).stdout, 'ref-vol-named\n');
  assert.equal((await cairnOk(root, ['volume', 'create', '--label', 'ref.kind=labeled', '--label', 'other=x', 'ref-vol-labeled'])).stdout, 'ref-vol-labeled\n');
  assert.equal((await cairnOk(root, ['volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '-o', 'device=tmpfs', '--opt=o=size=10m', 'ref-vol-tmpfs'])).stdout, 'ref-vol-tmpfs\n');
  const anon = (await cairnOk(root, ['volume', 'create'])).stdout.trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  // an existing name: printed again, the volume left as it was (Docker's rule)
  assert.deepEqual(await cairn(root, ['volume', 'create', '--label', 'x=y', 'ref-vol-named']), { code: 0, stdout: 'ref-vol-named\n', stderr: '' });
  assert.equal((await cairnOk(root, ['volume', 'create', '--name', 'ref-by-flag'])).stdout, 'ref-by-flag\n');
  assert.equal((await cairnOk(root, ['volume', 'rm', 'ref-by-flag'])).stdout, 'ref-by-flag\n');

  const names = [anon, 'ref-vol-labeled', 'ref-vol-named', 'ref-vol-tmpfs'];
  const ls = await cairnOk(root, ['volume', 'ls']);
  assert.equal(ls.stdout, `DRIVER    VOLUME NAME\n${names.map((n) => `local     ${n}\n`).join('')}`);
  assert.equal((await cairnOk(root, ['volume', 'list', '-q'])).stdout, names.map((n) => `${n}\n`).join(''));

  const json = (await cairnOk(root, ['volume', 'ls', '--format', '{{json .}}'])).stdout;
  const rows = json.trim().split('\n').map((l) => JSON.parse(l) as LsRow);
  assert.deepEqual(rows, names.map((n) => ({ Driver: 'local', Labels: n === 'ref-vol-labeled' ? 'other=x,ref.kind=labeled' : '', Links: 'N/A', Mountpoint: dataOf(root, n), Name: n, Scope: 'local', Size: 'N/A' })));
  assert.equal((await cairnOk(root, ['volume', 'ls', '--format', 'json'])).stdout, json, '--format json is {{json .}}');
  // a format wins over -q, except the default table
  assert.equal((await cairnOk(root, ['volume', 'ls', '-q', '--format', '{{.Name}}x'])).stdout, names.map((n) => `${n}x\n`).join(''));
  assert.equal((await cairnOk(root, ['volume', 'ls', '-q', '--format', 'table'])).stdout, names.map((n) => `${n}\n`).join(''));

  const tbl = (await cairnOk(root, ['volume', 'ls', '-f', 'name=ref-vol-l', '--format', 'table {{.Name}}\\t{{.Driver}}\\t{{.Labels}}\\t{{.Mountpoint}}\\t{{.Label "ref.kind"}}\\t{{.Links}}\\t{{.Size}}\\t{{.Scope}}'])).stdout;
  const lines = tbl.split('\n');
  assert.deepEqual(lines[0]!.split(/ {3,}/), ['VOLUME NAME', 'DRIVER', 'LABELS', 'MOUNTPOINT', 'kind', 'LINKS', 'SIZE', 'SCOPE']);
  assert.deepEqual(lines[1]!.split(/ {3,}/), ['ref-vol-labeled', 'local', 'other=x,ref.kind=labeled', dataOf(root, 'ref-vol-labeled'), 'labeled', 'N/A', 'N/A', 'local']);
  assert.equal(lines.length, 3);
  const nope = await cairn(root, ['volume', 'ls', '--format', '{{.Nope}}']);
  assert.equal(nope.code, 1);
  assert.match(nope.stderr, /can't evaluate field Nope in type \*formatter\.volumeContext/);

  // inspect: Docker's JSON array, 4-space indent, maps with sorted keys
  const one = await cairnOk(root, ['volume', 'inspect', 'ref-vol-named']);
  const doc = JSON.parse(one.stdout) as Array<{ CreatedAt: string }>;
  assert.match(doc[0]!.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  const named = { CreatedAt: doc[0]!.CreatedAt, Driver: 'local', Labels: {}, Mountpoint: dataOf(root, 'ref-vol-named'), Name: 'ref-vol-named', Options: {}, Scope: 'local' };
  assert.equal(one.stdout, `${JSON.stringify([named], null, 4)}\n`);
  const two = await cairnOk(root, ['volume', 'inspect', 'ref-vol-labeled', 'ref-vol-tmpfs']);
  const docs = JSON.parse(two.stdout) as Array<{ CreatedAt: string }>;
  assert.equal(
    two.stdout,
    `${JSON.stringify(
      [
        { CreatedAt: docs[0]!.CreatedAt, Driver: 'local', Labels: { other: 'x', 'ref.kind': 'labeled' }, Mountpoint: dataOf(root, 'ref-vol-labeled'), Name: 'ref-vol-labeled', Options: {}, Scope: 'local' },
        { CreatedAt: docs[1]!.CreatedAt, Driver: 'local', Labels: {}, Mountpoint: dataOf(root, 'ref-vol-tmpfs'), Name: 'ref-vol-tmpfs', Options: { device: 'tmpfs', o: 'size=10m', type: 'tmpfs' }, Scope: 'local' },
      ],
      null,
      4,
    )}\n`,
  );
  assert.equal((await cairnOk(root, ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{json .Options}} {{.Scope}}', 'ref-vol-tmpfs'])).stdout, 'ref-vol-tmpfs local {"device":"tmpfs","o":"size=10m","type":"tmpfs"} local\n');
  assert.equal((await cairnOk(root, ['volume', 'inspect', '-f', '{{.Status}}|{{.UsageData}}|{{.Labels}}|{{.Options}}', 'ref-vol-named'])).stdout, 'map[]|<nil>|map[]|map[]\n');
  assert.equal((await cairnOk(root, ['volume', 'inspect', '-f', '{{.Name}}', 'ref-vol-named', 'ref-vol-tmpfs'])).stdout, 'ref-vol-named\nref-vol-tmpfs\n');
  assert.deepEqual(await cairn(root, ['volume', 'inspect', 'nosuch']), { code: 1, stdout: '[]\n', stderr: 'Error: No such volume: nosuch\n' });
  assert.deepEqual(await cairn(root, ['volume', 'inspect', 'nosuch', 'nosuch2']), { code: 1, stdout: '[]\n', stderr: 'Error: No such volume: nosuch\nError: No such volume: nosuch2\n' });
  assert.deepEqual(await cairn(root, ['volume', 'inspect', 'ref-vol-named', 'nosuch']), { code: 1, stdout: `${JSON.stringify([named], null, 4)}\n`, stderr: 'Error: No such volume: nosuch\n' });
  assert.deepEqual(await cairn(root, ['volume', 'inspect', '-f', '{{.Name}}', 'nosuch']), { code: 1, stdout: '\n', stderr: 'Error: No such volume: nosuch\n' });
  assert.equal((await cairn(root, ['volume', 'inspect', '-f', '{{', 'ref-vol-named'])).code, 64);
  assertNothingMounted(root);
});

test('create refuses what Docker refuses, in its words, and leaves nothing behind', async () => {
  const root = newRoot();
  const long = 'x'.repeat(256);
  const cases: Array<[string[], number, string]> = [
    [['volume', 'create', '--opt', 'type=tmpfs,device=tmpfs', 'ref-vol-comma'], 1, 'Error: create ref-vol-comma: missing required option: "device"\n'],
    [['volume', 'create', '--opt', 'foo=bar', 'v1'], 1, 'Error: create v1: invalid option: "foo"\n'],
    [['volume', 'create', '--opt', 'noeq', 'v1'], 1, 'Error: create v1: invalid option: "noeq"\n'],
    [['volume', 'create', '--opt', 'device=x', 'v1'], 1, 'Error: create v1: missing required option: "type"\n'],
    [['volume', 'create', '--opt', 'size=10m', 'v1'], 1, 'Error: create v1: quota size requested but no quota support\n'],
    [['volume', 'create', '--driver', 'nosuchdriver', 'ref-vol-baddriver'], 1, 'Error: create ref-vol-baddriver: error looking up volume plugin nosuchdriver: plugin "nosuchdriver" not found\n'],
    [['volume', 'create', 'bad/name'], 1, 'Error: create bad/name: "bad/name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path\n'],
    [['volume', 'create', '--', '-abc'], 1, 'Error: create -abc: "-abc" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path\n'],
    [['volume', 'create', 'a'], 1, 'Error: create a: volume name is too short, names should be at least two alphanumeric characters\n'],
    [['volume', 'create', long], 1, `Error: create ${long}: error while creating volume root path '${join(root, 'volumes', long)}': mkdir ${join(root, 'volumes', long)}: file name too long\n`],
    [['volume', 'create', '--label', '=x', 'v1'], 125, 'invalid argument "=x" for "--label" flag: invalid label \'=x\': empty name\nSee \'cairn volume create --help\'.\n'],
    [['volume', 'create', '--label', 'a b=c', 'v1'], 125, 'invalid argument "a b=c" for "--label" flag: label \'a b\' contains whitespaces\nSee \'cairn volume create --help\'.\n'],
    [['volume', 'create', '--name', 'v1', 'v2'], 1, 'conflicting options: either specify --name or provide positional arg, not both\n'],
    [['volume', 'create', 'a', 'b'], 1, '"cairn volume create" requires at most 1 argument.\nSee \'cairn volume create --help\'.\n\nUsage:  cairn volume create [OPTIONS] [VOLUME]\n\nCreate a volume\n'],
    [['volume', 'create', '--bogus'], 125, "unknown flag: --bogus\nSee 'cairn volume create --help'.\n"],
  ];
  for (const [args, code, stderr] of cases) {
    assert.deepEqual(await cairn(root, args), { code, stdout: '', stderr }, args.join(' '));
  }
  assert.equal((await cairnOk(root, ['volume', 'ls', '-q'])).stdout, '');
  assert.deepEqual(existsSync(join(root, 'volumes')) ? readdirSync(join(root, 'volumes')) : [], [], 'no directory left by a refused create');
  // a label without a value and a lone --opt key are Docker's too
  await cairnOk(root, ['volume', 'create', '--label', 'novalue', '--label', 'a=1', '--label', 'a=2', 'lbl']);
  assert.equal((await cairnOk(root, ['volume', 'inspect', '-f', '{{json .Labels}}', 'lbl'])).stdout, '{"a":"2","novalue":""}\n');
  assert.equal(lstatSync(join(root, 'volumes')).mode & 0o777, 0o701);
  assert.equal(lstatSync(dataOf(root, 'lbl')).mode & 0o7777, 0o755);
});

test('ls filters: dangling, driver, label, name; Docker\'s errors for the others', async () => {
  const root = newRoot();
  await cairnOk(root, ['volume', 'create', '--label', 'a=2', 'lab2']);
  await cairnOk(root, ['volume', 'create', '--label', 'novalue', 'lbl']);
  for (const n of ['tmpv', 'tmpv2', 'nm']) await cairnOk(root, ['volume', 'create', n]);
  const q = async (...f: string[]): Promise<string[]> => (await cairnOk(root, ['volume', 'ls', '-q', ...f.flatMap((x) => ['-f', x])])).stdout.split('\n').filter(Boolean);
  assert.deepEqual(await q('dangling=true'), ['lab2', 'lbl', 'nm', 'tmpv', 'tmpv2']);
  assert.deepEqual(await q('dangling=1'), ['lab2', 'lbl', 'nm', 'tmpv', 'tmpv2']);
  assert.deepEqual(await q('dangling=false'), []);
  assert.deepEqual(await q('driver=local'), ['lab2', 'lbl', 'nm', 'tmpv', 'tmpv2']);
  assert.deepEqual(await q('driver=loc'), []);
  assert.deepEqual(await q('name=tmp', 'name=lab'), ['lab2', 'tmpv', 'tmpv2']);
  assert.deepEqual(await q('name=mpv'), ['tmpv', 'tmpv2']);
  assert.deepEqual(await q('label=a', 'label=novalue'), []);
  assert.deepEqual(await q('label=a=2'), ['lab2']);
  assert.deepEqual(await q('label=a=1'), []);
  assert.deepEqual(await q('label=novalue='), ['lbl']);
  assert.deepEqual(await q('label=a', 'name=lab'), ['lab2']);
  assert.deepEqual(await cairn(root, ['volume', 'ls', '-f', 'bogus=1']), { code: 1, stdout: '', stderr: "Error: Invalid filter 'bogus'\n" });
  assert.deepEqual(await cairn(root, ['volume', 'ls', '-f', 'label!=a']), { code: 1, stdout: '', stderr: "Error: Invalid filter 'label!'\n" });
  assert.deepEqual(await cairn(root, ['volume', 'ls', '-f', 'dangling=maybe']), { code: 1, stdout: '', stderr: "Error: Invalid filter 'dangling=[maybe]'\n" });
  assert.deepEqual(await cairn(root, ['volume', 'ls', '-f', 'label']), {
    code: 125,
    stdout: '',
    stderr: 'invalid argument "label" for "-f, --filter" flag: bad format of filter (expected name=value)\nSee \'cairn volume ls --help\'.\n',
  });
  assert.deepEqual(await cairn(root, ['volume', 'ls', 'extra']), { code: 1, stdout: '', stderr: '"cairn volume ls" accepts no arguments.\nSee \'cairn volume ls --help\'.\n\nUsage:  cairn volume ls [OPTIONS]\n\nList volumes\n' });
});

test('rm and prune: Docker\'s outputs; the data goes with the volume; volumes with options are never pruned', async () => {
  const root = newRoot();
  for (const n of ['keep1', 'gone1', 'gone2']) await cairnOk(root, ['volume', 'create', n]);
  await cairnOk(root, ['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', 'withopts']);
  await cairnOk(root, ['volume', 'create', '--label', 'other=x', 'labelled']);
  writeFileSync(join(dataOf(root, 'gone1'), 'f'), 'x');
  assert.deepEqual(await cairn(root, ['volume', 'rm', 'gone1', 'nosuch', 'gone2', 'a']), { code: 1, stdout: 'gone1\ngone2\n', stderr: 'Error: No such volume: nosuch\nError: No such volume: a\n' });
  assert.equal(existsSync(join(root, 'volumes', 'gone1')), false, 'the data went with the volume');
  assert.deepEqual(await cairn(root, ['volume', 'rm', '-f', 'nosuch', 'keep1']), { code: 0, stdout: 'nosuch\nkeep1\n', stderr: '' });
  assert.deepEqual(await cairn(root, ['volume', 'remove']), {
    code: 1,
    stdout: '',
    stderr: '"cairn volume rm" requires at least 1 argument.\nSee \'cairn volume rm --help\'.\n\nUsage:  cairn volume rm [OPTIONS] VOLUME [VOLUME...]\n\nRemove one or more volumes\n',
  });

  // the prompt: no input, or anything but y/Y, is No — and the total is printed anyway (Docker 23's words: anonymous volumes unless -a)
  const prompt = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ';
  const allPrompt = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ';
  assert.deepEqual(await cairn(root, ['volume', 'prune']), { code: 0, stdout: `${prompt}Total reclaimed space: 0B\n`, stderr: '' });
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-a'], { input: 'yes\n' }), { code: 0, stdout: `${allPrompt}Total reclaimed space: 0B\n`, stderr: '' });
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-f', '--filter', 'label=nosuch']), { code: 0, stdout: 'Total reclaimed space: 0B\n', stderr: '' });
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-f', '--filter', 'label=other=x']), { code: 0, stdout: 'Total reclaimed space: 0B\n', stderr: '' }, 'a named volume stays without -a');
  const labelled = duOf(join(root, 'volumes', 'labelled'));
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-a', '--filter', 'label=other=x'], { input: 'Y\n' }), { code: 0, stdout: `${allPrompt}Deleted Volumes:\nlabelled\n\nTotal reclaimed space: ${humanSize(labelled, 4)}\n`, stderr: '' });
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-f', '--filter', 'dangling=true']), { code: 1, stdout: '', stderr: "Error: Invalid filter 'dangling'\n" });
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-f', '--filter', 'label']), {
    code: 125,
    stdout: '',
    stderr: 'invalid argument "label" for "--filter" flag: bad format of filter (expected name=value)\nSee \'cairn volume prune --help\'.\n',
  });

  // reclaimed space is what left the disk (du: allocated blocks, a hard link once), not Docker's apparent sizes
  for (const n of ['p1', 'p2', 'p3']) await cairnOk(root, ['volume', 'create', '--label', `n=${n}`, n]);
  writeFileSync(join(dataOf(root, 'p1'), 'a'), Buffer.alloc(1000));
  linkSync(join(dataOf(root, 'p1'), 'a'), join(dataOf(root, 'p1'), 'b'));
  symlinkSync('a', join(dataOf(root, 'p1'), 'c'));
  mkdirSync(join(dataOf(root, 'p1'), 'sub'));
  writeFileSync(join(dataOf(root, 'p1'), 'sub', 'empty'), '');
  writeFileSync(join(dataOf(root, 'p2'), 'z'), Buffer.alloc(500));
  const p12 = duOf(join(root, 'volumes', 'p1')) + duOf(join(root, 'volumes', 'p2'));
  assert.ok(p12 > 1500, `du counts at least the files' bytes (${p12})`);
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-af', '--filter', 'label!=n=p3']), { code: 0, stdout: `Deleted Volumes:\np1\np2\n\nTotal reclaimed space: ${humanSize(p12, 4)}\n`, stderr: '' });
  const p3 = duOf(join(root, 'volumes', 'p3'));
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-a', '-f']), { code: 0, stdout: `Deleted Volumes:\np3\n\nTotal reclaimed space: ${humanSize(p3, 4)}\n`, stderr: '' });
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-af']), { code: 0, stdout: 'Total reclaimed space: 0B\n', stderr: '' });
  assert.equal((await cairnOk(root, ['volume', 'ls', '-q'])).stdout, 'withopts\n', 'a volume with options is removed only explicitly');
  assert.equal((await cairnOk(root, ['volume', 'rm', 'withopts'])).stdout, 'withopts\n');
  assert.deepEqual(readdirSync(join(root, 'volumes')), [], 'nothing left under ROOT/volumes');
});

/** Run `acquireVolume` (or release) in another process: counts are shared between cairn processes. */
function inChild(root: string, fn: 'acquireVolume' | 'releaseVolume', name: string): Promise<string> {
  const store = pathToFileURL(join(REPO, 'dist', 'src', 'store', 'store.js')).href;
  const volume = pathToFileURL(join(REPO, 'dist', 'src', 'volume', 'index.js')).href;
  const script = `const { Store } = await import(${JSON.stringify(store)}); const v = await import(${JSON.stringify(volume)});
    const s = await Store.open({ root: ${JSON.stringify(root)} }); try { process.stdout.write(String(await v.${fn}(s, ${JSON.stringify(name)}))); } finally { s.close(); }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child ${fn} exited ${code}: ${err}`))));
  });
}

test('a tmpfs volume is mounted by its first user and unmounted by its last, counted across processes', async () => {
  const root = newRoot();
  const store = await Store.open({ root });
  try {
    await createVolume(store, { name: 'tmp1', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    const data = dataOf(root, 'tmp1');
    assert.deepEqual(mountsUnder(root), [], 'created, not mounted');
    assert.equal(await acquireVolume(store, 'tmp1'), data);
    const m = mountsUnder(root);
    assert.equal(m.length, 1);
    assert.equal(m[0]!.at, realpathSync(data));
    assert.equal(m[0]!.fstype, 'tmpfs');
    assert.match(m[0]!.superOptions, /size=1024k/);
    writeFileSync(join(data, 'on-tmpfs'), 'x');
    // a second user, in another process: the same mount, not a second one
    assert.equal(await inChild(root, 'acquireVolume', 'tmp1'), data);
    assert.equal(mountsUnder(root).length, 1);
    assert.equal(readFileSync(join(data, 'on-tmpfs'), 'utf8'), 'x');
    // in use by nobody's container but held: rm refuses without -f
    await assert.rejects(removeVolume(store, 'tmp1'), (e: unknown) => e instanceof ConflictError && e.message === 'remove tmp1: volume is in use - [2 users outside any container; --force removes it anyway]');
    assert.equal(await releaseVolume(store, 'tmp1'), 1);
    assert.equal(mountsUnder(root).length, 1, 'still mounted for the other user');
    assert.equal(await inChild(root, 'releaseVolume', 'tmp1'), '0');
    assert.deepEqual(mountsUnder(root), [], 'the last user unmounted it');
    assert.deepEqual(readdirSync(data), [], 'what was on the tmpfs went with it');
    assert.equal(await releaseVolume(store, 'tmp1'), 0, 'a release too many is none');
    // a mount whose count was lost (its user killed after mounting) is taken as the volume's, not stacked
    await acquireVolume(store, 'tmp1');
    writeFileSync(join(root, 'volumes', 'tmp1', 'users'), '');
    await acquireVolume(store, 'tmp1');
    assert.equal(mountsUnder(root).length, 1);
    assert.equal(await releaseVolume(store, 'tmp1'), 0);
    assert.deepEqual(mountsUnder(root), []);
    // a count whose mount went (a reboot, a umount by hand) is no count: the next user mounts again
    await acquireVolume(store, 'tmp1');
    await acquireVolume(store, 'tmp1');
    spawnSync('umount', [data]);
    await acquireVolume(store, 'tmp1');
    assert.equal(mountsUnder(root).length, 1);
    assert.equal(await releaseVolume(store, 'tmp1'), 0);
    assert.deepEqual(mountsUnder(root), []);
    // a mount the kernel refuses: Docker's words, nothing mounted, nothing counted
    await createVolume(store, { name: 'badtmp', options: { type: 'tmpfs', device: 'tmpfs', o: 'bogus=1' } });
    await assert.rejects(acquireVolume(store, 'badtmp'), {
      message: `error while mounting volume '${dataOf(root, 'badtmp')}': failed to mount local volume: mount tmpfs:${dataOf(root, 'badtmp')}, data: bogus=1: invalid argument`,
    });
    await removeVolume(store, 'badtmp');
    await assert.rejects(acquireVolume(store, 'nosuch'), (e: unknown) => e instanceof NotFoundError && e.message === 'No such volume: nosuch');
    await removeVolume(store, 'tmp1');
  } finally {
    store.close();
  }
  assertNothingMounted(root);
});

test('o=bind mounts the device at the mount point; removing the volume never reaches into the device', async () => {
  const root = newRoot();
  const src = join(dir.path, 'bind-src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'sub', 'kept'), 'source data');
  const store = await Store.open({ root });
  try {
    await createVolume(store, { name: 'bindv', options: { type: 'none', device: src, o: 'bind' } });
    const data = await acquireVolume(store, 'bindv');
    assert.equal(mountsUnder(root).length, 1);
    assert.equal(readFileSync(join(data, 'sub', 'kept'), 'utf8'), 'source data');
    writeFileSync(join(data, 'written'), 'through the volume');
    assert.equal(readFileSync(join(src, 'written'), 'utf8'), 'through the volume');
    assert.equal(isVolumeEmpty(store, 'bindv'), false);
    // still acquired: --force unmounts it first, then removes only the volume's own directory
    assert.equal(await removeVolume(store, 'bindv', { force: true }), true);
    assert.deepEqual(mountsUnder(root), []);
    assert.equal(existsSync(join(root, 'volumes', 'bindv')), false);
    assert.deepEqual(readdirSync(src).sort(), ['sub', 'written']);
    assert.equal(readFileSync(join(src, 'sub', 'kept'), 'utf8'), 'source data');
    assert.equal(await releaseVolume(store, 'bindv'), 0, 'releasing a volume removed meanwhile is nothing');

    // a read-only bind is remounted read-only, as Docker's
    await createVolume(store, { name: 'robind', options: { type: 'none', device: src, o: 'bind,ro' } });
    const ro = await acquireVolume(store, 'robind');
    assert.match(mountsUnder(root)[0]!.mountOptions, /^ro\b/);
    assert.throws(() => writeFileSync(join(ro, 'nope'), 'x'), { code: 'EROFS' });
    assert.equal(await releaseVolume(store, 'robind'), 0);
    await removeVolume(store, 'robind');

    await createVolume(store, { name: 'nodev', options: { type: 'none', device: join(dir.path, 'nonexist'), o: 'bind' } });
    const nodev = dataOf(root, 'nodev');
    await assert.rejects(acquireVolume(store, 'nodev'), {
      message: `error while mounting volume '${nodev}': failed to mount local volume: mount ${join(dir.path, 'nonexist')}:${nodev}, flags: 0x1000: no such file or directory`,
    });
    assert.deepEqual(mountsUnder(root), []);
    await removeVolume(store, 'nodev');
  } finally {
    store.close();
  }
  assertNothingMounted(root);
});

test('populate copies the image\'s tree as it is, follows no symlink, and fills only an empty volume', async () => {
  const root = newRoot();
  const base = join(dir.path, 'image');
  const src = join(base, 'data');
  mkdirSync(join(src, 'sub', 'deep'), { recursive: true });
  mkdirSync(join(base, 'outside-dir'));
  writeFileSync(join(base, 'outside-dir', 'secret'), 'host secret');
  writeFileSync(join(base, 'outside'), 'outside');
  writeFileSync(join(src, 'file'), 'hello');
  chownSync(join(src, 'file'), 1001, 1002);
  chmodSync(join(src, 'file'), 0o640);
  lsetxattr(join(src, 'file'), 'user.cairn', Buffer.from('kept'));
  writeFileSync(join(src, 'suid'), '#!/bin/sh\n');
  chmodSync(join(src, 'suid'), 0o4755);
  writeFileSync(join(src, 'sub', 'deep', 'f'), 'deep');
  writeFileSync(join(src, 'hard1'), 'linked');
  linkSync(join(src, 'hard1'), join(src, 'hard2'));
  symlinkSync('/etc/passwd', join(src, 'abs'));
  symlinkSync('../outside', join(src, 'rel'));
  symlinkSync('../outside-dir', join(src, 'dirlink'));
  chownSync(join(src, 'sub'), 1000, 1000);
  chmodSync(join(src, 'sub'), 0o700);
  chownSync(src, 1000, 1000);
  chmodSync(src, 0o750);
  symlinkSync('data', join(base, 'link-to-data'));

  const store = await Store.open({ root });
  try {
    await createVolume(store, { name: 'pop' });
    const data = await acquireVolume(store, 'pop');
    assert.equal(isVolumeEmpty(store, 'pop'), true);
    assert.equal(await populateVolume(store, 'pop', src), true);
    assert.deepEqual(fileTree(data), fileTree(src), 'every entry with its type, mode, owner, size, time and link target');
    const top = statSync(data);
    assert.deepEqual([top.mode & 0o7777, top.uid, top.gid], [0o750, 1000, 1000], "the directory's own owner and mode on the volume's root");
    assert.equal(statSync(join(data, 'hard1')).ino, statSync(join(data, 'hard2')).ino, 'hard links stay hard links');
    assert.equal(lgetxattr(join(data, 'file'), 'user.cairn')?.toString(), 'kept');
    assert.equal(lstatSync(join(data, 'dirlink')).isSymbolicLink(), true);
    assert.equal(existsSync(join(data, 'outside-dir')) || existsSync(join(data, 'secret')), false, 'nothing from outside the tree');
    assert.deepEqual(readdirSync(join(root, 'volumes', 'pop')).sort(), ['_data', 'users'], 'no work directory left');
    // not empty any more: left alone
    writeFileSync(join(data, 'added-later'), 'mine');
    assert.equal(await populateVolume(store, 'pop', join(base, 'outside-dir')), false);
    assert.equal(existsSync(join(data, 'secret')), false);
    assert.equal(await releaseVolume(store, 'pop'), 0);

    // a symlink at the mount point itself, a file, nothing: nothing to copy
    await createVolume(store, { name: 'empty' });
    assert.equal(await populateVolume(store, 'empty', join(base, 'link-to-data')), false);
    assert.equal(await populateVolume(store, 'empty', join(base, 'outside')), false);
    assert.equal(await populateVolume(store, 'empty', join(base, 'nonexist')), false);
    assert.deepEqual(readdirSync(dataOf(root, 'empty')), []);
    await assert.rejects(populateVolume(store, 'nosuch', src), NotFoundError);

    // into a mounted volume (a tmpfs): copied in place
    await createVolume(store, { name: 'popt', options: { type: 'tmpfs', device: 'tmpfs', o: 'size=4m' } });
    const t = await acquireVolume(store, 'popt');
    assert.equal(await populateVolume(store, 'popt', src), true);
    assert.deepEqual(fileTree(t), fileTree(src));
    assert.equal(await releaseVolume(store, 'popt'), 0);
    for (const n of ['pop', 'empty', 'popt']) await removeVolume(store, n);
  } finally {
    store.close();
  }
  assertNothingMounted(root);
});

test('a volume a container uses cannot be removed or pruned, even with force (the in-use callback)', async () => {
  const root = newRoot();
  const store = await Store.open({ root });
  try {
    for (const n of ['used', 'free']) await createVolume(store, { name: n });
    const inUse = (name: string): string[] => (name === 'used' ? ['c0ffee', 'd00d'] : []);
    for (const force of [false, true]) {
      await assert.rejects(removeVolume(store, 'used', { inUse, force }), (e: unknown) => e instanceof ConflictError && e.exitCode === 1 && e.message === 'remove used: volume is in use - [c0ffee, d00d]');
    }
    assert.deepEqual(listVolumes(store, { filters: ['dangling=false'], inUse }).map((v) => v.name), ['used']);
    assert.deepEqual(listVolumes(store, { filters: ['dangling=true'], inUse }).map((v) => v.name), ['free']);
    assert.deepEqual((await pruneVolumes(store, { inUse })).deleted, [], 'named volumes only with all');
    assert.deepEqual((await pruneVolumes(store, { inUse, all: true })).deleted, ['free']);
    assert.equal(existsSync(dataOf(root, 'used')), true);
    assert.deepEqual((await pruneVolumes(store, { filters: ['all=true'] })).deleted, ['used'], "Docker 23's all= filter");
    // an anonymous volume (a container's) shows no labels or options: null, as Docker's
    const anon = await createVolume(store, { anonymous: true });
    assert.match(anon.name, /^[0-9a-f]{64}$/);
    assert.deepEqual([anon.anonymous, anon.labels, anon.options], [true, null, null]);
    const cli = await cairnOk(root, ['volume', 'inspect', '-f', '{{json .Labels}} {{json .Options}} {{.Labels}}', anon.name]);
    assert.equal(cli.stdout, 'null null map[]\n');
  } finally {
    store.close();
  }
});

test('what crashes left under ROOT/volumes is removed by prune and by the garbage collector; a create takes its name back', async () => {
  const root = newRoot();
  await cairnOk(root, ['volume', 'create', 'real']);
  const vols = join(root, 'volumes');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const leave = (): void => {
    mkdirSync(join(vols, 'ghost', '_data'), { recursive: true });
    writeFileSync(join(vols, 'ghost', '_data', 'f'), 'left by a crash');
    mkdirSync(join(vols, `.tmp-${dead}-0a1b2c`, '_data'), { recursive: true });
    mkdirSync(join(vols, `.trash-${dead}-3d4e5f`, '_data'), { recursive: true });
  };
  const ours = join(vols, `.tmp-${process.pid}-abcdef`);
  mkdirSync(ours);
  leave();
  assert.equal((await cairnOk(root, ['volume', 'ls', '-q'])).stdout, 'real\n', 'a directory without a record is no volume');
  assert.deepEqual(await cairn(root, ['volume', 'prune', '-f', '--filter', 'label=none']), { code: 0, stdout: 'Total reclaimed space: 0B\n', stderr: '' });
  assert.deepEqual(readdirSync(vols).sort(), [`.tmp-${process.pid}-abcdef`, 'real'], "leftovers gone; a live process's work kept");
  leave();
  const c = await Cairn.open({ root });
  try {
    await c.gc();
  } finally {
    c.close();
  }
  assert.deepEqual(readdirSync(vols).sort(), [`.tmp-${process.pid}-abcdef`, 'real'], 'the collector sweeps them too');
  // a create over a leftover of the same name gets an empty volume
  mkdirSync(join(vols, 'again', '_data'), { recursive: true });
  writeFileSync(join(vols, 'again', '_data', 'junk'), 'x');
  await cairnOk(root, ['volume', 'create', 'again']);
  assert.deepEqual(readdirSync(dataOf(root, 'again')), []);
  assert.deepEqual(readdirSync(vols).sort(), [`.tmp-${process.pid}-abcdef`, 'again', 'real']);
});

test('concurrent creates of one name make one volume', async () => {
  const root = newRoot();
  await cairnOk(root, ['volume', 'ls']);
  const runs = await Promise.all([1, 2, 3, 4].map(() => cairn(root, ['volume', 'create', 'same'])));
  for (const r of runs) assert.deepEqual(r, { code: 0, stdout: 'same\n', stderr: '' });
  assert.equal((await cairnOk(root, ['volume', 'ls', '-q'])).stdout, 'same\n');
  assert.deepEqual(readdirSync(join(root, 'volumes')), ['same'], 'no work directory left');
});
