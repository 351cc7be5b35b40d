/**
 * TLS to a registry that is not on loopback (so the certificate is verified): a Distribution
 * registry serving https on the machine's own non-loopback address with a certificate from a
 * test CA. The CA from `/etc/cairn/certs.d/HOST:PORT/ca.crt` is trusted; without it the pull
 * fails as Docker's does; a registry that requires a client certificate gets the one in the same
 * directory (`client.cert` + `client.key`). Plain http to such a registry only with
 * `--tls-verify=false`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { cairn, cairnOk, busyboxTar, tempDir } from './helpers.js';
import { makePki, startRegistry, type Registry, type TestPki } from './registry.js';
import Database from 'better-sqlite3';

let dir: { path: string; cleanup: () => Promise<void> };
let pki: TestPki;
let ip: string | undefined;
const certsDirs: string[] = [];

function certsDir(host: string): string {
  const d = join('/etc/cairn/certs.d', host);
  mkdirSync(d, { recursive: true });
  certsDirs.push(d);
  return d;
}

before(async () => {
  dir = await tempDir('cairn-registry-tls-');
  ip = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (ip) pki = makePki(join(dir.path, 'pki'), ip);
});

after(async () => {
  for (const d of certsDirs) rmSync(d, { recursive: true, force: true });
  await dir?.cleanup();
});

test('https with a registry\'s own CA from certs.d; refused without it, in Docker\'s words', async (t) => {
  if (!ip) return t.skip('this machine has no non-loopback IPv4 address');
  const reg: Registry = await startRegistry(join(dir.path, 'registry'), { tls: { ip, certificate: pki.serverCert, key: pki.serverKey } });
  try {
    const root = join(dir.path, 'store-1');
    const ref = `${reg.host}/t/tls:1`;
    await cairnOk(root, ['import', '-', ref], { input: await busyboxTar() });
    let r = await cairn(root, ['push', ref]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `Error: Get "https://${reg.host}/v2/": x509: certificate signed by unknown authority`);
    copyFileSync(pki.caCert, join(certsDir(reg.host), 'ca.crt'));
    r = await cairn(root, ['push', ref]);
    assert.equal(r.code, 0, r.stderr);
    await cairnOk(root, ['rmi', ref]);
    await cairnOk(root, ['pull', ref]);
    // plain http is never tried for a registry that is not insecure
    rmSync(join(certsDir(reg.host), 'ca.crt'));
    r = await cairn(root, ['pull', ref]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /x509: certificate signed by unknown authority/);
    // --tls-verify=false: the certificate is not checked
    r = await cairn(join(dir.path, 'store-2'), ['pull', '--tls-verify=false', ref]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await reg.stop();
  }
});

test('a registry that requires a client certificate gets the one in certs.d', async (t) => {
  if (!ip) return t.skip('this machine has no non-loopback IPv4 address');
  const reg = await startRegistry(join(dir.path, 'registry-mtls'), { tls: { ip, certificate: pki.serverCert, key: pki.serverKey, clientCas: pki.caCert } });
  try {
    const root = join(dir.path, 'store-3');
    const ref = `${reg.host}/t/mtls:1`;
    await cairnOk(root, ['import', '-', ref], { input: await busyboxTar() });
    const d = certsDir(reg.host);
    copyFileSync(pki.caCert, join(d, 'ca.crt'));
    let r = await cairn(root, ['push', ref]);
    assert.equal(r.code, 1, 'no client certificate: refused');
    copyFileSync(pki.clientCert, join(d, 'client.cert'));
    copyFileSync(pki.clientKey, join(d, 'client.key'));
    r = await cairn(root, ['push', ref]);
    assert.equal(r.code, 0, r.stderr);
    await cairnOk(root, ['rmi', ref]);
    await cairnOk(root, ['pull', ref]);
  } finally {
    await reg.stop();
  }
});

test('a loopback registry\'s scheme is remembered (no TLS attempt on the next command), and found again when the port speaks https', async () => {
  const lo = makePki(join(dir.path, 'pki-lo'), '127.0.0.1');
  const root = join(dir.path, 'store-scheme');
  const plain: Registry = await startRegistry(join(dir.path, 'reg-plain'));
  const port = Number(plain.host.split(':')[1]);
  const ref = `${plain.host}/t/scheme:1`;
  try {
    await cairnOk(root, ['import', '-', ref], { input: await busyboxTar() });
    await cairnOk(root, ['push', ref]);
  } finally {
    await plain.stop();
  }
  const db = () => {
    const d = new Database(join(root, 'metadata.db'), { readonly: true });
    try {
      return (d.prepare('SELECT value FROM store_info WHERE key = ?').get(`registry-scheme:${plain.host}`) as { value: string } | undefined)?.value;
    } finally {
      d.close();
    }
  };
  assert.equal(db(), 'http:');
  // The same port now speaks https (a loopback registry: its certificate is not checked, as Docker's).
  const secure: Registry = await startRegistry(join(dir.path, 'reg-tls'), { port, tls: { ip: '127.0.0.1', certificate: lo.serverCert, key: lo.serverKey } });
  try {
    await cairnOk(root, ['push', ref]);
    assert.equal(db(), 'https:');
    await cairnOk(root, ['rmi', ref]);
    await cairnOk(root, ['pull', ref]);
  } finally {
    await secure.stop();
  }
});
