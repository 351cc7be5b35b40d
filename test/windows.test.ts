/**
 * Windows images on Linux (issue 10, point 4): an os=windows image whose base layer is foreign
 * (a descriptor with URLs, served here from a loopback server, as Microsoft's base layers are
 * served from mcr.microsoft.com) sits beside a Linux image in one manifest list on the real
 * Distribution registry. `pull --platform windows/amd64` stores its layers as verified blobs
 * without unpacking them, fetching the foreign one from its URL; images, inspect, history,
 * save, load, tag, rmi and push work on it (push skips the foreign layer, as Docker does, and
 * keeps the manifest digest); `image mount` and `image squash` refuse it in one line; a foreign
 * layer that no URL serves fails the pull in one line and leaves nothing behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnOk, busyboxTar, makeTar, randomBytesSeeded, tempDir } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const FOREIGN = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OS_VERSION = '10.0.17763.1879';

let dir: { path: string; cleanup: () => Promise<void> };
let reg: Registry;
let urlServer: Server;
/** What the loopback "foreign layer host" served, by path. */
const served: string[] = [];
let foreignAvailable = true;
let n = 0;
const fresh = (name: string): string => join(dir.path, `${name}-${++n}`);

/** The Windows image: its foreign base layer, its own layer, config and manifest. */
let base: Buffer;
let app: Buffer;
let manifest: Buffer;
let configRaw: Buffer;
let foreignUrl: string;
let listDigest: string;
let linuxDigest: string;

/** Upload a blob monolithically (POST then PUT ?digest=). */
async function putBlob(repo: string, bytes: Buffer): Promise<void> {
  const post = await fetch(`http://${reg.host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(post.status, 202);
  const loc = new URL(post.headers.get('location')!, `http://${reg.host}`);
  loc.searchParams.set('digest', sha(bytes));
  const put = await fetch(loc, { method: 'PUT', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(put.status, 201, await put.text());
}

async function putManifest(repo: string, ref: string, raw: Buffer, type: string): Promise<void> {
  const r = await fetch(`http://${reg.host}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: raw, headers: { 'Content-Type': type } });
  assert.equal(r.status, 201, await r.text());
}

before(async () => {
  dir = await tempDir('cairn-windows-');
  reg = await startRegistry(join(dir.path, 'registry'), { foreignUrls: true });
  // Two layers as Windows images have them (Files/ and Hives/), the base one foreign.
  base = await makeTar(
    [
      { path: 'Files/', type: 'dir' },
      { path: 'Files/Windows/System32/kernel32.dll', content: randomBytesSeeded(300_000, 11) },
      { path: 'Hives/', type: 'dir' },
      { path: 'Hives/SOFTWARE_Delta', content: randomBytesSeeded(20_000, 12) },
    ],
    'gzip',
  );
  app = await makeTar([{ path: 'Files/app/hello.txt', content: 'hello from windows\n' }], 'gzip');
  const { gunzipSync } = await import('node:zlib');
  urlServer = createServer((req, res) => {
    served.push(req.url ?? '');
    if (!foreignAvailable || req.url !== `/layers/${sha(base).slice(7)}`) {
      res.writeHead(404).end('no such layer');
      return;
    }
    res.writeHead(200, { 'Content-Length': String(base.length) }).end(base);
  });
  await new Promise<void>((r) => urlServer.listen(0, '127.0.0.1', r));
  foreignUrl = `http://127.0.0.1:${(urlServer.address() as AddressInfo).port}/layers/${sha(base).slice(7)}`;
  configRaw = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'windows',
      'os.version': OS_VERSION,
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['cmd', '/S', '/C', 'type C:\\app\\hello.txt'], WorkingDir: 'C:\\app' },
      rootfs: { type: 'layers', diff_ids: [sha(gunzipSync(base)), sha(gunzipSync(app))] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: `Apply image ${OS_VERSION}` }, { created: '2024-01-01T00:00:00Z', created_by: 'cmd /S /C #(nop) COPY file:hello in C:\\app' }],
    }),
  );
  manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: configRaw.length, digest: sha(configRaw) },
      layers: [
        { mediaType: FOREIGN, size: base.length, digest: sha(base), urls: [foreignUrl] },
        { mediaType: LAYER, size: app.length, digest: sha(app) },
      ],
    }),
  );
  // The registry gets the config and the app layer, not the foreign base (as for real images).
  await putBlob('t/multi', configRaw);
  await putBlob('t/multi', app);
  await putManifest('t/multi', 'win', manifest, MANIFEST);
  // A Linux image beside it in one manifest list, pushed by cairn.
  const root = fresh('linux');
  await cairnOk(root, ['import', '-', `${reg.host}/t/multi:linux`], { input: await busyboxTar() });
  const pushed = (await cairnOk(root, ['push', `${reg.host}/t/multi:linux`])).stdout;
  const m = /digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(pushed)!;
  linuxDigest = m[1]!;
  const list = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: LIST,
      manifests: [
        { mediaType: MANIFEST, size: Number(m[2]), digest: linuxDigest, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: MANIFEST, size: manifest.length, digest: sha(manifest), platform: { architecture: 'amd64', os: 'windows', 'os.version': OS_VERSION } },
      ],
    }),
  );
  listDigest = sha(list);
  await putManifest('t/multi', 'latest', list, LIST);
});

