/**
 * Bad input loses nothing (issue 3, point 6): each kind of broken archive, reference, root or
 * store is crafted here and fed to the real CLI on a fresh copy of a seeded store. Every case
 * checks that the command fails with its exit code and one clear `Error: ...` line naming the
 * problem, that nothing changed (blob files, the image list, `info`), that no ingest or scratch
 * file was left behind, and that a later good `load` on the same root works.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { readTar, type TarEntryType } from '../src/tar/index.js';
import { CAIRN, cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, snapshotTree, tarBytes, tempDir } from './helpers.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// --- archives as member lists, to edit good archives -----------------------------------------

interface Member {
  name: string;
  type: TarEntryType;
  data: Buffer;
  linkname?: string;
}

async function membersOf(archive: Buffer): Promise<Member[]> {
  const out: Member[] = [];
  for await (const e of readTar(archive)) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(Buffer.from(c));
    out.push({ name: e.header.name, type: e.header.type, data: Buffer.concat(chunks), ...(e.header.linkname ? { linkname: e.header.linkname } : {}) });
  }
  return out;
}

function tarOf(members: Member[]): Promise<Buffer> {
  return tarBytes(async (tar) => {
    for (const m of members) {
      if (m.type === 'file') await tar.add({ name: m.name, size: m.data.length, mtime: 0 }, m.data);
      else await tar.add({ name: m.name, type: m.type, mtime: 0, ...(m.linkname !== undefined ? { linkname: m.linkname } : {}) });
    }
  });
}

function member(ms: Member[], name: string): Member {
  const m = ms.find((x) => x.name === name);
  assert.ok(m, `fixture has no member ${name}: ${ms.map((x) => x.name).join(', ')}`);
  return m;
}

/** A copy of `archive` with `fn` applied to its member list. */
async function edited(archive: Buffer, fn: (ms: Member[]) => Member[] | void): Promise<Buffer> {
  const ms = (await membersOf(archive)).map((m) => ({ ...m, data: Buffer.from(m.data) }));
  return tarOf(fn(ms) ?? ms);
}

function setJson(ms: Member[], name: string, v: unknown): void {
  member(ms, name).data = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
}

function flipMiddle(b: Buffer, n = 64): void {
  const at = Math.floor(b.length / 2);
  for (let i = at; i < at + n; i++) b[i] = b[i]! ^ 0xff;
}

/** Byte offsets of each member's header and data in a tar. */
async function offsets(archive: Buffer): Promise<Array<{ name: string; headerOffset: number; dataOffset: number; size: number }>> {
  const out = [];
  for await (const e of readTar(archive)) {
    out.push({ name: e.header.name, headerOffset: e.headerOffset, dataOffset: e.dataOffset, size: e.header.size });
    for await (const _ of e.body) { /* skip */ }
  }
  return out;
}

// --- fixtures ------------------------------------------------------------------------------

let dir: { path: string; cleanup: () => Promise<void> };
let template: string;
let L1: Buffer; // in the seeded store already (as image shared:1) and in the good archives
let L2: Buffer;
let goodLegacy: Buffer; // docker save of Docker 20.10: <hex>/layer.tar, <hex>.json, manifest.json
let goodDocker: Buffer; // cairn save: OCI layout + manifest.json
let goodOci: Buffer; // cairn save --format oci-archive
let goodOciGzip: Buffer; // oci-archive of an image with a gzip layer
let goodFile: string;
let seq = 0;

const LAYER_HEX = (b: Buffer) => `blobs/sha256/${hex(b)}`;

before(async () => {
  dir = await tempDir('cairn-bad-input-');
  L1 = await makeTar([{ path: 'data/', type: 'dir' }, { path: 'data/one.bin', content: randomBytesSeeded(256 * 1024, 1) }]);
  L2 = await makeTar([{ path: 'data/two.txt', content: 'cairn '.repeat(40_000) }, { path: 'data/three.bin', content: randomBytesSeeded(64 * 1024, 3) }]);
  goodLegacy = await makeDockerArchive([{ layers: [L1, L2], repoTags: ['good:1'] }]);

  // A source store to `cairn save` the good archives from.
  const src = join(dir.path, 'src');
  await writeFile(join(dir.path, 'legacy.tar'), goodLegacy);
  await cairnOk(src, ['load', '-q', '-i', join(dir.path, 'legacy.tar')]);
  await cairnOk(src, ['save', '-o', join(dir.path, 'good-docker.tar'), 'good:1']);
  await cairnOk(src, ['save', '--format', 'oci-archive', '-o', join(dir.path, 'good-oci.tar'), 'good:1']);
  await cairnOk(src, ['import', '-', 'gz:1'], { input: gzipSync(L2) });
  await cairnOk(src, ['save', '--format', 'oci-archive', '-o', join(dir.path, 'good-oci-gz.tar'), 'gz:1']);
  goodDocker = readFileSync(join(dir.path, 'good-docker.tar'));
  goodOci = readFileSync(join(dir.path, 'good-oci.tar'));
  goodOciGzip = readFileSync(join(dir.path, 'good-oci-gz.tar'));
  goodFile = join(dir.path, 'good-docker.tar');

  // The seeded store every case starts from: two images, one sharing layer L1 with the archives.
  template = join(dir.path, 'template');
  await cairnOk(template, ['import', '-', 'shared:1'], { input: L1 });
  await cairnOk(template, ['import', '-', 'base:1'], { input: await makeTar([{ path: 'etc/hostname', content: 'base\n' }]) });
});
after(() => dir.cleanup());

