import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  familiarName,
  familiarString,
  imageListColumns,
  isNameOnly,
  isValidTag,
  nameOnly,
  parseDockerRef,
  parseNormalizedReference,
  parseReference,
  withDefaultTag,
  withDigest,
  withTag,
  type Reference,
} from './reference.js';
import { parseDigest } from '../digest/digest.js';
import { InvalidArgumentError } from '../errors.js';

const F64 = 'f'.repeat(64);
const SHA_F = `sha256:${F64}`;
const SHA512_F = `sha512:${'f'.repeat(128)}`;
const REDIS_DGST = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

function invalid(pattern?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'message is one line');
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

type Want = { domain: string; path: string; tag?: string; digest?: string; canonical: string; familiar: string };

function check(ref: Reference, want: Want): void {
  assert.equal(ref.domain, want.domain, 'domain');
  assert.equal(ref.path, want.path, 'path');
  assert.equal(ref.name, `${want.domain}/${want.path}`, 'name');
  assert.equal(ref.tag, want.tag, 'tag');
  assert.equal(ref.digest, want.digest, 'digest');
  assert.equal(ref.toString(), want.canonical, 'canonical string');
  assert.equal(String(ref), want.canonical, 'String()');
  assert.equal(ref.familiarString(), want.familiar, 'familiar string');
  assert.equal(familiarString(ref), want.familiar, 'familiarString()');
}

describe('parseNormalizedReference: cases from the brief', () => {
  const cases: Array<[string, Want]> = [
    ['busybox', { domain: 'docker.io', path: 'library/busybox', canonical: 'docker.io/library/busybox', familiar: 'busybox' }],
    ['user/app', { domain: 'docker.io', path: 'user/app', canonical: 'docker.io/user/app', familiar: 'user/app' }],
    ['localhost/app', { domain: 'localhost', path: 'app', canonical: 'localhost/app', familiar: 'localhost/app' }],
    ['localhost:5000/app:1.0', { domain: 'localhost:5000', path: 'app', tag: '1.0', canonical: 'localhost:5000/app:1.0', familiar: 'localhost:5000/app:1.0' }],
    [
      `registry.example.com:5000/ns/app@${SHA_F}`,
      { domain: 'registry.example.com:5000', path: 'ns/app', digest: SHA_F, canonical: `registry.example.com:5000/ns/app@${SHA_F}`, familiar: `registry.example.com:5000/ns/app@${SHA_F}` },
    ],
    [`host.io/app:tag@${SHA_F}`, { domain: 'host.io', path: 'app', tag: 'tag', digest: SHA_F, canonical: `host.io/app:tag@${SHA_F}`, familiar: `host.io/app:tag@${SHA_F}` }],
    ['index.docker.io/x', { domain: 'docker.io', path: 'library/x', canonical: 'docker.io/library/x', familiar: 'x' }],
    ['index.docker.io/user/x:1', { domain: 'docker.io', path: 'user/x', tag: '1', canonical: 'docker.io/user/x:1', familiar: 'user/x:1' }],
    ['[::1]:5000/app', { domain: '[::1]:5000', path: 'app', canonical: '[::1]:5000/app', familiar: '[::1]:5000/app' }],
    ['docker.io/library/busybox:latest', { domain: 'docker.io', path: 'library/busybox', tag: 'latest', canonical: 'docker.io/library/busybox:latest', familiar: 'busybox:latest' }],
    ['docker.io/busybox', { domain: 'docker.io', path: 'library/busybox', canonical: 'docker.io/library/busybox', familiar: 'busybox' }],
    ['library/busybox', { domain: 'docker.io', path: 'library/busybox', canonical: 'docker.io/library/busybox', familiar: 'busybox' }],
    ['docker.io/library/foo/bar', { domain: 'docker.io', path: 'library/foo/bar', canonical: 'docker.io/library/foo/bar', familiar: 'library/foo/bar' }],
  ];
  for (const [input, want] of cases) it(input, () => check(parseNormalizedReference(input), want));
});

