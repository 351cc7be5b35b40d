import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCairnError } from '../errors.js';
import { findSecret, parseSecretSpec, readSecret } from './secrets.js';

function fails(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => isCairnError(e) && e.message === message && e.exitCode === 1);
}

test('--secret as Docker 20.10 parses it: src, env, type=env, the id alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-secrets-'));
  try {
    const file = join(dir, 'tok');
    writeFileSync(file, 'value');
    assert.deepEqual(parseSecretSpec(`id=a,src=${file}`), { id: 'a', file });
    assert.deepEqual(parseSecretSpec(`ID=a,Source=${file}`), { id: 'a', file });
    assert.deepEqual(parseSecretSpec(`"id=a","src=${file}"`), { id: 'a', file });
    assert.deepEqual(parseSecretSpec('id=a,env=VAR', {}), { id: 'a', env: 'VAR' });
    // type=env: src names the variable.
    assert.deepEqual(parseSecretSpec('type=env,id=a,src=VAR', {}), { id: 'a', env: 'VAR' });
    // The id alone: a variable when one is set, else a file.
    assert.deepEqual(parseSecretSpec('id=HOME_X', { HOME_X: '1' }), { id: 'HOME_X', env: 'HOME_X' });
    fails(() => parseSecretSpec('id=nosuchfile-xyz', {}), 'failed to stat nosuchfile-xyz: no such file or directory');
    writeFileSync(join(dir, 'big'), Buffer.alloc(500 * 1024 + 1));
    fails(() => parseSecretSpec(`id=big,src=${join(dir, 'big')}`), 'secret big too big. max size 500KB');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--secret errors: one line each', () => {
  fails(() => parseSecretSpec('id=a,foo=bar'), "unexpected key 'foo' in 'foo=bar'");
  fails(() => parseSecretSpec('id=a,src'), "invalid field 'src' must be a key=value pair");
  fails(() => parseSecretSpec('type=ssh,id=a'), 'unsupported secret type "ssh"');
  fails(() => parseSecretSpec('src=/etc/hostname'), 'secret missing ID');
  fails(() => parseSecretSpec('id="a'), 'failed to parse csv secret: parse error: bare " in non-quoted-field');
});

test('the last secret of an id wins; values are read when used', () => {
  const secrets = [{ id: 'a', env: 'X' }, { id: 'b', env: 'Y' }, { id: 'a', env: 'Z' }];
  assert.deepEqual(findSecret(secrets, 'a'), { id: 'a', env: 'Z' });
  assert.equal(findSecret(secrets, 'c'), undefined);
  assert.equal(readSecret({ id: 'a', env: 'Z' }, { Z: 'zz' }).toString(), 'zz');
  // An unset variable is an empty secret, as BuildKit's os.Getenv gives it.
  assert.equal(readSecret({ id: 'a', env: 'Z' }, {}).length, 0);
  fails(() => readSecret({ id: 'f', file: '/no/such/secret' }), 'secret f: cannot read /no/such/secret: no such file or directory');
});
