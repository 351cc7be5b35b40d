/**
 * The CLI end to end on a temporary root: import, images, tag, rmi, history, inspect, version,
 * info — output layouts and exit codes as Docker's (checked against ../shared/reference).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { compressStream } from '../src/compression/stream.js';
import { humanSize } from '../src/cli/format.js';
import { REPO, busyboxTar, cairn, cairnOk, makeDockerArchive, makeTar, tempDir } from './helpers.js';

const REF = join(REPO, '..', 'shared', 'reference', 'docker-20.10');
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: { path: string; cleanup: () => Promise<void> };
let root: string;
let bbTar: Buffer;
let bbGz: Buffer;

before(async () => {
  dir = await tempDir();
  root = join(dir.path, 'root');
  bbTar = await busyboxTar('none');
  bbGz = await busyboxTar('gzip');
  await writeFile(join(dir.path, 'bb.tar'), bbTar);
  await writeFile(join(dir.path, 'bb.tar.gz'), bbGz);
});
after(() => dir.cleanup());

async function zstd(b: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of Readable.from([b]).pipe(compressStream('zstd'))) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('import: plain, gzip and zstd tars give the same diffID; the blob is kept as given', async () => {
  const r1 = await cairnOk(root, ['import', join(dir.path, 'bb.tar'), 'bb:plain']);
  const id1 = r1.stdout.trim();
  assert.match(id1, /^sha256:[a-f0-9]{64}$/);
  const r2 = await cairnOk(root, ['import', '-', 'bb:gzip'], { input: bbGz });
  const r3 = await cairnOk(root, ['import', '-', 'bb:zstd'], { input: await zstd(bbTar) });
  const inspect = JSON.parse((await cairnOk(root, ['inspect', 'bb:plain', 'bb:gzip', 'bb:zstd'])).stdout) as Array<{ Id: string; RootFS: { Layers: string[] }; Size: number; Comment: string }>;
  assert.equal(inspect.length, 3);
  assert.deepEqual(inspect.map((i) => i.Id), [id1, r2.stdout.trim(), r3.stdout.trim()]);
  for (const i of inspect) {
    assert.deepEqual(i.RootFS.Layers, [sha(bbTar)], 'diffID is the uncompressed tar digest');
    // Docker's count: the files' bytes (busybox, /etc/passwd) and the five symlinks' targets, not the tar's bytes
    assert.equal(i.Size, readFileSync('/bin/busybox').length + 'root:x:0:0:root:/root:/bin/sh\n'.length + 5 * 'busybox'.length);
    assert.equal(i.Comment, 'Imported from -');
  }
  // The gzip blob is stored as given: its digest is the input's.
  const blobs = readFileSync(join(root, 'content', 'blobs', 'sha256', sha(bbGz).slice(7)));
  assert.equal(blobs.length, bbGz.length);
});

test('import --change and --message shape the config', async () => {
  await cairnOk(root, ['import', '-c', 'CMD ["sh"]', '-c', 'ENV A=1 C=$A', '-c', 'ENV B=$A', '-c', 'EXPOSE 8080', '-c', 'LABEL org.example.x=y', '-c', 'WORKDIR /app', '-c', 'USER 1000:1000', '-m', 'hello there', join(dir.path, 'bb.tar'), 'bb:changed']);
  const [i] = JSON.parse((await cairnOk(root, ['image', 'inspect', 'bb:changed'])).stdout) as Array<{ Config: Record<string, unknown>; Comment: string }>;
  assert.deepEqual(i!.Config.Cmd, ['sh']);
  // As in a Dockerfile: a variable set in the same ENV is not yet visible; in a later one it is.
  assert.deepEqual(i!.Config.Env, ['A=1', 'C=', 'B=1']);
  assert.deepEqual(i!.Config.ExposedPorts, { '8080/tcp': {} });
  assert.deepEqual(i!.Config.Labels, { 'org.example.x': 'y' });
  assert.equal(i!.Config.WorkingDir, '/app');
  assert.equal(i!.Config.User, '1000:1000');
  assert.equal(i!.Comment, 'hello there');
  const bad = await cairn(root, ['import', '-c', 'RUN echo', join(dir.path, 'bb.tar')]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error: run is not a valid change command\n'); // lower-cased, as Docker's daemon says it
});

test('images: Docker layout, -q, --no-trunc, --digests, --format json', async () => {
  const r = await cairnOk(root, ['images']);
  const lines = r.stdout.trimEnd().split('\n');
  // Docker's header, columns separated by tabwriter padding (>= 3 spaces).
  assert.match(lines[0]!, /^REPOSITORY {3,}TAG {3,}IMAGE ID {3,}CREATED {3,}SIZE$/);
  const refHeader = readFileSync(join(REF, 'images.txt'), 'utf8').split('\n')[1]!;
  assert.deepEqual(lines[0]!.split(/ {3,}/), refHeader.split(/ {3,}/), 'same columns as docker images');
  const row = lines.find((l) => l.startsWith('bb ') && / plain /.test(l))!;
  assert.ok(row, 'a row for bb:plain');
  const cells = row.split(/ {3,}/);
  assert.equal(cells[0], 'bb');
  assert.equal(cells[1], 'plain');
  assert.match(cells[2]!, /^[a-f0-9]{12}$/);
  assert.match(cells[3]!, /ago$/);
  assert.equal(cells[4], humanSize(readFileSync('/bin/busybox').length + 'root:x:0:0:root:/root:/bin/sh\n'.length + 5 * 'busybox'.length), "Docker's size: the files' bytes");
  // Column starts line up across rows (tabwriter).
  const col = lines[0]!.indexOf('IMAGE ID');
  for (const l of lines.slice(1)) assert.match(l.slice(col, col + 12), /^[a-f0-9]{12}$/);

  const q = (await cairnOk(root, ['images', '-q'])).stdout.trim().split('\n');
  assert.ok(q.every((x) => /^[a-f0-9]{12}$/.test(x)));
  assert.equal(q.length, lines.length - 1);
  const nt = (await cairnOk(root, ['images', '--no-trunc', '-q'])).stdout.trim().split('\n');
  assert.ok(nt.every((x) => /^sha256:[a-f0-9]{64}$/.test(x)));
  const dg = (await cairnOk(root, ['images', '--digests'])).stdout.split('\n')[0]!;
  assert.deepEqual(dg.split(/ {3,}/), ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']);

  const json = (await cairnOk(root, ['images', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const refJson = JSON.parse(readFileSync(join(REF, 'images.txt'), 'utf8').split('\n').find((l) => l.startsWith('{'))!) as Record<string, string>;
  for (const j of json) assert.deepEqual(Object.keys(j), Object.keys(refJson), 'same JSON keys as docker images --format {{json .}}');
  const plain = json.find((j) => j.Tag === 'plain')!;
  assert.equal(plain.Repository, 'bb');
  assert.equal(plain.Digest, '<none>');
  assert.match(plain.CreatedAt!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+$/);
  // Go templates.
  const tpl = (await cairnOk(root, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n');
  assert.ok(tpl.includes('bb:plain'));
  const tbl = (await cairnOk(root, ['images', '--format', 'table {{.Repository}}\t{{.Tag}}'])).stdout.split('\n')[0]!;
  assert.deepEqual(tbl.split(/ {3,}/), ['REPOSITORY', 'TAG']);
});

test('images filters: reference, dangling; repository argument', async () => {
  const ref = (await cairnOk(root, ['images', '--filter', 'reference=bb:g*', '--format', '{{.Tag}}'])).stdout.trim().split('\n');
  assert.deepEqual(ref, ['gzip']);
  // A malformed pattern fails at the first name it meets, as Docker's daemon matches name by
  // name: an error here, an empty listing in a store without a named image.
  const badPattern = await cairn(root, ['images', '-f', 'reference=[']);
  assert.deepEqual([badPattern.code, badPattern.stdout, badPattern.stderr], [1, '', 'Error: syntax error in pattern\n']);
  const empty = await cairnOk(join(dir.path, 'no-images'), ['images', '-f', 'reference=[']);
  assert.equal(empty.stdout, 'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
  const byRepo = (await cairnOk(root, ['images', 'bb:zstd', '--format', '{{.Tag}}'])).stdout.trim();
  assert.equal(byRepo, 'zstd');
  // Untag one image completely: it becomes dangling... (removing its only tag deletes it; so make one by re-tagging)
  const other = await makeTar([{ path: 'x', content: 'dangling' }]);
  await cairnOk(root, ['import', '-', 'dang:1'], { input: other });
  await cairnOk(root, ['import', '-', 'dang:1'], { input: await makeTar([{ path: 'x', content: 'replacement' }]) });
  const dangling = (await cairnOk(root, ['images', '-f', 'dangling=true', '--format', '{{.Repository}} {{.Tag}}'])).stdout.trim().split('\n');
  assert.deepEqual(dangling, ['<none> <none>']);
  const bad = await cairn(root, ['images', '-f', 'bogus=1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: Invalid filter 'bogus'\n$/);
  // Clean up the dangling image by ID.
  const id = (await cairnOk(root, ['images', '-q', '-f', 'dangling=true'])).stdout.trim();
  const rm = await cairnOk(root, ['rmi', id]);
  // The image, then its layer (a one-layer image: chainID = diffID), as Docker prints them.
  assert.match(rm.stdout, /^Deleted: sha256:[a-f0-9]{64}\nDeleted: sha256:[a-f0-9]{64}\n$/);
});

test('tag and rmi: untag vs delete, conflicts, unknown images, exit codes', async () => {
  const id = (await cairnOk(root, ['import', '-', 'first/app:1'], { input: await makeTar([{ path: 'f', content: 'rmi test' }]) })).stdout.trim();
  await cairnOk(root, ['tag', 'first/app:1', 'first/app:2']);
  await cairnOk(root, ['tag', id.slice(7, 19), 'second/app']);
  const tags = JSON.parse((await cairnOk(root, ['inspect', 'first/app:1'])).stdout)[0].RepoTags as string[];
  assert.deepEqual(tags.sort(), ['first/app:1', 'first/app:2', 'second/app:latest']);
  // By ID with names in two repositories: refused without -f (Docker's message).
  const c = await cairn(root, ['rmi', id]);
  assert.equal(c.code, 1);
  assert.equal(c.stderr, `Error: conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories\n`);
  // By name: untag only while other names remain.
  assert.equal((await cairnOk(root, ['rmi', 'first/app:2'])).stdout, 'Untagged: first/app:2\n');
  assert.equal((await cairnOk(root, ['image', 'rm', 'second/app'])).stdout, 'Untagged: second/app:latest\n');
  // Last name: untag and delete; the blobs of the image go with it.
  const layer = (JSON.parse((await cairnOk(root, ['inspect', id])).stdout)[0].RootFS.Layers as string[])[0]!;
  const last = await cairnOk(root, ['rmi', 'first/app:1']);
  assert.equal(last.stdout, `Untagged: first/app:1\nDeleted: ${id}\nDeleted: ${layer}\n`);
  assert.equal((await cairn(root, ['inspect', id])).code, 1);
  const none = await cairn(root, ['rmi', 'nosuch:1']);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'Error: No such image: nosuch:1\n');
  // -f deletes an image named in several repositories.
  const id2 = (await cairnOk(root, ['import', '-', 'x/a'], { input: await makeTar([{ path: 'f', content: 'force' }]) })).stdout.trim();
  await cairnOk(root, ['tag', 'x/a', 'y/b']);
  const f = await cairnOk(root, ['rmi', '-f', id2]);
  assert.deepEqual(f.stdout.trim().split('\n').slice(0, 3), ['Untagged: x/a:latest', 'Untagged: y/b:latest', `Deleted: ${id2}`]);
  assert.match(f.stdout.trim().split('\n')[3]!, /^Deleted: sha256:[a-f0-9]{64}$/);
  const badTag = await cairn(root, ['tag', 'bb:plain', 'user/Busybox']);
  assert.equal(badTag.code, 1);
  // Docker's client refuses it before asking its daemon: bare, in Docker 20.10's words
  assert.equal(badTag.stderr, 'Error parsing reference: "user/Busybox" is not a valid repository/tag: invalid reference format: repository name must be lowercase\n');
  const flag = await cairn(root, ['images', '--bogus']);
  assert.equal(flag.code, 125);
  assert.equal(flag.stderr, "unknown flag: --bogus\nSee 'cairn images --help'.\n");
});

test('history: <missing> below the top, sizes, -H=false, --no-trunc, --format json', async () => {
  const l1 = await makeTar([{ path: 'a', content: 'a'.repeat(2000) }]);
  const l2 = await makeTar([{ path: 'b', content: 'b' }]);
  const longCmd = '/bin/sh -c echo "$GREETING" > /greeting && rm -f /derived-symlink';
  const archive = await makeDockerArchive([{
    layers: [l1, l2],
    repoTags: ['hist:1'],
    config: {
      history: [
        { created: '2023-11-14T22:13:20Z', created_by: '/bin/sh -c #(nop) ADD file:abc in / ' },
        { created: '2023-11-14T22:13:21Z', created_by: '/bin/sh -c #(nop)  ENV A=1', empty_layer: true },
        { created: '2023-11-14T22:13:22Z', created_by: longCmd, comment: 'a comment' },
      ],
    },
  }]);
  await cairnOk(root, ['load'], { input: archive });
  const h = (await cairnOk(root, ['history', 'hist:1'])).stdout.trimEnd().split('\n');
  const refHeader = readFileSync(join(REF, 'history.txt'), 'utf8').split('\n')[1]!;
  assert.deepEqual(h[0]!.trimEnd().split(/ {3,}/), refHeader.trimEnd().split(/ {3,}/));
  assert.equal(h.length, 4);
  const rows = h.slice(1).map((l) => l.split(/ {3,}/));
  assert.match(rows[0]![0]!, /^[a-f0-9]{12}$/, 'the top entry carries the image ID');
  assert.equal(rows[1]![0], '<missing>');
  assert.equal(rows[2]![0], '<missing>');
  assert.equal(rows[0]![2], '/bin/sh -c echo "$GREETING" > /greeting && r…', 'CREATED BY cut to 45 characters like Docker');
  assert.equal(rows[0]![3], '1B', "the layer's files' bytes, as Docker counts them (not its tar's)");
  assert.equal(rows[0]![4], 'a comment');
  assert.equal(rows[1]![3], '0B');
  assert.equal(rows[2]![3], humanSize(2000));
  const raw = (await cairnOk(root, ['history', '-H=false', '--no-trunc', 'hist:1'])).stdout.split('\n');
  assert.match(raw[0]!, /^IMAGE {3,}CREATED AT {3,}CREATED BY {3,}SIZE {3,}COMMENT$/);
  assert.ok(raw[1]!.includes(longCmd));
  assert.match(raw[1]!, /^sha256:[a-f0-9]{64} {3,}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) /);
  assert.ok(raw[3]!.includes(' 2000 '), 'raw byte size');
  const json = (await cairnOk(root, ['history', '--format', 'json', 'hist:1'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(Object.keys(json[0]!), ['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']);
  assert.equal(json[1]!.ID, '<missing>');
  const q = (await cairnOk(root, ['history', '-q', 'hist:1'])).stdout.trim().split('\n');
  assert.equal(q.length, 3);
  assert.equal(q[1], '<missing>');
});

test('inspect: Docker-compatible keys and values', async () => {
  const [i] = JSON.parse((await cairnOk(root, ['inspect', 'hist:1'])).stdout) as Array<Record<string, unknown>>;
  const refKeys = Object.keys((JSON.parse(readFileSync(join(REF, 'inspect-image.json'), 'utf8')) as Array<Record<string, unknown>>)[0]!);
  assert.deepEqual(Object.keys(i!), refKeys);
  assert.equal(i!.Created, '2023-11-14T22:13:20Z');
  assert.deepEqual(i!.RepoTags, ['hist:1']);
  assert.equal(i!.Architecture, 'amd64');
  assert.equal((i!.RootFS as { Layers: string[] }).Layers.length, 2);
  const refConfigKeys = Object.keys((JSON.parse(readFileSync(join(REF, 'inspect-image.json'), 'utf8')) as Array<{ Config: Record<string, unknown> }>)[0]!.Config).filter((k) => k !== 'ExposedPorts');
  assert.deepEqual(Object.keys(i!.Config as object), refConfigKeys);
  const fmt = (await cairnOk(root, ['inspect', '-f', '{{.Id}} {{.Os}}', 'hist:1'])).stdout;
  assert.equal(fmt, `${i!.Id} linux\n`);
  const missing = await cairn(root, ['inspect', 'hist:1', 'nosuch']);
  assert.equal(missing.code, 1);
  assert.equal((JSON.parse(missing.stdout) as unknown[]).length, 1, 'found images are still printed');
  // (Docker's `inspect` looks for any object: "No such object"; `image inspect` says "No such image")
  assert.match(missing.stderr, /^Error: No such object: nosuch\n$/);
});

test('version and info', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const v = await cairnOk(root, ['--version']);
  assert.equal(v.stdout.trim(), pkg.version);
  const vj = JSON.parse((await cairnOk(root, ['version', '--format', 'json'])).stdout) as { Client: { Version: string } };
  assert.equal(vj.Client.Version, pkg.version);
  const info = JSON.parse((await cairnOk(root, ['info', '--format', 'json'])).stdout) as { Images: number; RootDir: string };
  assert.equal(info.RootDir, root);
  const n = (await cairnOk(root, ['images', '-a', '-q', '--no-trunc'])).stdout.trim().split('\n');
  assert.equal(info.Images, new Set(n).size);
});

test('the root comes from --root, else CAIRN_ROOT', async () => {
  const other = join(dir.path, 'env-root');
  const r = await cairn(root, ['info', '--format', 'json']);
  assert.equal(JSON.parse(r.stdout).RootDir, root);
  const { spawnSync } = await import('node:child_process');
  const e = spawnSync(process.execPath, [join(REPO, 'bin', 'cairn.js'), 'info', '--format', 'json'], { env: { ...process.env, CAIRN_ROOT: other } });
  assert.equal(e.status, 0, e.stderr.toString());
  assert.equal(JSON.parse(e.stdout.toString()).RootDir, other);
});

test('inspect -f with a field the image does not have fails as Docker (map has no entry for key); save to a missing directory fails in one line', async () => {
  const dir = await tempDir();
  try {
    const root = join(dir.path, 'root');
    await cairnOk(root, ['import', '-', 'edge:1'], { input: await makeTar([{ path: 'f', content: 'x' }]) });
    const nope = await cairn(root, ['inspect', '-f', '{{.Nope}}', 'edge:1']);
    assert.deepEqual([nope.code, nope.stdout, nope.stderr], [1, '\n', 'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n']);
    const missing = join(dir.path, 'no', 'such', 'dir');
    const r = await cairn(root, ['save', '-o', join(missing, 'x.tar'), 'edge:1']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `failed to save image: invalid output path: directory "${missing}" does not exist\n`, "bare, as Docker's CLI says what it finds itself");
    // As docker save: nothing on stdout or stderr.
    await cairnOk(root, ['import', '-', 'edge:2'], { input: await makeTar([{ path: 'big', content: Buffer.alloc(2 << 20, 1) }]) });
    const ok = await cairnOk(root, ['save', '-o', join(dir.path, 'edge.tar'), 'edge:2']);
    assert.deepEqual([ok.stdout, ok.stderr], ['', '']);
  } finally {
    await dir.cleanup();
  }
});
