import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { loadRegistryConfig, parseRegistryConfig } from './config.js';

test("Docker's registry-mirrors are Docker Hub's; registries.HOST.mirrors any registry's, with a path prefix", () => {
  const c = parseRegistryConfig(
    JSON.stringify({
      'registry-mirrors': ['https://mirror.example', 'http://10.0.0.5:5000/'],
      'insecure-registries': ['reg.example:5000'],
      registries: { 'quay.io': { mirrors: ['mirror.example/quay/cache', 'http://127.0.0.1:5001'] }, 'index.docker.io': { mirrors: ['hub.example'] } },
    }),
    'f',
  );
  assert.deepEqual(c.mirrors('docker.io'), [
    { domain: 'mirror.example', prefix: '', insecure: false },
    { domain: '10.0.0.5:5000', prefix: '', insecure: true },
    { domain: 'hub.example', prefix: '', insecure: false },
  ]);
  assert.deepEqual(c.mirrors('quay.io'), [
    { domain: 'mirror.example', prefix: 'quay/cache', insecure: false },
    { domain: '127.0.0.1:5001', prefix: '', insecure: true },
  ]);
  assert.deepEqual(c.mirrors('ghcr.io'), []);
  assert.deepEqual(c.insecure, ['reg.example:5000']);
});

test('a configuration that does not parse is a one-line error naming the file and the key', () => {
  const cases: Array<[unknown, RegExp]> = [
    [['x'], /^configuration file f: \(top\): must be a JSON object$/],
    [{ 'registry-mirrors': 'https://m' }, /^configuration file f: registry-mirrors: must be a list of strings$/],
    [{ 'registry-mirrors': ['mirror.example'] }, /^configuration file f: registry-mirrors\[0\]: "mirror.example" needs a scheme \(https:\/\/ or http:\/\/\)$/],
    [{ 'registry-mirrors': ['https://m.example/v2'] }, /^configuration file f: registry-mirrors\[0\]: "https:\/\/m.example\/v2": a path is not allowed$/],
    [{ 'registry-mirrors': ['ftp://m.example'] }, /unsupported scheme ftp$/],
    [{ registries: { 'quay.io/x': { mirrors: [] } } }, /^configuration file f: registries.quay.io\/x: is not a registry host\[:port\]$/],
    [{ registries: { 'quay.io': { mirrors: ['https://u:p@m.example'] } } }, /registries.quay.io.mirrors\[0\]: "https:\/\/u:p@m.example": credentials, query or fragment are not allowed$/],
    [{ registries: { 'quay.io': { mirrors: ['m.example/UPPER'] } } }, /UPPER is not a repository path$/],
    [{ 'insecure-registries': [5000] }, /^configuration file f: insecure-registries: must be a list of strings$/],
  ];
  for (const [doc, re] of cases) {
    assert.throws(() => parseRegistryConfig(JSON.stringify(doc), 'f'), (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message) && !e.message.includes('\n'), JSON.stringify(doc));
  }
  assert.throws(() => parseRegistryConfig('{', 'f'), /^InvalidArgumentError: configuration file f: /);
});

test('the file: $CAIRN_CONFIG or the path given; a missing default file is no configuration, a missing named one an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'));
  const saved = process.env.CAIRN_CONFIG;
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ 'insecure-registries': ['a:1'] }));
    assert.deepEqual(loadRegistryConfig(file).insecure, ['a:1']);
    process.env.CAIRN_CONFIG = file;
    assert.deepEqual(loadRegistryConfig().insecure, ['a:1']);
    process.env.CAIRN_CONFIG = join(dir, 'absent.json');
    assert.throws(() => loadRegistryConfig(), /^InvalidArgumentError: configuration file .*absent\.json: ENOENT/);
    assert.throws(() => loadRegistryConfig(join(dir, 'absent.json')), /ENOENT/);
  } finally {
    if (saved === undefined) delete process.env.CAIRN_CONFIG;
    else process.env.CAIRN_CONFIG = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