describe('parseNormalizedReference: distribution/reference TestReferenceParse (normalised)', () => {
  const hub = (path: string, tag?: string, digest?: string): Want => {
    const suffix = (tag === undefined ? '' : `:${tag}`) + (digest === undefined ? '' : `@${digest}`);
    const fam = path.startsWith('library/') && !path.slice(8).includes('/') ? path.slice(8) : path;
    return { domain: 'docker.io', path, tag, digest, canonical: `docker.io/${path}${suffix}`, familiar: fam + suffix };
  };
  const at = (domain: string, path: string, tag?: string, digest?: string): Want => {
    const s = `${domain}/${path}` + (tag === undefined ? '' : `:${tag}`) + (digest === undefined ? '' : `@${digest}`);
    return { domain, path, tag, digest, canonical: s, familiar: s };
  };
  // docker.io/ and 245 characters of path: a name of 255 characters, the most Docker 20.10 takes
  const long245 = 'a/'.repeat(122) + 'a';
  const valid: Array<[string, Want]> = [
    ['test_com', hub('library/test_com')],
    ['test.com:tag', hub('library/test.com', 'tag')],
    ['test.com:5000', hub('library/test.com', '5000')],
    ['test.com/repo:tag', at('test.com', 'repo', 'tag')],
    ['test:5000/repo', at('test:5000', 'repo')],
    ['test:5000/repo:tag', at('test:5000', 'repo', 'tag')],
    [`test:5000/repo@${SHA_F}`, at('test:5000', 'repo', undefined, SHA_F)],
    [`test:5000/repo:tag@${SHA_F}`, at('test:5000', 'repo', 'tag', SHA_F)],
    ['lowercase:Uppercase', hub('library/lowercase', 'Uppercase')],
    // Docker 20.10 (docker/distribution's reference) limits domain + path to 255; the tag does not count.
    [`${long245}:tag-puts-this-over-max`, hub(long245, 'tag-puts-this-over-max')],
    [`localhost:5000/${'b'.repeat(240)}`, at('localhost:5000', 'b'.repeat(240))],
    ['sub-dom1.foo.com/bar/baz/quux', at('sub-dom1.foo.com', 'bar/baz/quux')],
    ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', at('sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag')],
    ['b.gcr.io/test.example.com/my-app:test.example.com', at('b.gcr.io', 'test.example.com/my-app', 'test.example.com')],
    ['xn--n3h.com/myimage:xn--n3h.com', at('xn--n3h.com', 'myimage', 'xn--n3h.com')],
    [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA512_F}`, at('xn--7o8h.com', 'myimage', 'xn--7o8h.com', SHA512_F)],
    ['foo_bar.com:8080', hub('library/foo_bar.com', '8080')],
    ['foo/foo_bar.com:8080', hub('foo/foo_bar.com', '8080')],
    ['192.168.1.1', hub('library/192.168.1.1')],
    ['192.168.1.1:tag', hub('library/192.168.1.1', 'tag')],
    ['192.168.1.1:5000', hub('library/192.168.1.1', '5000')],
    ['192.168.1.1/repo', at('192.168.1.1', 'repo')],
    ['192.168.1.1:5000/repo', at('192.168.1.1:5000', 'repo')],
    ['192.168.1.1:5000/repo:5050', at('192.168.1.1:5000', 'repo', '5050')],
    ['[2001:db8::1]/repo', at('[2001:db8::1]', 'repo')],
    ['[2001:db8:1:2:3:4:5:6]/repo:tag', at('[2001:db8:1:2:3:4:5:6]', 'repo', 'tag')],
    ['[2001:db8::1]:5000/repo', at('[2001:db8::1]:5000', 'repo')],
    ['[2001:db8::1]:5000/repo:tag', at('[2001:db8::1]:5000', 'repo', 'tag')],
    [`[2001:db8::1]:5000/repo@${SHA_F}`, at('[2001:db8::1]:5000', 'repo', undefined, SHA_F)],
    [`[2001:db8::1]:5000/repo:tag@${SHA_F}`, at('[2001:db8::1]:5000', 'repo', 'tag', SHA_F)],
    ['[2001:db8::]:5000/repo', at('[2001:db8::]:5000', 'repo')],
    ['[::1]:5000/repo', at('[::1]:5000', 'repo')],
  ];
  for (const [input, want] of valid) it(`valid ${input.length > 60 ? `${input.slice(0, 57)}...` : input}`, () => check(parseNormalizedReference(input), want));

  const bad: Array<[string, RegExp]> = [
    ['', /^invalid reference format: empty reference$/],
    [':justtag', /^invalid reference format: .*empty path component in ":justtag"$/],
    [`@${SHA_F}`, /^invalid reference format/],
    ['repo@sha256:ffffffffffffffffffffffffffffffffff', /invalid sha256 digest/],
    [`validname@invaliddigest:${F64}`, /unsupported digest algorithm "invaliddigest"/],
    ['Uppercase:tag', /^invalid reference format: repository name \(library\/Uppercase\) must be lowercase$/],
    ['test:5000/Uppercase/lowercase:tag', /^invalid reference format: repository name \(Uppercase\/lowercase\) must be lowercase$/],
    [`${'a/'.repeat(122)}aa:tag`, /^repository name must not be more than 255 characters$/],
    [`localhost:5000/${'b'.repeat(241)}`, /^repository name must not be more than 255 characters$/],
    [`${'a'.repeat(238)}`, /^repository name must not be more than 255 characters$/],
    ['aa/asdf$$^/aa', /^invalid reference format: invalid repository name component "asdf\$\$\^"/],
    ['[2001:db8::1]', /^invalid reference format/],
    ['[2001:db8::1]:5000', /^invalid reference format/],
    ['[2001:db8::1]:tag', /^invalid reference format/],
    ['[fe80::1%eth0]:5000/repo', /^invalid reference format: invalid registry host "\[fe80::1%eth0\]:5000"/],
    ['[fe80::1%@invalidzone]:5000/repo', /^invalid reference format/],
    // not from upstream: ports are digits only, one port
    ['test.com:abc/foo', /^invalid reference format: invalid registry host "test\.com:abc"/],
    ['localhost:5000:1/foo', /^invalid reference format: invalid registry host "localhost:5000:1"/],
    ['-bad.com/foo', /^invalid reference format: invalid registry host "-bad\.com"/],
  ];
  for (const [input, re] of bad) it(`invalid ${JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input)}`, () => assert.throws(() => parseNormalizedReference(input), invalid(re)));
});

describe('parseNormalizedReference: TestValidateReferenceName / TestValidateRemoteName', () => {
  const valid = [
    'docker/docker',
    'library/debian',
    'debian',
    'docker.io/docker/docker',
    'docker.io/library/debian',
    'docker.io/debian',
    'index.docker.io/docker/docker',
    'index.docker.io/library/debian',
    'index.docker.io/debian',
    '127.0.0.1:5000/docker/docker',
    '127.0.0.1:5000/library/debian',
    '127.0.0.1:5000/debian',
    '192.168.0.1',
    '192.168.0.1:80',
    '192.168.0.1:8/debian',
    '192.168.0.2:25000/debian',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    '[fc00::1]:5000/docker',
    '[fc00::1]:5000/docker/docker',
    '[fc00:1:2:3:4:5:6:7]:5000/library/debian',
    `docker.io/${HEX64}`,
    'Docker/docker', // uppercase first component is taken as a registry host, as in Docker
    'DOCKER/docker',
    'docker-rules/docker',
    'docker---rules/docker',
    'doc/docker',
    'd/docker',
    'jess/t',
    'dock__er/docker',
  ];
  for (const name of valid) it(`valid ${name}`, () => assert.ok(parseNormalizedReference(name)));

  const invalidNames = [
    'https://github.com/docker/docker',
    'docker/Docker',
    '-docker',
    '-docker/docker',
    '-docker.io/docker/docker',
    'docker///docker',
    'docker.io/docker/Docker',
    'docker.io/docker///docker',
    '[fc00::1]',
    '[fc00::1]:5000',
    'fc00::1:5000/debian',
    '[fe80::1%eth0]:5000/debian',
    '[2001:db8:3:4::192.0.2.33]:5000/debian',
    HEX64,
    'docker-/docker',
    '-docker-/docker',
    '____/____',
    '_docker/_docker',
    'dock..er/docker',
    'dock_.er/docker',
    'dock-.er/docker',
    'docker/',
    'dock___er/docker',
    'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker',
  ];
  for (const name of invalidNames) it(`invalid ${name.length > 60 ? `${name.slice(0, 57)}...` : name}`, () => assert.throws(() => parseNormalizedReference(name), invalid()));

  it('64-hex string is refused as a name with Docker\'s message', () => {
    assert.throws(
      () => parseNormalizedReference(HEX64),
      invalid(new RegExp(`^invalid repository name \\(${HEX64}\\), cannot specify 64-byte hexadecimal strings$`)),
    );
  });
  it('63 hex characters are an ordinary name', () => {
    assert.equal(parseNormalizedReference(HEX64.slice(0, 63)).toString(), `docker.io/library/${HEX64.slice(0, 63)}`);
  });
});

describe('parseNormalizedReference: TestParseRepositoryInfo', () => {
  const cases: Array<{ remote: string; familiar: string; full: string; ambiguous?: string; domain: string }> = [
    { remote: 'fooo/bar', familiar: 'fooo/bar', full: 'docker.io/fooo/bar', ambiguous: 'index.docker.io/fooo/bar', domain: 'docker.io' },
    { remote: 'library/ubuntu', familiar: 'ubuntu', full: 'docker.io/library/ubuntu', ambiguous: 'library/ubuntu', domain: 'docker.io' },
    { remote: 'nonlibrary/ubuntu', familiar: 'nonlibrary/ubuntu', full: 'docker.io/nonlibrary/ubuntu', domain: 'docker.io' },
    { remote: 'other/library', familiar: 'other/library', full: 'docker.io/other/library', domain: 'docker.io' },
    { remote: 'private/moonbase', familiar: '127.0.0.1:8000/private/moonbase', full: '127.0.0.1:8000/private/moonbase', domain: '127.0.0.1:8000' },
    { remote: 'privatebase', familiar: '127.0.0.1:8000/privatebase', full: '127.0.0.1:8000/privatebase', domain: '127.0.0.1:8000' },
    { remote: 'private/moonbase', familiar: 'example.com/private/moonbase', full: 'example.com/private/moonbase', domain: 'example.com' },
    { remote: 'privatebase', familiar: 'example.com/privatebase', full: 'example.com/privatebase', domain: 'example.com' },
    { remote: 'private/moonbase', familiar: 'example.com:8000/private/moonbase', full: 'example.com:8000/private/moonbase', domain: 'example.com:8000' },
    { remote: 'privatebasee', familiar: 'example.com:8000/privatebasee', full: 'example.com:8000/privatebasee', domain: 'example.com:8000' },
    {
      remote: 'library/ubuntu-12.04-base',
      familiar: 'ubuntu-12.04-base',
      full: 'docker.io/library/ubuntu-12.04-base',
      ambiguous: 'index.docker.io/library/ubuntu-12.04-base',
      domain: 'docker.io',
    },
    { remote: 'library/foo', familiar: 'foo', full: 'docker.io/library/foo', ambiguous: 'docker.io/foo', domain: 'docker.io' },
    { remote: 'library/foo/bar', familiar: 'library/foo/bar', full: 'docker.io/library/foo/bar', domain: 'docker.io' },
    { remote: 'store/foo/bar', familiar: 'store/foo/bar', full: 'docker.io/store/foo/bar', domain: 'docker.io' },
    { remote: 'bar', familiar: 'Foo/bar', full: 'Foo/bar', domain: 'Foo' },
    { remote: 'bar', familiar: 'FOO/bar', full: 'FOO/bar', domain: 'FOO' },
  ];
  for (const tc of cases) {
    for (const input of [tc.familiar, tc.full, ...(tc.ambiguous ? [tc.ambiguous] : [])]) {
      it(`${input} -> ${tc.full}`, () => {
        const ref = parseNormalizedReference(input);
        assert.equal(ref.familiarName, tc.familiar);
        assert.equal(familiarName(ref), tc.familiar);
        assert.equal(ref.toString(), tc.full);
        assert.equal(ref.domain, tc.domain);
        assert.equal(ref.path, tc.remote);
      });
    }
  }
});

describe('parseNormalizedReference: TestNormalizedSplitHostname and TestParseAnyReference (named cases)', () => {
  const split: Array<[string, string, string]> = [
    ['test.com/foo', 'test.com', 'foo'],
    ['test_com/foo', 'docker.io', 'test_com/foo'],
    ['docker/migrator', 'docker.io', 'docker/migrator'],
    ['test.com:8080/foo', 'test.com:8080', 'foo'],
    ['test-com:8080/foo', 'test-com:8080', 'foo'],
    ['foo', 'docker.io', 'library/foo'],
    ['xn--n3h.com/foo', 'xn--n3h.com', 'foo'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
    ['docker.io/foo', 'docker.io', 'library/foo'],
    ['docker.io/library/foo', 'docker.io', 'library/foo'],
    ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
  ];
  for (const [input, domain, path] of split) {
    it(`split ${input}`, () => {
      const ref = parseNormalizedReference(input);
      assert.equal(ref.domain, domain);
      assert.equal(ref.path, path);
    });
  }
  const equivalent: Array<[string, string]> = [
    ['redis', 'docker.io/library/redis'],
    ['redis:latest', 'docker.io/library/redis:latest'],
    ['docker.io/library/redis:latest', 'docker.io/library/redis:latest'],
    [`redis@${REDIS_DGST}`, `docker.io/library/redis@${REDIS_DGST}`],
    [`docker.io/library/redis@${REDIS_DGST}`, `docker.io/library/redis@${REDIS_DGST}`],
    ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp'],
    ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest'],
    ['docker.io/mcgowan/myapp:latest', 'docker.io/mcgowan/myapp:latest'],
    [`dmcgowan/myapp@${REDIS_DGST}`, `docker.io/dmcgowan/myapp@${REDIS_DGST}`],
    ['dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9', 'docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9'],
    ['dbcc1', 'docker.io/library/dbcc1'],
  ];
  for (const [input, canonical] of equivalent) {
    it(`${input.length > 60 ? `${input.slice(0, 57)}...` : input} is ${canonical.length > 50 ? `${canonical.slice(0, 47)}...` : canonical}`, () => {
      const ref = parseNormalizedReference(input);
      assert.equal(ref.toString(), canonical);
      assert.deepEqual(parseReference(canonical), ref);
    });
  }
});

describe('parseReference (strict canonical, TestParseNamed)', () => {
  it('accepts canonical names and keeps the parts', () => {
    const a = parseReference('test.com/foo');
    assert.equal(a.domain, 'test.com');
    assert.equal(a.path, 'foo');
    const b = parseReference('test:8080/foo');
    assert.equal(b.domain, 'test:8080');
    const c = parseReference('docker.io/library/foo');
    assert.equal(c.path, 'library/foo');
    assert.equal(parseReference(`docker.io/library/busybox:latest@${SHA_F}`).familiarString(), `busybox:latest@${SHA_F}`);
  });
  for (const input of ['test_com/foo', 'test.com', 'foo', 'library/foo', 'docker.io/foo', 'index.docker.io/library/foo', 'busybox:latest']) {
    it(`rejects non-canonical ${input}`, () => {
      assert.throws(() => parseReference(input), invalid(/^invalid reference format: repository name must be canonical: .* \(canonical form: "docker\.io\//));
    });
  }
  it('still reports grammar errors first', () => {
    assert.throws(() => parseReference('docker.io/library/Busybox'), invalid(/must be lowercase/));
  });
});

describe('tags and digests', () => {
  it('TestParseReferenceWithTagAndDigest: both kept, familiar string round-trips', () => {
    const short = 'busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
    const ref = parseNormalizedReference(short);
    assert.equal(ref.toString(), `docker.io/library/${short}`);
    assert.equal(ref.tag, 'latest');
    assert.equal(ref.digest, 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa');
    assert.equal(familiarString(ref), short);
  });

  it('tag grammar is [\\w][\\w.-]{0,127}', () => {
    for (const t of ['latest', 'v1.0', '1', '_x', 'A-b_c.d', 'x'.repeat(128)]) assert.equal(isValidTag(t), true, t);
    for (const t of ['', '-x', '.x', 'x'.repeat(129), 'a:b', 'a/b', 'a@b', 'ä']) assert.equal(isValidTag(t), false, t);
    assert.equal(parseNormalizedReference(`a:${'x'.repeat(128)}`).tag, 'x'.repeat(128));
    assert.throws(() => parseNormalizedReference(`a:${'x'.repeat(129)}`), invalid(/^invalid reference format: invalid tag "x+\.\.\."/));
    assert.throws(() => parseNormalizedReference('busybox:-x'), invalid(/^invalid reference format: invalid tag "-x" in "busybox:-x"$/));
  });

  it('withTag (TestWithTag): replaces the tag, keeps the digest, validates', () => {
    const foo = parseNormalizedReference('test.com/foo');
    assert.equal(withTag(foo, 'tag').toString(), 'test.com/foo:tag');
    assert.equal(withTag(parseNormalizedReference('foo'), 'tag2').familiarString(), 'foo:tag2');
    assert.equal(withTag(parseNormalizedReference('test.com:8000/foo'), 'TAG5').toString(), 'test.com:8000/foo:TAG5');
    const digested = withDigest(parseNormalizedReference('test.com:8000/foo'), SHA_F);
    assert.equal(withTag(digested, 'TAG5').toString(), `test.com:8000/foo:TAG5@${SHA_F}`);
    assert.equal(withTag(parseNormalizedReference('a:old'), 'new').tag, 'new');
    assert.throws(() => withTag(foo, '-foo'), invalid(/^invalid tag "-foo"/));
    assert.throws(() => withTag(foo, ''), invalid(/^invalid tag ""/));
  });

  it('withDigest (TestWithDigest): adds the digest, keeps the tag, validates', () => {
    assert.equal(withDigest(parseNormalizedReference('test.com/foo'), SHA_F).toString(), `test.com/foo@${SHA_F}`);
    assert.equal(withDigest(parseNormalizedReference('foo'), parseDigest(SHA_F)).familiarString(), `foo@${SHA_F}`);
    assert.equal(withDigest(parseNormalizedReference('test.com:8000/foo:latest'), SHA_F).toString(), `test.com:8000/foo:latest@${SHA_F}`);
    assert.throws(() => withDigest(parseNormalizedReference('busybox'), 'foo'), invalid(/docker\.io\/library\/busybox/));
    assert.throws(() => withDigest(parseNormalizedReference('busybox'), 'sha256:1234567890098765432112345667890098765'), invalid());
  });

  it('withDefaultTag (TagNameOnly) adds latest only to a bare name', () => {
    const bare = parseNormalizedReference('busybox');
    assert.equal(isNameOnly(bare), true);
    const tagged = withDefaultTag(bare);
    assert.equal(tagged.toString(), 'docker.io/library/busybox:latest');
    assert.equal(tagged.familiarString(), 'busybox:latest');
    assert.equal(isNameOnly(tagged), false);
    assert.equal(bare.tag, undefined, 'the input is not modified');
    const pinned = parseNormalizedReference(`busybox@${SHA_F}`);
    assert.equal(withDefaultTag(pinned), pinned);
    const t = parseNormalizedReference('busybox:1.36');
    assert.equal(withDefaultTag(t).tag, '1.36');
  });

  it('parseDockerRef drops the tag when a digest is present and defaults the tag otherwise', () => {
    assert.equal(parseDockerRef(`busybox:latest@${SHA_F}`).toString(), `docker.io/library/busybox@${SHA_F}`);
    assert.equal(parseDockerRef('busybox').toString(), 'docker.io/library/busybox:latest');
    assert.equal(parseDockerRef(`busybox@${SHA_F}`).toString(), `docker.io/library/busybox@${SHA_F}`);
  });

  it('nameOnly strips tag and digest', () => {
    assert.equal(nameOnly(parseNormalizedReference(`a/b:c@${SHA_F}`)).toString(), 'docker.io/a/b');
    const bare = parseNormalizedReference('a/b');
    assert.equal(nameOnly(bare), bare);
  });
});

describe('display helpers and value behaviour', () => {
  it('imageListColumns gives docker images REPOSITORY/TAG/DIGEST', () => {
    assert.deepEqual(imageListColumns(parseNormalizedReference('busybox:latest')), { repository: 'busybox', tag: 'latest', digest: '<none>' });
    assert.deepEqual(imageListColumns(parseNormalizedReference(`localhost:5000/app@${SHA_F}`)), { repository: 'localhost:5000/app', tag: '<none>', digest: SHA_F });
    assert.deepEqual(imageListColumns(parseNormalizedReference('user/app:1')), { repository: 'user/app', tag: '1', digest: '<none>' });
  });

  it('serialises to JSON as the canonical string', () => {
    assert.equal(JSON.stringify({ ref: parseNormalizedReference('busybox') }), '{"ref":"docker.io/library/busybox"}');
  });

  it('is immutable', () => {
    const ref = parseNormalizedReference('busybox');
    assert.throws(() => {
      (ref as { tag: string | undefined }).tag = 'x';
    }, TypeError);
    assert.equal(ref.tag, undefined);
  });

  it('is a parse fixed point: canonical and familiar strings re-parse to the same reference', () => {
    for (const s of ['busybox', 'user/app:1', `localhost:5000/a/b:c@${SHA_F}`, '[::1]:5000/app', 'index.docker.io/library/x/y', 'Foo/bar']) {
      const ref = parseNormalizedReference(s);
      assert.deepEqual(parseNormalizedReference(ref.toString()), ref, s);
      assert.deepEqual(parseNormalizedReference(ref.familiarString()), ref, s);
      assert.deepEqual(parseReference(ref.toString()), ref, s);
    }
  });
});

describe('hostile input is rejected in linear time', () => {
  const N = 10_000;
  const inputs: Array<[string, string]> = [
    ['long alnum run then bad char', `${'a'.repeat(N)}!`],
    ['dash-separated components then bad char', `${'a-'.repeat(N / 2)}!`],
    ['underscore runs', `${'a__'.repeat(N / 3)}_!`],
    ['dotted domain that never ends', `${'a.'.repeat(N / 2)}a:x/!`],
    ['dashes inside a domain component', `a${'-'.repeat(N)}/b!`],
    ['many path components ending uppercase', `${'a/'.repeat(N / 2)}A`],
    ['colons', 'a:'.repeat(N / 2)],
    ['unclosed IPv6', `[${':'.repeat(N)}/a`],
    ['digest algorithm without colon', `a@${'a'.repeat(N)}`],
    ['digest with separators', `a@${'a.'.repeat(N / 2)}`],
    ['long tag', `a:${'a'.repeat(N)}`],
    ['hex-like digest too long', `a@sha256:${'f'.repeat(N)}`],
  ];
  for (const [what, input] of inputs) {
    // The runner's timeout is a hang guard against catastrophic backtracking, not a speed assertion.
    it(what, { timeout: 60_000 }, () => {
      assert.throws(() => parseNormalizedReference(input), invalid());
      assert.throws(() => parseReference(input), invalid());
    });
  }
  it('a 10,000-character domain matches the grammar, and is refused by the name\'s length (Docker 20.10 counts the domain)', { timeout: 60_000 }, () => {
    const domain = `${'a.'.repeat(N / 2 - 1)}a`;
    assert.throws(() => parseNormalizedReference(`${domain}/app:1`), invalid(/^repository name must not be more than 255 characters$/));
  });
  it('error messages stay short for long input', () => {
    assert.throws(
      () => parseNormalizedReference(`${'a'.repeat(N)}!`),
      (e: unknown) => e instanceof InvalidArgumentError && e.message.length < 400,
    );
  });
});