async function freshRoot(): Promise<string> {
  const root = join(dir.path, `root-${++seq}`);
  await cp(template, root, { recursive: true });
  return root;
}

async function archiveFile(b: Buffer): Promise<string> {
  const p = join(dir.path, `input-${++seq}.tar`);
  await writeFile(p, b);
  return p;
}

// --- the checks ------------------------------------------------------------------------------

interface State {
  blobs: Map<string, string>;
  /** Unpacked layers: snapshot directories per driver. */
  snapshots: string[];
  images: unknown[];
  info: unknown;
}

async function state(root: string): Promise<State> {
  const images = (await cairnOk(root, ['images', '-a', '--no-trunc', '--format', 'json'])).stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      delete o.CreatedSince; // relative time: changes while the test runs
      return o;
    });
  const info = JSON.parse((await cairnOk(root, ['info', '--format', 'json'])).stdout) as unknown;
  const snaps = join(root, 'snapshots');
  const snapshots = existsSync(snaps) ? readdirSync(snaps).flatMap((d) => readdirSync(join(snaps, d)).map((id) => `${d}/${id}`)).sort() : [];
  return { blobs: snapshotTree(join(root, 'content', 'blobs')), snapshots, images, info };
}

function assertOneLineError(r: { code: number; stdout: string; stderr: string }, exitCode: number, pattern: RegExp): string {
  assert.equal(r.code, exitCode, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  // One error line, the last — `Error: …`, or bare for what Docker's CLI finds on the host
  // itself (`open FILE: no such file or directory`) — after nothing but progress lines.
  const error = lines.at(-1) ?? '';
  assert.ok(lines.slice(0, -1).every((l) => /^[0-9a-f]{12}: /.test(l)), `exactly one error line on stderr, got:\n${r.stderr}`);
  assert.ok(!lines.some((l) => /^\s+at /.test(l)), `no stack trace:\n${r.stderr}`);
  assert.match(error, pattern);
  return error;
}

function assertNoLeftovers(root: string): void {
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'ingest area is empty');
  assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'scratch area is empty');
}

/** A good load and reads on the same root work after a failure. */
async function laterWorks(root: string): Promise<void> {
  const r = await cairnOk(root, ['load', '-i', goodFile]);
  assert.match(r.stdout, /^Loaded image: good:1$/m);
  const inspect = JSON.parse((await cairnOk(root, ['inspect', 'good:1', 'shared:1', 'base:1'])).stdout) as Array<{ RootFS: { Layers: string[] } }>;
  assert.deepEqual(inspect[0]!.RootFS.Layers, [sha(L1), sha(L2)]);
  assert.deepEqual(inspect[1]!.RootFS.Layers, [sha(L1)]);
  // save reads every blob of every image: all are present and intact.
  const out = join(dir.path, `resave-${++seq}.tar`);
  await cairnOk(root, ['save', '-o', out, 'good:1', 'shared:1', 'base:1']);
  const names = (await offsets(readFileSync(out))).map((o) => o.name);
  assert.ok(names.includes(LAYER_HEX(L1)) && names.includes(LAYER_HEX(L2)), names.join(', '));
  assertNoLeftovers(root);
}

/**
 * Run a command that must fail on a fresh seeded root; check the error, that the store is
 * unchanged and clean, and that later commands work. Returns the error line.
 */
async function failsCleanly(args: string[], pattern: RegExp, opts: { input?: Buffer; exitCode?: number } = {}): Promise<string> {
  const root = await freshRoot();
  const beforeState = await state(root);
  const r = await cairn(root, args, opts.input ? { input: opts.input } : {});
  const line = assertOneLineError(r, opts.exitCode ?? 1, pattern);
  assertNoLeftovers(root); // before any other cairn command could clean up
  assert.deepEqual(await state(root), beforeState, 'the store is exactly as before');
  await laterWorks(root);
  return line;
}

/** `cairn load` with the archive on stdin; cairn may fail and exit before reading it all. */
function loadStdin(root: string, input: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAIRN, '--root', root, 'load'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      // cairn stopped reading after finding the archive bad: expected, the exit status tells.
      if (e.code !== 'EPIPE') reject(e);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(input);
  });
}

async function loadFails(archive: Buffer, pattern: RegExp): Promise<string> {
  const file = await archiveFile(archive);
  const line = await failsCleanly(['load', '-i', file], pattern);
  // Docker's CLI prints a failed load's message bare: it comes in its daemon's response stream
  assert.ok(!line.startsWith('Error: '), line);
  // The same through stdin, on a fresh root: the same error, nothing changed, nothing left over.
  const root = await freshRoot();
  const beforeState = await state(root);
  const r = await loadStdin(root, archive);
  assertOneLineError(r, 1, pattern);
  assertNoLeftovers(root);
  assert.deepEqual(await state(root), beforeState, 'the store is exactly as before (stdin)');
  return line;
}

