import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenges, repositoryScope } from './auth.js';
import { DOCKER_HUB_AUTH_KEY, lookupCredentials, removeCredentials, storeCredentials } from './credentials.js';
import { apiHost, isLoopback } from './client.js';

test('WWW-Authenticate: Bearer with quoted parameters (commas inside quotes), Basic, several challenges', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="cairn-test"'), [{ scheme: 'basic', params: { realm: 'cairn-test' } }]);
  assert.deepEqual(parseChallenges(['Basic realm=x', 'Bearer realm="http://127.0.0.1:1/t", service=reg']), [
    { scheme: 'basic', params: { realm: 'x' } },
    { scheme: 'bearer', params: { realm: 'http://127.0.0.1:1/t', service: 'reg' } },
  ]);
  assert.deepEqual(parseChallenges('Bearer realm="a\\"b"'), [{ scheme: 'bearer', params: { realm: 'a"b' } }]);
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges('garbage ""'), [{ scheme: 'garbage', params: {} }]);
  assert.equal(repositoryScope('ref/multi', ['pull', 'push']), 'repository:ref/multi:pull,push');
});

test('which registries are insecure by default, and Docker Hub\'s API host', () => {
  for (const h of ['127.0.0.1:5000', '127.1.2.3', 'localhost:5000', 'localhost', '[::1]:5000', '::1', '[::1]']) assert.equal(isLoopback(h), true, h);
  for (const h of ['registry.example.com', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com:5000', '[::2]:5000', '::2', '127.0.0.1.example.com:5000', '::1:5000']) assert.equal(isLoopback(h), false, h);
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
});

test('credentials from Docker\'s config file: auths by host, Docker Hub\'s URL key, login and logout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-creds-'));
  try {
    const cfg = join(dir, 'config.json');
    assert.equal(lookupCredentials('127.0.0.1:5000', cfg), undefined, 'no file: no credentials');
    writeFileSync(cfg, JSON.stringify({
      auths: {
        'https://127.0.0.1:5000': { auth: Buffer.from('alice:pa:ss').toString('base64') },
        [DOCKER_HUB_AUTH_KEY]: { auth: Buffer.from('hub:secret').toString('base64') },
      },
      psFormat: 'kept',
    }));
    assert.deepEqual(lookupCredentials('127.0.0.1:5000', cfg), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(lookupCredentials('docker.io', cfg), { username: 'hub', password: 'secret' });
    assert.equal(lookupCredentials('127.0.0.1:5001', cfg), undefined);

    storeCredentials('127.0.0.1:5000', { username: 'bob', password: 'x' }, cfg);
    assert.deepEqual(lookupCredentials('127.0.0.1:5000', cfg), { username: 'bob', password: 'x' });
    const written = JSON.parse(readFileSync(cfg, 'utf8')) as { auths: Record<string, unknown>; psFormat: string };
    assert.deepEqual(Object.keys(written.auths).sort(), ['127.0.0.1:5000', DOCKER_HUB_AUTH_KEY].sort(), 'the old key for the host is replaced');
    assert.equal(written.psFormat, 'kept', 'other settings are kept');
    assert.equal(statSync(cfg).mode & 0o777, 0o600, 'the file holds passwords: owner only');

    assert.equal(removeCredentials('127.0.0.1:5000', cfg), true);
    assert.equal(removeCredentials('127.0.0.1:5000', cfg), false);
    assert.equal(lookupCredentials('127.0.0.1:5000', cfg), undefined);
    assert.deepEqual(lookupCredentials('docker.io', cfg), { username: 'hub', password: 'secret' });

    writeFileSync(cfg, '{not json');
    assert.throws(() => lookupCredentials('127.0.0.1:5000', cfg), /invalid client configuration/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('credential helpers: docker-credential-NAME get, as Docker runs them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-creds-'));
  const path = process.env.PATH;
  try {
    const helper = join(dir, 'docker-credential-cairntest');
    // a helper that knows one server, speaking the credential-helper protocol
    writeFileSync(helper, '#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "127.0.0.1:5000" ]; then echo \'{"ServerURL":"127.0.0.1:5000","Username":"helper-user","Secret":"helper-secret"}\'; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n');
    chmodSync(helper, 0o755);
    process.env.PATH = `${dir}:${path}`;
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ credHelpers: { '127.0.0.1:5000': 'cairntest', '127.0.0.1:5001': 'cairntest' } }));
    assert.deepEqual(lookupCredentials('127.0.0.1:5000', cfg), { username: 'helper-user', password: 'helper-secret' });
    assert.equal(lookupCredentials('127.0.0.1:5001', cfg), undefined, 'the helper has none for that server');
    writeFileSync(cfg, JSON.stringify({ credsStore: 'nosuchhelper' }));
    assert.throws(() => lookupCredentials('127.0.0.1:5000', cfg), /docker-credential-nosuchhelper: not found in PATH/);
  } finally {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  }
});