after(async () => {
  await new Promise<void>((r) => urlServer?.close(() => r()));
  await reg?.stop();
  await dir?.cleanup();
});

function snapshotsOf(root: string): string[] {
  const snaps = join(root, 'snapshots', 'overlay');
  return existsSync(snaps) ? readdirSync(snaps) : [];
}

test('pull --platform windows/amd64 stores the image without unpacking it, the foreign layer fetched from its URL', async () => {
  const root = fresh('store');
  const ref = `${reg.host}/t/multi:latest`;
  served.length = 0;
  const pull = await cairnOk(root, ['pull', '--platform', 'windows/amd64', ref]);
  assert.match(pull.stdout, new RegExp(`Digest: ${listDigest}`));
  assert.match(pull.stdout, /Status: Downloaded newer image for /);
  assert.deepEqual(served, [new URL(foreignUrl).pathname], 'the foreign layer came from its URL, once');
  assert.deepEqual(snapshotsOf(root), [], 'no layer unpacked');
  // both layers are blobs in the content store, verified
  for (const b of [base, app, configRaw, manifest]) assert.ok(existsSync(join(root, 'content', 'blobs', 'sha256', sha(b).slice(7))), `blob ${sha(b)}`);

  const inspect = JSON.parse((await cairnOk(root, ['inspect', ref])).stdout)[0];
  assert.equal(inspect.Id, sha(configRaw));
  assert.equal(inspect.Os, 'windows');
  assert.equal(inspect.OsVersion, OS_VERSION);
  assert.deepEqual(inspect.RepoDigests, [`${reg.host}/t/multi@${listDigest}`]);
  const images = (await cairnOk(root, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout;
  assert.equal(images, `${reg.host}/t/multi:latest ${sha(configRaw).slice(7, 19)}\n`);
  const history = (await cairnOk(root, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', ref])).stdout;
  assert.equal(history, `cmd /S /C #(nop) COPY file:hello in C:\\app\nApply image ${OS_VERSION}\n`);

  // what needs the files refuses, in one line, and leaves no mount or snapshot
  for (const args of [['image', 'mount', ref], ['image', 'squash', ref]]) {
    const r = await cairn(root, args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, `Error: image operating system "windows" cannot be used on this platform: ${ref} is stored, not unpacked\n`);
  }
  assert.deepEqual(snapshotsOf(root), []);

  // a second pull has everything: nothing fetched again
  served.length = 0;
  const again = await cairnOk(root, ['pull', '--platform', 'windows/amd64', ref]);
  assert.match(again.stdout, /Status: Image is up to date for /);
  assert.deepEqual(served, []);

  // the host's platform picks the Linux image of the same list
  const linux = await cairnOk(root, ['pull', `${reg.host}/t/multi:latest`]);
  assert.match(linux.stdout, /Status: Downloaded newer image for /);
  assert.equal(JSON.parse((await cairnOk(root, ['inspect', ref])).stdout)[0].Os, 'linux');
});

test('save and load, tag and rmi work on a Windows image; push skips its foreign layer and keeps the manifest digest', async () => {
  const root = fresh('store');
  const ref = `${reg.host}/t/multi:win`;
  await cairnOk(root, ['pull', '--platform', 'windows/amd64', ref]);
  const archive = join(dir.path, `win-${n}.tar`);
  await cairnOk(root, ['save', '-o', archive, ref]);
  const other = fresh('store');
  const load = await cairnOk(other, ['load', '-i', archive]);
  assert.match(load.stdout, new RegExp(`Loaded image: ${ref.replace(/[.]/g, '\\.')}`));
  assert.equal(JSON.parse((await cairnOk(other, ['inspect', ref])).stdout)[0].Id, sha(configRaw));

  await cairnOk(other, ['tag', ref, `${reg.host}/t/copy:1`]);
  served.length = 0;
  const push = await cairnOk(other, ['push', `${reg.host}/t/copy:1`]);
  const baseId = JSON.parse((await cairnOk(other, ['inspect', ref])).stdout)[0].RootFS.Layers[0].slice(7, 19);
  assert.ok(push.stdout.split('\n').includes(`${baseId}: Skipped foreign layer`), push.stdout);
  assert.match(push.stdout, new RegExp(`1: digest: ${sha(manifest)} size: ${manifest.length}`));
  const head = await fetch(`http://${reg.host}/v2/t/copy/blobs/${sha(base)}`, { method: 'HEAD' });
  assert.equal(head.status, 404, 'the foreign layer was not pushed');
  assert.deepEqual(served, []);

  // the pushed copy pulls back, its foreign layer from the URL again
  const third = fresh('store');
  await cairnOk(third, ['pull', '--platform', 'windows/amd64', `${reg.host}/t/copy:1`]);
  assert.equal(served.length, 1);
  assert.equal(JSON.parse((await cairnOk(third, ['inspect', `${reg.host}/t/copy:1`])).stdout)[0].Id, sha(configRaw));

  const rmi = await cairnOk(other, ['rmi', ref, `${reg.host}/t/copy:1`]);
  assert.match(rmi.stdout, new RegExp(`Deleted: ${sha(configRaw)}`));
  assert.equal((await cairnOk(other, ['images', '-qa'])).stdout, '');
  const blobs = join(other, 'content', 'blobs', 'sha256');
  assert.deepEqual(existsSync(blobs) ? readdirSync(blobs) : [], [], 'rmi removed every blob of it');
});

test('a foreign layer that no URL serves fails the pull in one line and leaves nothing behind', async () => {
  const root = fresh('store');
  foreignAvailable = false;
  try {
    const r = await cairn(root, ['pull', '--platform', 'windows/amd64', `${reg.host}/t/multi:win`]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.stderr, `Error: foreign layer ${sha(base)} is not available: the registry does not have it and none of its URLs answered (${foreignUrl}: 404 Not Found)\n`);
  } finally {
    foreignAvailable = true;
  }
  assert.equal((await cairnOk(root, ['images', '-qa'])).stdout, '');
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), []);
  const blobs = join(root, 'content', 'blobs', 'sha256');
  assert.deepEqual(existsSync(blobs) ? readdirSync(blobs) : [], []);
  assert.deepEqual(snapshotsOf(root), []);
});

test('a foreign layer whose URL serves other bytes is refused by digest', async () => {
  const root = fresh('store');
  // the same layer but for the gzip header's mtime: it decompresses to the same tar, its digest differs
  const wrong = Buffer.from(base);
  wrong[4] ^= 0xff;
  const other = createServer((_req, res) => res.writeHead(200, { 'Content-Length': String(wrong.length) }).end(wrong));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    // the same image, its foreign layer pointed at the lying server
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}/base`;
    const m = JSON.parse(manifest.toString());
    m.layers[0].urls = [url];
    const raw = Buffer.from(JSON.stringify(m));
    await putBlob('t/liar', configRaw);
    await putBlob('t/liar', app);
    await putManifest('t/liar', 'win', raw, MANIFEST);
    const r = await cairn(root, ['pull', '--platform', 'windows/amd64', `${reg.host}/t/liar:win`]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^Error: [^\\n]*${sha(base)}[^\\n]*digest[^\\n]*\\n$`));
    assert.equal((await cairnOk(root, ['images', '-qa'])).stdout, '');
  } finally {
    await new Promise<void>((r) => other.close(() => r()));
  }
});
