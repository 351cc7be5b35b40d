/**
 * `-u` resolution against an image's /etc/passwd and /etc/group, with runc's (Docker's)
 * rules and messages; the files read through the root filesystem only.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.js';
import { UnknownUserError, execUserFrom, resolveUser } from './user.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment line is not a user, and a blank line is skipped',
  '',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'www:x:33:33:www-data:/var/www:/usr/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  'dup:x:500:500::/first:/bin/sh',
  'dup:x:501:501::/second:/bin/sh',
].join('\n');

const GROUP = ['root:x:0:', 'daemon:x:1:www', 'adm:x:4:www,daemon', 'www:x:33:', 'staff:x:50:nobody', 'nogroup:x:65534:'].join('\n');

describe('user', () => {
  it('resolves names and uids from passwd', () => {
    assert.deepEqual(execUserFrom(undefined, PASSWD, GROUP), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
    assert.deepEqual(execUserFrom('', PASSWD, GROUP), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
    assert.deepEqual(execUserFrom('www', PASSWD, GROUP), { uid: 33, gid: 33, additionalGids: [1, 4], home: '/var/www' });
    assert.deepEqual(execUserFrom('33', PASSWD, GROUP), { uid: 33, gid: 33, additionalGids: [1, 4], home: '/var/www' });
    assert.deepEqual(execUserFrom('nobody', PASSWD, GROUP), { uid: 65534, gid: 65534, additionalGids: [50], home: '/nonexistent' });
    // The first entry wins.
    assert.deepEqual(execUserFrom('dup', PASSWD, GROUP), { uid: 500, gid: 500, additionalGids: [], home: '/first' });
  });

  it('takes a uid or gid that is not in the files as is', () => {
    assert.deepEqual(execUserFrom('1234', PASSWD, GROUP), { uid: 1234, gid: 0, additionalGids: [], home: '/' });
    assert.deepEqual(execUserFrom('1234:5678', PASSWD, GROUP), { uid: 1234, gid: 5678, additionalGids: [], home: '/' });
    assert.deepEqual(execUserFrom('1234', undefined, undefined), { uid: 1234, gid: 0, additionalGids: [], home: '/' });
    assert.deepEqual(execUserFrom(undefined, undefined, undefined), { uid: 0, gid: 0, additionalGids: [], home: '/' });
  });

  it('an explicit group replaces the primary gid and adds no supplementary groups', () => {
    assert.deepEqual(execUserFrom('www:staff', PASSWD, GROUP), { uid: 33, gid: 50, additionalGids: [], home: '/var/www' });
    assert.deepEqual(execUserFrom('www:4', PASSWD, GROUP), { uid: 33, gid: 4, additionalGids: [], home: '/var/www' });
    assert.deepEqual(execUserFrom(':adm', PASSWD, GROUP), { uid: 0, gid: 4, additionalGids: [], home: '/root' });
    assert.deepEqual(execUserFrom('nobody:nogroup', PASSWD, GROUP), { uid: 65534, gid: 65534, additionalGids: [], home: '/nonexistent' });
  });

  it("fails for unknown names with Docker's messages and exit code 125", () => {
    assert.throws(() => execUserFrom('alice', PASSWD, GROUP), (e: unknown) =>
      e instanceof UnknownUserError && e.message === 'unable to find user alice: no matching entries in passwd file' && e.exitCode === 125);
    assert.throws(() => execUserFrom('alice', undefined, undefined), /unable to find user alice: no matching entries in passwd file/);
    assert.throws(() => execUserFrom('www:wheel', PASSWD, GROUP), (e: unknown) =>
      e instanceof UnknownUserError && e.message === 'unable to find group wheel: no matching entries in group file');
    assert.throws(() => execUserFrom('0:wheel', PASSWD, undefined), /unable to find group wheel: no matching entries in group file/);
    assert.throws(() => execUserFrom('-1', PASSWD, GROUP), InvalidArgumentError);
    assert.throws(() => execUserFrom('1:4294967296', PASSWD, GROUP), /uids and gids must be in range/);
  });

  describe('from a root filesystem', () => {
    let base: string;
    before(() => {
      base = mkdtempSync(join(tmpdir(), 'cairn-user-'));
    });
    after(() => rmSync(base, { recursive: true, force: true }));

    it('reads /etc/passwd and /etc/group of the image', () => {
      const root = join(base, 'plain');
      mkdirSync(join(root, 'etc'), { recursive: true });
      writeFileSync(join(root, 'etc', 'passwd'), PASSWD);
      writeFileSync(join(root, 'etc', 'group'), GROUP);
      assert.deepEqual(resolveUser(root, 'www'), { uid: 33, gid: 33, additionalGids: [1, 4], home: '/var/www' });
    });

    it('never follows a link to the host: /etc -> / reads the image root, an absolute link to /etc/passwd stays inside', () => {
      // The host has a root user in /etc/passwd; images whose links point there see their own files only.
      const a = join(base, 'etc-to-slash');
      mkdirSync(a, { recursive: true });
      symlinkSync('/', join(a, 'etc'));
      assert.throws(() => resolveUser(a, 'root'), /unable to find user root: no matching entries in passwd file/);
      writeFileSync(join(a, 'passwd'), 'imgroot:x:0:0::/img:/bin/sh\n');
      assert.deepEqual(resolveUser(a, 'imgroot'), { uid: 0, gid: 0, additionalGids: [], home: '/img' });

      const b = join(base, 'up-link');
      mkdirSync(join(b, 'etc'), { recursive: true });
      // The host's /etc/passwd has root; the image's link climbs to "/etc/hostname" of the image, which is absent.
      symlinkSync('../../../../../../../../etc/hostname', join(b, 'etc', 'passwd'));
      assert.throws(() => resolveUser(b, 'root'), /unable to find user root: no matching entries in passwd file/);
      // A numeric user needs no passwd entry.
      assert.deepEqual(resolveUser(b, '0'), { uid: 0, gid: 0, additionalGids: [], home: '/' });
      const c = join(base, 'loop');
      mkdirSync(join(c, 'etc'), { recursive: true });
      symlinkSync('/etc/passwd', join(c, 'etc', 'passwd'));
      assert.throws(() => resolveUser(c, 'root'), /too many levels of symbolic links/);
    });
  });
});