// Every case runs on its own copy of the seeded store, so they run a few at a time.
describe('bad input', { concurrency: 2 }, () => {
  // --- truncated and corrupted archives --------------------------------------------------------

  test('fixtures: the good archives load', async () => {
    for (const a of [goodLegacy, goodDocker, goodOci]) {
      const root = await freshRoot();
      const r = await cairnOk(root, ['load', '-i', await archiveFile(a)]);
      assert.match(r.stdout, /good:1/);
    }
    const root = await freshRoot();
    assert.match((await cairnOk(root, ['load', '-i', await archiveFile(goodOciGzip)])).stdout, /gz:1/);
  });

  test('truncated archive: cut in the middle of a layer', async () => {
    const at = (await offsets(goodDocker)).find((o) => o.name === LAYER_HEX(L2))!;
    const cut = goodDocker.subarray(0, at.dataOffset + Math.floor(at.size / 2));
    await loadFails(cut, new RegExp(`^tar: truncated archive: entry "${LAYER_HEX(L2)}"`));
  });

  test('truncated archive: cut in the middle of a header (after every blob went in)', async () => {
    const os = await offsets(goodDocker);
    const last = os[os.length - 1]!;
    assert.equal(last.name, 'oci-layout');
    // Every blob, index.json and manifest.json were read before the cut.
    await loadFails(goodDocker.subarray(0, last.headerOffset + 200), /^tar: truncated archive: EOF inside a header/);
  });

  test('truncated legacy archive: manifest.json cut short', async () => {
    const at = (await offsets(goodLegacy)).find((o) => o.name === 'manifest.json')!;
    await loadFails(goodLegacy.subarray(0, at.dataOffset + 20), /^tar: truncated archive: entry "manifest\.json"/);
  });

  test('corrupted archive: bytes flipped inside a layer blob (docker-archive) -> digest mismatch', async () => {
    const bad = await edited(goodDocker, (ms) => flipMiddle(member(ms, LAYER_HEX(L2)).data));
    await loadFails(bad, new RegExp(`^archive member ${LAYER_HEX(L2)}: digest mismatch: got sha256:[a-f0-9]{64}, expected ${sha(L2)}`));
  });

  test('corrupted archive: bytes flipped inside a layer blob (oci-archive) -> digest mismatch', async () => {
    // (L2: the store does not hold it yet. A blob the store already holds is not read again.)
    const bad = await edited(goodOci, (ms) => flipMiddle(member(ms, LAYER_HEX(L2)).data));
    await loadFails(bad, new RegExp(`^archive member ${LAYER_HEX(L2)}: digest mismatch: got sha256:[a-f0-9]{64}, expected ${sha(L2)}`));
  });

  test('corrupted archive: bytes flipped inside a gzip layer -> gzip error naming the layer', async () => {
    const gz = gzipSync(L2);
    const legacy = await makeDockerArchive([{ layers: [L1, gz], repoTags: ['gz:1'], config: { rootfs: { type: 'layers', diff_ids: [sha(L1), sha(L2)] } } }]);
    // The untouched archive loads (the gzip layer's diffID is its tar's digest).
    const ok = await freshRoot();
    await cairnOk(ok, ['load', '-i', await archiveFile(legacy)]);
    const bad = await edited(legacy, (ms) => flipMiddle(member(ms, `${hex(gz)}/layer.tar`).data, 16));
    await loadFails(bad, new RegExp(`^.*${hex(gz)}/layer\\.tar.*gzip: `));
  });

  test('corrupted archive: garbage that is not a tar', async () => {
    await loadFails(randomBytesSeeded(100_000, 7), /^tar: header checksum mismatch at offset 0 .*not a tar archive/);
  });

  test('corrupted archive: gzip-compressed garbage', async () => {
    await loadFails(gzipSync(randomBytesSeeded(10_000, 8)), /^tar: /);
  });

  test('an empty input is not an image archive', async () => {
    await loadFails(Buffer.alloc(0), /^.*(not an image archive|empty)/);
  });

  test('a tar that is not an image archive', async () => {
    await loadFails(await makeTar([{ path: 'hello.txt', content: 'hi' }]), /^not an image archive: it has neither manifest\.json .* nor index\.json/);
  });

  // --- digest and size mismatches, missing blobs ------------------------------------------------

  test('config rootfs.diff_ids does not match the layer', async () => {
    const wrong = sha(Buffer.from('not the layer'));
    const bad = await makeDockerArchive([{ layers: [L1, L2], repoTags: ['good:1'], config: { rootfs: { type: 'layers', diff_ids: [sha(L1), wrong] } } }]);
    await loadFails(bad, new RegExp(`^manifest\\.json\\[0\\]: layer 1 \\(${hex(L2)}/layer\\.tar\\): diffID mismatch: the config names ${wrong}, the layer's content is ${sha(L2)}`));
  });

  test('config names fewer layers than manifest.json', async () => {
    const bad = await makeDockerArchive([
      { layers: [L1, L2], repoTags: ['good:1'], config: { rootfs: { type: 'layers', diff_ids: [sha(L1)] }, history: [{ created_by: 'one layer' }] } },
    ]);
    await loadFails(bad, /^manifest\.json\[0\]: the config names 1 layers but the manifest has 2$/);
  });

  test('oci-archive: manifest descriptor size does not match the layer blob', async () => {
    const bad = await edited(goodOci, (ms) => {
      const idx = JSON.parse(member(ms, 'index.json').data.toString()) as { manifests: Array<{ digest: string; size: number }> };
      const mPath = `blobs/sha256/${idx.manifests[0]!.digest.slice(7)}`;
      const m = JSON.parse(member(ms, mPath).data.toString()) as { layers: Array<{ size: number }> };
      m.layers[1]!.size += 1;
      const raw = Buffer.from(JSON.stringify(m));
      const mm = member(ms, mPath);
      mm.data = raw;
      mm.name = `blobs/sha256/${hex(raw)}`;
      idx.manifests[0]!.digest = sha(raw);
      idx.manifests[0]!.size = raw.length;
      setJson(ms, 'index.json', idx);
    });
    await loadFails(bad, /^manifest sha256:[a-f0-9]{64} layers\[1\]: size mismatch: the manifest says \d+ bytes, the blob has \d+/);
  });

  test('a layer named in manifest.json is missing from the archive', async () => {
    const bad = await edited(goodLegacy, (ms) => ms.filter((m) => !m.name.startsWith(`${hex(L2)}/`)));
    await loadFails(bad, new RegExp(`^manifest\\.json\\[0\\]\\.Layers\\[1\\] "${hex(L2)}/layer\\.tar" is missing from the archive`));
  });

  test('the config named in manifest.json is missing from the archive', async () => {
    const bad = await edited(goodLegacy, (ms) => ms.filter((m) => !m.name.endsWith('.json') || m.name === 'manifest.json'));
    await loadFails(bad, /^manifest\.json\[0\]\.Config "[a-f0-9]{64}\.json" is missing from the archive/);
  });

  test('a manifest named in index.json is missing from the archive', async () => {
    let digest = '';
    const bad = await edited(goodOci, (ms) => {
      digest = (JSON.parse(member(ms, 'index.json').data.toString()) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
      return ms.filter((m) => m.name !== `blobs/sha256/${digest.slice(7)}`);
    });
    await loadFails(bad, new RegExp(`^index\\.json manifests\\[0\\] "blobs/sha256/${digest.slice(7)}" is missing from the archive`));
  });

  test('a layer blob named by the OCI manifest is missing from the archive', async () => {
    const bad = await edited(goodOci, (ms) => ms.filter((m) => m.name !== LAYER_HEX(L2)));
    await loadFails(bad, new RegExp(`^manifest sha256:[a-f0-9]{64} layers\\[1\\] "${LAYER_HEX(L2)}" is missing from the archive`));
  });

  // --- manifest.json and index.json of the wrong shape, invalid JSON ---------------------------

  test('manifest.json: an object instead of an array', async () => {
    const bad = await edited(goodLegacy, (ms) => setJson(ms, 'manifest.json', { Config: 'x.json', Layers: [] }));
    await loadFails(bad, /^manifest\.json: expected an array of images$/);
  });

  test('manifest.json: Layers is not an array', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const m = JSON.parse(member(ms, 'manifest.json').data.toString()) as Array<Record<string, unknown>>;
      m[0]!.Layers = `${hex(L1)}/layer.tar`;
      setJson(ms, 'manifest.json', m);
    });
    await loadFails(bad, /^manifest\.json\[0\]\.Layers: expected an array of string paths$/);
  });

  test('manifest.json: Config missing', async () => {
    const bad = await edited(goodDocker, (ms) => {
      const m = JSON.parse(member(ms, 'manifest.json').data.toString()) as Array<Record<string, unknown>>;
      delete m[0]!.Config;
      setJson(ms, 'manifest.json', m);
    });
    await loadFails(bad, /^manifest\.json\[0\]\.Config: expected a string path$/);
  });

  test('manifest.json: an empty array', async () => {
    const bad = await edited(goodLegacy, (ms) => setJson(ms, 'manifest.json', []));
    await loadFails(bad, /^manifest\.json: no images in the archive$/);
  });

  test('manifest.json: RepoTags is not an array of strings', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const m = JSON.parse(member(ms, 'manifest.json').data.toString()) as Array<Record<string, unknown>>;
      m[0]!.RepoTags = [1];
      setJson(ms, 'manifest.json', m);
    });
    await loadFails(bad, /^manifest\.json\[0\]\.RepoTags: expected an array of strings$/);
  });

  test('manifest.json: invalid JSON', async () => {
    const bad = await edited(goodLegacy, (ms) => setJson(ms, 'manifest.json', '[{"Config": '));
    await loadFails(bad, /^manifest\.json: invalid JSON: /);
  });

  test('image config: invalid JSON', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const cfg = ms.find((m) => /^[a-f0-9]{64}\.json$/.test(m.name))!;
      cfg.data = Buffer.from('{"rootfs": ');
    });
    await loadFails(bad, /^image config [a-f0-9]{64}\.json: .*JSON/i);
  });

  test('index.json: no manifests', async () => {
    const bad = await edited(goodOci, (ms) => setJson(ms, 'index.json', { schemaVersion: 2 }));
    await loadFails(bad, /^index\.json: .*manifests/);
  });

  test('index.json: a manifests entry with a bad digest string', async () => {
    const bad = await edited(goodOci, (ms) => {
      const idx = JSON.parse(member(ms, 'index.json').data.toString()) as { manifests: Array<{ digest: string }> };
      idx.manifests[0]!.digest = 'sha256:zz';
      setJson(ms, 'index.json', idx);
    });
    await loadFails(bad, /^index\.json: manifests\[0\]\.digest: .*"sha256:zz"/);
  });

  test('index.json: a manifests entry with a bad mediaType', async () => {
    const bad = await edited(goodOci, (ms) => {
      const idx = JSON.parse(member(ms, 'index.json').data.toString()) as { manifests: Array<{ mediaType: unknown }> };
      idx.manifests[0]!.mediaType = 'not a media type';
      setJson(ms, 'index.json', idx);
    });
    await loadFails(bad, /^index\.json: manifests\[0\]\.mediaType: /);
  });

  test('index.json: invalid JSON', async () => {
    const bad = await edited(goodOci, (ms) => setJson(ms, 'index.json', '{"manifests": [}'));
    await loadFails(bad, /^index\.json: .*JSON/i);
  });

  test('index.json: an array instead of an object', async () => {
    const bad = await edited(goodOci, (ms) => setJson(ms, 'index.json', []));
    await loadFails(bad, /^index\.json: /);
  });

  test('oci-layout: missing imageLayoutVersion', async () => {
    const bad = await edited(goodOci, (ms) => setJson(ms, 'oci-layout', {}));
    await loadFails(bad, /^oci-layout: .*imageLayoutVersion/);
  });

  test('a layer that is not a tar, though its digests are consistent', async () => {
    const junk = randomBytesSeeded(20_000, 11);
    const bad = await makeDockerArchive([{ layers: [L1, junk], repoTags: ['good:1'] }]);
    await loadFails(bad, new RegExp(`^.*(${hex(junk)}|layer ${sha(junk)}).*tar`));
  });

  test('a layer whose entry climbs out of the root file system (fails while unpacking)', async () => {
    const evil = await makeTar([{ path: 'ok', content: 'y' }, { path: '../../../../../../tmp/cairn-escaped', content: 'x' }]);
    const archive = await makeDockerArchive([{ layers: [L2, evil], repoTags: ['evil:1'] }]);
    await loadFails(archive, /^layer sha256:[a-f0-9]{64}: entry "\.\.\/.*cairn-escaped": has a '\.\.' component$/);
    assert.ok(!existsSync('/tmp/cairn-escaped'), 'nothing written outside the snapshot');
  });

  // --- member paths pointing outside the archive -----------------------------------------------

  test('a member named ../evil', async () => {
    const bad = await edited(goodLegacy, (ms) => [{ name: '../evil', type: 'file' as const, data: Buffer.from('x') }, ...ms]);
    await loadFails(bad, /^archive member "\.\.\/evil" points outside the archive$/);
    assert.ok(!existsSync(join(dir.path, 'evil')) && !existsSync(join(dir.path, '..', 'evil')));
  });

  test('a member with an absolute path', async () => {
    const bad = await edited(goodLegacy, (ms) => [...ms.slice(0, 1), { name: '/abs', type: 'file' as const, data: Buffer.from('x') }, ...ms.slice(1)]);
    await loadFails(bad, /^archive member "\/abs" is an absolute path: it points outside the archive$/);
  });

  test('a Layers entry ../../etc/passwd', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const m = JSON.parse(member(ms, 'manifest.json').data.toString()) as Array<{ Layers: string[] }>;
      m[0]!.Layers[1] = '../../etc/passwd';
      setJson(ms, 'manifest.json', m);
    });
    await loadFails(bad, /^manifest\.json\[0\]\.Layers\[1\] "\.\.\/\.\.\/etc\/passwd" points outside the archive$/);
  });

  test('a symlink member pointing outside the archive', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const l = member(ms, `${hex(L2)}/layer.tar`);
      l.type = 'symlink';
      l.linkname = '../../../etc/passwd';
      l.data = Buffer.alloc(0);
    });
    await loadFails(bad, new RegExp(`^archive member "${hex(L2)}/layer\\.tar" link target .* points outside the archive$`));
  });

  test('a symlink member with an absolute target', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const l = member(ms, `${hex(L2)}/layer.tar`);
      l.type = 'symlink';
      l.linkname = '/etc/passwd';
      l.data = Buffer.alloc(0);
    });
    await loadFails(bad, /^archive member .* links to the absolute path "\/etc\/passwd": it points outside the archive$/);
  });

  test('a hard link member pointing outside the archive', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const l = member(ms, `${hex(L2)}/layer.tar`);
      l.type = 'hardlink';
      l.linkname = '../outside';
      l.data = Buffer.alloc(0);
    });
    await loadFails(bad, /points outside the archive$/);
  });

  test('symlink members that loop', async () => {
    const bad = await edited(goodLegacy, (ms) => {
      const l = member(ms, `${hex(L2)}/layer.tar`);
      l.type = 'symlink';
      l.linkname = 'loop';
      l.data = Buffer.alloc(0);
      ms.push({ name: `${hex(L2)}/loop`, type: 'symlink', data: Buffer.alloc(0), linkname: 'layer.tar' });
    });
    await loadFails(bad, /too many levels of links/);
  });

  // --- references that do not parse ------------------------------------------------------------

  test('tag: target references that do not parse', async () => {
    // Docker's client refuses them before asking its daemon: bare, in Docker 20.10's words.
    const refusal = (name: string, why: string): RegExp => new RegExp(`^Error parsing reference: "${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not a valid repository/tag: ${why}$`);
    await failsCleanly(['tag', 'base:1', 'UPPER'], refusal('UPPER', 'invalid reference format: repository name must be lowercase'));
    await failsCleanly(['tag', 'base:1', 'lower/UPPER:tag'], refusal('lower/UPPER:tag', 'invalid reference format: repository name must be lowercase'));
    await failsCleanly(['tag', 'base:1', 'UPPER/case'], refusal('UPPER/case', 'invalid reference format: repository name must be lowercase'));
    await failsCleanly(['tag', 'base:1', 'a:b:c'], refusal('a:b:c', 'invalid reference format'));
    await failsCleanly(['tag', 'base:1', 'base@sha256:zz'], refusal('base@sha256:zz', 'invalid reference format'));
    await failsCleanly(['tag', 'base:1', 'base@sha256:0000000000000000000000000000000000000000000000000000000000000000'], /^refusing to create a tag with a digest reference$/);
    await failsCleanly(['tag', 'base:1', 'sha256:x'], /^Error: refusing to create an ambiguous tag using digest algorithm as name$/);
  });

  test('import: a reference that does not parse', async () => {
    const tarFile = await archiveFile(await makeTar([{ path: 'x', content: 'x' }]));
    await failsCleanly(['import', tarFile, 'bad::ref'], /^invalid reference format$/);
    await failsCleanly(['import', tarFile, 'UPPER'], /^invalid reference format: repository name must be lowercase$/);
    await failsCleanly(['import', tarFile, `x@sha256:${'0'.repeat(64)}`], /^Error: cannot import digest reference$/);
    await failsCleanly(['import', tarFile, 'sha256:x'], /^Error: refusing to create an ambiguous tag using digest algorithm as name$/);
    await failsCleanly(['import', join(dir.path, 'no-such.tar')], /^open .*no-such\.tar: no such file or directory$/);
  });

  test('rmi, inspect, save, history, tag: a name that does not parse', async () => {
    await failsCleanly(['rmi', ':::'], /^Error: invalid reference format/);
    // Docker's `inspect` looks for any object by that name: none is found
    await failsCleanly(['inspect', ':::'], /^Error: No such object: :::$/);
    await failsCleanly(['image', 'inspect', ':::'], /^Error: no such image: :::: invalid reference format$/);
    await failsCleanly(['save', '-o', join(dir.path, 'never.tar'), ':::'], /^Error: invalid reference format/);
    await failsCleanly(['history', 'Upper'], /^Error: invalid reference format/);
    await failsCleanly(['tag', ':::', 'x:1'], /^Error parsing reference: ":::" is not a valid repository\/tag: invalid reference format$/);
    assert.ok(!existsSync(join(dir.path, 'never.tar')));
  });

  test('an archive whose RepoTags holds an invalid reference', async () => {
    const bad = await makeDockerArchive([{ layers: [L1, L2], repoTags: ['good:1', 'Bad::Tag'] }]);
    await loadFails(bad, /^manifest\.json\[0\]\.RepoTags: invalid tag "Bad::Tag": invalid reference format/);
  });

  test('an archive whose RepoTags holds a digest reference', async () => {
    const bad = await makeDockerArchive([{ layers: [L1, L2], repoTags: [`good@${sha(L1)}`] }]);
    await loadFails(bad, /^manifest\.json\[0\]\.RepoTags: .* is a digest reference, not a tag$/);
  });

  test('an OCI index whose image name annotation does not parse', async () => {
    const bad = await edited(goodOci, (ms) => {
      const idx = JSON.parse(member(ms, 'index.json').data.toString()) as { manifests: Array<{ annotations?: Record<string, string> }> };
      idx.manifests[0]!.annotations = { 'io.containerd.image.name': 'docker.io/library/NOPE:1' };
      setJson(ms, 'index.json', idx);
    });
    await loadFails(bad, /^index\.json manifests\[0\] annotations: invalid tag "docker\.io\/library\/NOPE:1"/);
  });

  test("a Parent whose history is not the child's minus one entry: refused in Docker's words, nothing recorded", async () => {
    const archive = await makeDockerArchive([
      { layers: [L1], repoTags: ['parent:1'] },
      { layers: [L1, L2], repoTags: ['child:1'], config: { history: [{ created: '2023-11-14T22:13:20Z', created_by: 'not the parent' }, { created: '2023-11-14T22:13:21Z', created_by: 'x' }] } },
    ]);
    let ids: string[] = [];
    const bad = await edited(archive, (ms) => {
      const m = JSON.parse(member(ms, 'manifest.json').data.toString()) as Array<{ Config: string; Parent?: string }>;
      ids = m.map((e) => `sha256:${e.Config.replace(/\.json$/, '')}`);
      m[1]!.Parent = ids[0]!;
      setJson(ms, 'manifest.json', m);
    });
    await loadFails(bad, new RegExp(`^image ${ids[0]} is not a valid parent for ${ids[1]}$`));
  });

  test('the second image of an archive is bad: the first is not recorded either', async () => {
    const L3 = await makeTar([{ path: 'three', content: 'three' }]);
    const bad = await makeDockerArchive([
      { layers: [L1, L2], repoTags: ['good:1'] },
      { layers: [L3], repoTags: ['other:1'], config: { rootfs: { type: 'layers', diff_ids: [sha(L1)] } } },
    ]);
    await loadFails(bad, /^manifest\.json\[1\]: layer 0 .*diffID mismatch/);
  });

  // --- unknown images, usage errors -------------------------------------------------------------

  test('unknown image: No such image, exit 1', async () => {
    for (const args of [['rmi', 'x'], ['image', 'inspect', 'x'], ['save', '-o', join(dir.path, 'x.tar'), 'x']]) {
      await failsCleanly(args, /^Error: No such image: x$/);
    }
    // Docker's daemon names a missing name with its default tag (GetImage)
    for (const args of [['history', 'x'], ['tag', 'x', 'y'], ['images', '-f', 'before=x']]) await failsCleanly(args, /^Error: No such image: x:latest$/);
    await failsCleanly(['save', '-o', join(dir.path, 'x.tar'), 'base:2'], /^Error: reference does not exist$/);
    await failsCleanly(['inspect', 'x'], /^Error: No such object: x$/);
    await failsCleanly(['rmi', 'base:2'], /^Error: No such image: base:2$/);
    await failsCleanly(['load', '-i', join(dir.path, 'does-not-exist.tar')], /^open .*does-not-exist\.tar: no such file or directory$/);
  });

  test('save: output paths Docker refuses, each said in one line as Docker says it, no partial archive', async () => {
    // Its own directory: the suite runs two tests at once, and the other's saves write temporaries into dir.path.
    const own = join(dir.path, 'save-outputs');
    await mkdir(own, { recursive: true });
    const out = (name: string): string => join(own, name);
    await failsCleanly(['save', '-o', join(own, 'no', 'such', 'x.tar'), 'base:1'], /^failed to save image: invalid output path: directory ".*\/no\/such" does not exist$/);
    await failsCleanly(['save', '-o', '/etc/passwd/x.tar', 'base:1'], /^failed to save image: stat \/etc\/passwd\/x\.tar: not a directory$/);
    await failsCleanly(['save', '-o', '/dev/null', 'base:1'], /^failed to save image: invalid output path: "\/dev\/null" must be a directory or a regular file: got a device$/);
    await failsCleanly(['save', '-o', '/proc/x.tar', 'base:1'], /^open \/proc\/\.x\.tar\.cairn-\d+: no such file or directory$/);
    await mkdir(out('a-directory'), { recursive: true });
    await failsCleanly(['save', '-o', out('a-directory'), 'base:1'], /^rename .*\.a-directory\.cairn-\d+ .*a-directory: file exists$/);
    assert.deepEqual(readdirSync(own).filter((n) => n.includes('.cairn-')), [], 'no temporary file is left');
  });

  test('load, import: a directory, a file that is not readable as asked', async () => {
    await mkdir(join(dir.path, 'a-dir'), { recursive: true });
    await failsCleanly(['load', '-i', join(dir.path, 'a-dir')], /^read .*a-dir: is a directory$/);
    await failsCleanly(['import', join(dir.path, 'a-dir')], /^read .*a-dir: is a directory$/);
    await failsCleanly(['load', '-i', '/etc/shadow-/x'], /^open \/etc\/shadow-\/x: not a directory$/);
  });

  test('images, history, tag, import --change: values Docker refuses, in its words', async () => {
    await failsCleanly(['images', '-f', 'bogus=1'], /^Error: Invalid filter 'bogus'$/);
    await failsCleanly(['images', '-f', 'dangling=maybe'], /^Error: Invalid filter 'dangling=\[maybe\]'$/);
    await failsCleanly(['images', '-f', 'reference=base['], /^Error: syntax error in pattern$/);
    await failsCleanly(['images', '-f', 'before='], /^Error: invalid reference format$/);
    await failsCleanly(['images', '-f', 'since=nosuch'], /^Error: No such image: nosuch:latest$/);
    await failsCleanly(['tag', 'base:1', 'a'.repeat(300)], /^Error parsing reference: "a+" is not a valid repository\/tag: repository name must not be more than 255 characters$/);
    const tarFile = await archiveFile(await makeTar([{ path: 'x', content: 'x' }]));
    await failsCleanly(['import', '-c', 'EXPOSE 99999', tarFile], /^Error: Invalid containerPort: 99999$/);
    await failsCleanly(['import', '-c', 'EXPOSE', tarFile], /^Error: EXPOSE requires at least one argument$/);
    await failsCleanly(['import', '-c', 'STOPSIGNAL 9', tarFile], /^Error: stopsignal is not a valid change command$/);
    await failsCleanly(['import', '-c', 'ENV A', tarFile], /^Error: ENV must have two arguments$/);
    const root = await freshRoot();
    const beforeState = await state(root);
    const r = await cairn(root, ['history', '-H=maybe', 'base:1']);
    assert.deepEqual(r, { code: 125, stdout: '', stderr: `invalid argument "maybe" for "-H, --human" flag: strconv.ParseBool: parsing "maybe": invalid syntax\nSee 'cairn history --help'.\n` });
    assert.deepEqual(await state(root), beforeState);
  });

  test('unknown flag: exit 125 with Docker\'s usage message', async () => {
    const root = await freshRoot();
    const beforeState = await state(root);
    for (const cmd of [['load', '--bogus'], ['images', '--bogus'], ['rmi', '--bogus', 'base:1'], ['save', '--format', 'zip', 'base:1']]) {
      const r = await cairn(root, cmd);
      assert.equal(r.code, 125, `${cmd.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const [first, second] = r.stderr.split('\n');
      if (cmd[1] === '--bogus') assert.equal(first, 'unknown flag: --bogus');
      else assert.match(first!, /zip/);
      assert.match(second!, new RegExp(`^See 'cairn ${cmd[0]} --help'\\.$`));
    }
    assert.deepEqual(await state(root), beforeState);
    await laterWorks(root);
  });
});

// --- the root directory and the store itself -------------------------------------------------

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test('a root on a read-only file system', async () => {
  const mnt = join(dir.path, 'ro');
  await mkdir(mnt);
  sh('mount', ['-t', 'tmpfs', '-o', 'ro', 'tmpfs', mnt]);
  try {
    for (const root of [mnt, join(mnt, 'sub')]) {
      const r = await cairn(root, ['images']);
      assertOneLineError(r, 1, new RegExp(`^Error: cannot use ${root} as the store root: read-only file system$`));
      const l = await cairn(root, ['load', '-i', goodFile]);
      assertOneLineError(l, 1, new RegExp(`^Error: cannot use ${root} as the store root: read-only file system$`));
    }
    assert.deepEqual(readdirSync(mnt), []);
  } finally {
    sh('umount', [mnt]);
  }
});

test('a store whose file system became read-only: refused, nothing changed, works again when writable', async () => {
  const mnt = join(dir.path, 'ro2');
  await mkdir(mnt);
  sh('mount', ['-t', 'tmpfs', 'tmpfs', mnt]);
  try {
    const root = join(mnt, 'root');
    await cp(template, root, { recursive: true });
    const beforeState = await state(root);
    sh('mount', ['-o', 'remount,ro', mnt]);
    const r = await cairn(root, ['load', '-i', goodFile]);
    assertOneLineError(r, 1, new RegExp(`^Error: cannot use ${root} as the store root: read-only file system$`));
    sh('mount', ['-o', 'remount,rw', mnt]);
    assertNoLeftovers(root);
    assert.deepEqual(await state(root), beforeState);
    await laterWorks(root);
  } finally {
    sh('umount', [mnt]);
  }
});

test('a root under a regular file', async () => {
  const file = join(dir.path, 'a-file');
  await writeFile(file, 'x');
  const root = join(file, 'root');
  for (const args of [['images'], ['load', '-i', goodFile], ['info']]) {
    const r = await cairn(root, args);
    assertOneLineError(r, 1, new RegExp(`^Error: cannot use ${root} as the store root: not a directory$`));
  }
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

test('a root that is a regular file', async () => {
  const file = join(dir.path, 'b-file');
  await writeFile(file, 'x');
  const r = await cairn(file, ['images']);
  assertOneLineError(r, 1, new RegExp(`^Error: cannot use ${file} as the store root: `));
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

test('a store whose schema is newer than cairn: refused, the database unchanged', async () => {
  const root = await freshRoot();
  const dbPath = join(root, 'metadata.db');
  const db = new Database(dbPath);
  const current = db.pragma('user_version', { simple: true }) as number;
  assert.ok(current >= 1);
  db.pragma('user_version = 99');
  db.close();
  const bytes = readFileSync(dbPath);
  const blobs = snapshotTree(join(root, 'content', 'blobs'));
  for (const args of [['images'], ['load', '-i', goodFile], ['import', goodFile, 'x:1'], ['rmi', 'base:1'], ['tag', 'base:1', 'y:1']]) {
    const r = await cairn(root, args);
    assertOneLineError(r, 1, /^Error: store .*metadata\.db has schema version 99, newer than this cairn supports \(\d+\): upgrade cairn; the store was not changed$/);
    assert.ok(readFileSync(dbPath).equals(bytes), `${args[0]}: metadata.db bytes unchanged`);
  }
  assert.deepEqual(snapshotTree(join(root, 'content', 'blobs')), blobs);
  assertNoLeftovers(root);
  // Back to the version cairn knows: everything is there and works.
  const db2 = new Database(dbPath);
  db2.pragma(`user_version = ${current}`);
  db2.close();
  await laterWorks(root);
});

// --- import of bad root filesystem tars ----------------------------------------------------------

test('import: a truncated gzip tar', async () => {
  const gz = gzipSync(L2);
  await failsCleanly(['import', '-', 'x:1'], /^Error: .*gzip: truncated data/, { input: gz.subarray(0, Math.floor(gz.length / 2)) });
});

test('import: a corrupted gzip tar', async () => {
  const gz = gzipSync(L2);
  flipMiddle(gz, 16);
  await failsCleanly(['import', '-', 'x:1'], /^Error: .*gzip: /, { input: gz });
});

test('import: input that is not a tar', async () => {
  await failsCleanly(['import', '-', 'x:1'], /^Error: .*tar/, { input: randomBytesSeeded(100_000, 9) });
});

test('import: a truncated plain tar', async () => {
  await failsCleanly(['import', '-', 'x:1'], /^Error: .*tar: truncated/, { input: L1.subarray(0, 100_000) });
});

test('import: a tar whose entry climbs out of the root file system', async () => {
  const evil = await makeTar([{ path: '../../../../../../tmp/cairn-escaped-import', content: 'x' }, { path: 'ok', content: 'y' }]);
  await failsCleanly(['import', '-', 'x:1'], /^Error: layer sha256:[a-f0-9]{64}: entry "\.\.\/.*cairn-escaped-import": has a '\.\.' component$/, { input: evil });
  assert.ok(!existsSync('/tmp/cairn-escaped-import'));
});

test('import: a tar with a hard link to nothing (fails while unpacking, after the blobs are in)', async () => {
  const bad = await tarOf([
    { name: 'ok', type: 'file', data: Buffer.from('y') },
    { name: 'link', type: 'hardlink', data: Buffer.alloc(0), linkname: 'missing' },
  ]);
  await failsCleanly(['import', '-', 'x:1'], /^Error: layer sha256:[a-f0-9]{64}: entry "link": hard link target "missing" does not exist( in this layer)?$/, { input: bad });
});
