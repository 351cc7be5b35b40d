/**
 * Hostile clients of `registry serve` (issue 13, point 5) get the spec's error and cost bounded
 * memory and time: an oversized manifest, a Content-Type that lies about the manifest, a client
 * that sends one byte now and then (the connection is closed once it idles past the limit), one
 * that opens more uploads than allowed, a read-only server refusing changes. The server runs in
 * this process through the library (Cairn.serveRegistry) with small limits.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Cairn } from '../src/index.js';
import { tempDir } from './helpers.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let dir: { path: string; cleanup: () => Promise<void> };
let cairn: Cairn;
let server: { address: { port: number }; close(): Promise<void> };
let base: string;

before(async () => {
  dir = await tempDir('cairn-serve-hostile-');
  cairn = await Cairn.open({ root: join(dir.path, 'store') });
  server = await cairn.serveRegistry('127.0.0.1', 0, { idleTimeoutMs: 400, maxUploads: 3 });
  base = `http://127.0.0.1:${server.address.port}/v2`;
});

after(async () => {
  await server?.close();
  cairn?.close();
  await dir?.cleanup();
});

const code = async (r: Response): Promise<string> => ((await r.json()) as { errors: Array<{ code: string }> }).errors[0]!.code;

test('a manifest above 4 MiB is refused (413) without being kept', async () => {
  const big = Buffer.alloc((4 << 20) + 1, 0x20);
  const r = await fetch(`${base}/t/x/manifests/1`, { method: 'PUT', body: big, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 413);
  assert.equal(await code(r), 'SIZE_INVALID');
  assert.equal((await fetch(`${base}/t/x/manifests/1`)).status, 404);
});

test('a Content-Type that says index for a manifest, or a body that is no manifest: MANIFEST_INVALID', async () => {
  const config = Buffer.from('{}');
  assert.equal((await fetch(`${base}/t/x/blobs/uploads/?digest=${sha(config)}`, { method: 'POST', body: config })).status, 201);
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(config), size: 2 }, layers: [] }));
  let r = await fetch(`${base}/t/x/manifests/1`, { method: 'PUT', body: m, headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' } });
  assert.equal(r.status, 400);
  assert.equal(await code(r), 'MANIFEST_INVALID');
  r = await fetch(`${base}/t/x/manifests/1`, { method: 'PUT', body: 'not json', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 400);
  assert.equal(await code(r), 'MANIFEST_INVALID');
  r = await fetch(`${base}/t/x/manifests/1`, { method: 'PUT', body: JSON.stringify({ schemaVersion: 2, mediaType: 'text/plain', config: {}, layers: [] }), headers: { 'Content-Type': 'text/plain' } });
  assert.equal(r.status, 400);
  assert.equal((await fetch(`${base}/t/x/manifests/1`)).status, 404);
});

test('a client that trickles bytes is cut off once it idles past the limit; the session keeps what arrived', async () => {
  const post = await fetch(`${base}/t/slow/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(post.headers.get('location')!, base);
  const closed = await new Promise<{ closedAfterMs: number; answer: string }>((resolve) => {
    const t0 = Date.now();
    const s = connect(server.address.port, '127.0.0.1', () => {
      s.write(`PATCH ${loc.pathname} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nab`);
    });
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('close', () => resolve({ closedAfterMs: Date.now() - t0, answer }));
    s.on('error', () => undefined);
  });
  assert.equal(closed.answer, '', 'no answer: the connection was closed');
  assert.ok(closed.closedAfterMs < 10_000);
  const st = await fetch(loc);
  assert.equal(st.status, 204);
  assert.equal(st.headers.get('range'), '0-1', 'the two bytes that arrived are kept');
  await fetch(loc, { method: 'DELETE' });
});

test('more uploads than allowed at once: TOOMANYREQUESTS until one ends', async () => {
  const locs: URL[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${base}/t/many/blobs/uploads/`, { method: 'POST' });
    assert.equal(r.status, 202);
    locs.push(new URL(r.headers.get('location')!, base));
  }
  let r = await fetch(`${base}/t/many/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 429);
  assert.equal(await code(r), 'TOOMANYREQUESTS');
  assert.equal((await fetch(locs[0]!, { method: 'DELETE' })).status, 204);
  r = await fetch(`${base}/t/many/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202);
  for (const l of [...locs.slice(1), new URL(r.headers.get('location')!, base)]) await fetch(l, { method: 'DELETE' });
});

test('read-only: every change is DENIED, reads work', async () => {
  const ro = await cairn.serveRegistry('127.0.0.1', 0, { readOnly: true });
  try {
    const b = `http://127.0.0.1:${ro.address.port}/v2`;
    let r = await fetch(`${b}/t/x/blobs/uploads/`, { method: 'POST' });
    assert.equal(r.status, 403);
    assert.equal(await code(r), 'DENIED');
    r = await fetch(`${b}/t/x/blobs/${sha(Buffer.from('{}'))}`);
    assert.equal(r.status, 200);
  } finally {
    await ro.close();
  }
});

test('an upload session outlives the server: a new server on the store resumes it; an idle one is dropped with its bytes', async () => {
  const root = join(dir.path, 'sessions');
  const c1 = await Cairn.open({ root });
  const s1 = await c1.serveRegistry('127.0.0.1', 0, {});
  let loc: URL;
  try {
    const post = await fetch(`http://127.0.0.1:${s1.address.port}/v2/t/up/blobs/uploads/`, { method: 'POST' });
    loc = new URL(post.headers.get('location')!, `http://127.0.0.1:${s1.address.port}`);
    const r = await fetch(loc, { method: 'PATCH', body: Buffer.from('abc'), headers: { 'Content-Range': '0-2', 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 202);
  } finally {
    await s1.close();
    c1.close();
  }
  const c2 = await Cairn.open({ root });
  const s2 = await c2.serveRegistry('127.0.0.1', 0, { uploadIdleMs: 300 });
  try {
    const at = (path: string): URL => new URL(path, `http://127.0.0.1:${s2.address.port}`);
    let r = await fetch(at(loc.pathname));
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('range'), '0-2', 'the new server holds the 3 bytes the old one took');
    r = await fetch(at(loc.pathname), { method: 'PATCH', body: Buffer.from('def'), headers: { 'Content-Range': '3-5', 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 202);
    const put = at(loc.pathname);
    put.searchParams.set('digest', sha(Buffer.from('abcdef')));
    r = await fetch(put, { method: 'PUT' });
    assert.equal(r.status, 201);
    assert.equal(await (await fetch(at(`/v2/t/up/blobs/${sha(Buffer.from('abcdef'))}`))).text(), 'abcdef');
    // an idle session goes, with its bytes
    const post = await fetch(at('/v2/t/up/blobs/uploads/'), { method: 'POST' });
    const idle = at(post.headers.get('location')!);
    await fetch(idle, { method: 'PATCH', body: Buffer.from('zzz'), headers: { 'Content-Type': 'application/octet-stream' } });
    await new Promise((res) => setTimeout(res, 1200));
    assert.equal((await fetch(idle)).status, 404);
    const { readdirSync } = await import('node:fs');
    assert.deepEqual(readdirSync(join(root, 'content', 'ingest')).filter((f) => f.startsWith('ref-')), []);
  } finally {
    await s2.close();
    c2.close();
  }
});

test('a Content-Range that lies about its chunk: 416 with where the upload really stands', async () => {
  const post = await fetch(`${base}/t/liar/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(post.headers.get('location')!, base);
  // says ten bytes, sends five
  let r = await fetch(loc, { method: 'PATCH', body: Buffer.from('12345'), headers: { 'Content-Range': '0-9', 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 416);
  assert.equal(r.headers.get('range'), '0-4');
  // a range that ends before it starts
  r = await fetch(loc, { method: 'PATCH', body: Buffer.from('6'), headers: { 'Content-Range': '9-5', 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 416);
  r = await fetch(loc);
  assert.equal(r.headers.get('range'), '0-4', 'nothing of the refused chunk was taken');
  await fetch(loc, { method: 'DELETE' });
});
