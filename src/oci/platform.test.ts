import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostPlatform, matchPlatform, normalizePlatform, parsePlatform, parsePlatformSpecifier, platformFromNode, platformString } from './platform.js';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';

test('Node arch → OCI platform', async (t) => {
  const table: [string, string, 'LE' | 'BE', string | undefined, string][] = [
    ['linux', 'x64', 'LE', undefined, 'linux/amd64'],
    ['linux', 'arm64', 'LE', undefined, 'linux/arm64'],
    ['linux', 'arm', 'LE', undefined, 'linux/arm/v7'],
    ['linux', 'arm', 'LE', '6', 'linux/arm/v6'],
    ['linux', 'ia32', 'LE', undefined, 'linux/386'],
    ['linux', 'ppc64', 'LE', undefined, 'linux/ppc64le'],
    ['linux', 'ppc64', 'BE', undefined, 'linux/ppc64'],
    ['linux', 's390x', 'BE', undefined, 'linux/s390x'],
    ['linux', 'riscv64', 'LE', undefined, 'linux/riscv64'],
    ['linux', 'mipsel', 'LE', undefined, 'linux/mipsle'],
    ['win32', 'x64', 'LE', undefined, 'windows/amd64'],
    ['darwin', 'arm64', 'LE', undefined, 'darwin/arm64'],
  ];
  for (const [os, arch, endian, armv, want] of table) {
    await t.test(`${os} ${arch} ${endian}${armv ? ` armv${armv}` : ''}`, () => {
      assert.equal(platformString(platformFromNode(os, arch, endian, armv)), want);
    });
  }
  await t.test('unknown arch or OS', () => {
    assert.throws(() => platformFromNode('linux', 'ppc', 'BE'), UnsupportedError);
    assert.throws(() => platformFromNode('haiku', 'x64'), UnsupportedError);
  });
  await t.test('hostPlatform matches this process', () => {
    const h = hostPlatform();
    assert.equal(h.os, 'linux');
    const expectArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x', riscv64: 'riscv64' };
    if (expectArch[process.arch]) assert.equal(h.architecture, expectArch[process.arch]);
  });
});

test('parsePlatform', async (t) => {
  const table: [string, string][] = [
    ['linux/amd64', 'linux/amd64'],
    ['linux/amd64/v8', 'linux/amd64/v8'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/aarch64', 'linux/arm64'],
    ['Linux/X86_64', 'linux/amd64'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['windows/amd64', 'windows/amd64'],
  ];
  for (const [input, want] of table) {
    await t.test(input, () => assert.equal(platformString(parsePlatform(input)), want));
  }
  await t.test('single component', () => {
    assert.deepEqual(parsePlatform('linux'), normalizePlatform(hostPlatform()));
    assert.equal(platformString(parsePlatform('arm64')), 'linux/arm64');
  });
  await t.test('malformed', () => {
    for (const bad of ['', 'linux/', '/amd64', 'linux/amd64/v8/x', 'linux/amd 64']) {
      assert.throws(() => parsePlatform(bad), InvalidArgumentError, bad);
    }
  });
});

test('matchPlatform', () => {
  const p = (s: string) => parsePlatform(s);
  assert.equal(matchPlatform(p('linux/amd64'), { os: 'linux', architecture: 'amd64' }), true);
  assert.equal(matchPlatform(p('linux/amd64'), { os: 'linux', architecture: 'arm64' }), false);
  assert.equal(matchPlatform(p('linux/amd64'), { os: 'windows', architecture: 'amd64' }), false);
  assert.equal(matchPlatform({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }), true);
  assert.equal(matchPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'arm64' }), true);
  assert.equal(matchPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm', variant: 'v6' }), false);
  assert.equal(matchPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm' }), true, 'arm without variant is v7');
  assert.equal(matchPlatform({ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v6' }), true, 'no wanted variant: any');
  assert.equal(matchPlatform({ os: 'linux', architecture: 'x86_64' }, { os: 'linux', architecture: 'amd64' }), true);
});

test("parsePlatformSpecifier: containerd's parse, and its words for what it refuses", () => {
  assert.equal(platformString(parsePlatformSpecifier('Linux/AMD64')), 'linux/amd64');
  assert.equal(platformString(parsePlatformSpecifier('arm64')), 'linux/arm64');
  assert.equal(platformString(parsePlatformSpecifier('linux/bogus')), 'linux/bogus');
  const refused: Array<[string, string]> = [
    ['bogus', '"bogus": unknown operating system or architecture: invalid argument'],
    ['linux//amd64', '"" is an invalid component of "linux//amd64": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument'],
    ['lin.ux/amd64', '"lin.ux" is an invalid component of "lin.ux/amd64": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument'],
    ['a/b/c/d', '"a/b/c/d": cannot parse platform specifier: invalid argument'],
    ['linux/*', '"linux/*": wildcards not yet supported: invalid argument'],
  ];
  for (const [input, message] of refused) assert.throws(() => parsePlatformSpecifier(input), { message });
});
