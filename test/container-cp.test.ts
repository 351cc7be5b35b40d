/**
 * `cp` in both directions on a container's mounted root filesystem, on both drivers, with
 * the behaviours checked against Docker 20.10 (see the notes at each case): how the archive's
 * entries are named (a file, a directory, its contents with `/.`, the root, `-L`), how a
 * host destination is placed (an existing directory, a new name, a file, `cannot copy
 * directory`, `no such directory`), who owns what is copied in (the archive's owner, or one
 * owner for `-a`), and hostile containers — symlinks to `/`, to `/../../..` and to absolute
 * host paths, `..` in paths and in archives — that never lead a read or a write out of the
 * container: a canary file outside it stays untouched.
 */
import assert from 'node:assert/strict';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFromContainer, statContainerPath } from '../src/container/copy-from.js';
import { copyToContainer } from '../src/container/copy-to.js';
import { copyToHost } from '../src/container/host-copy.js';
import { spawnSync } from 'node:child_process';
import { baseLayer, type Container, Fixture, inContainer, listTar, sha256 } from './container-fixtures.js';
import { DOCKER, docker, ensureDockerd } from './docker.js';
import { have, makeTar, tempDir } from './helpers.js';

const names = async (tar: AsyncIterable<Uint8Array>): Promise<string[]> => (await listTar(tar)).map((e) => e.name);

/** This process's open descriptors of anything under `dir` (a copy that ended, however, holds none). */
function openUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch (e) {
      // the descriptor readdir itself used, closed by now
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return out;
}

for (const driver of ['overlay', 'native'] as const) {
  describe(`cp on ${driver}`, () => {
    let dir: { path: string; cleanup: () => Promise<void> };
    let fx: Fixture;
    let c: Container;
    let canary: string;
    let host: string;

    before(async () => {
      dir = await tempDir(`cairn-cp-${driver}-`);
      fx = await Fixture.create(dir.path, driver);
      c = await fx.container('one');
      canary = join(dir.path, 'canary');
      writeFileSync(canary, 'HOST\n');
      host = join(dir.path, 'host');
      mkdirSync(host);
      // A hostile container: links to its root, past its root, and to the canary's host path.
      const r = c.rootfs;
      symlinkSync('/', join(r, 'escape'));
      symlinkSync('/../../../host/file', join(r, 'etc', 'evil'));
      mkdirSync(join(r, 'host'));
      writeFileSync(join(r, 'host', 'file'), 'inner\n');
      symlinkSync(canary, join(r, 'etc', 'canary-abs'));
      symlinkSync(`../../../../../../../../../..${canary}`, join(r, 'etc', 'canary-rel'));
      mkdirSync(join(r, dir.path), { recursive: true });
      writeFileSync(join(r, canary), 'decoy inside\n');
      symlinkSync('dir', join(r, 'dirlink'));
      symlinkSync('/dir/a', join(r, 'alink'));
    });

    after(async () => {
      try {
        assert.equal(readFileSync(canary, 'utf8'), 'HOST\n', 'the canary outside the container is untouched');
        await fx?.close();
      } finally {
        await dir.cleanup();
      }
    });

    describe('out of the container', () => {
      it('names entries as Docker does: a file, a directory, its contents, the root', async () => {
        assert.deepEqual(await names(copyFromContainer(c.rootfs, '/dir/a').tar), ['a']);
        assert.deepEqual(await names(copyFromContainer(c.rootfs, '/dir').tar), ['dir/', 'dir/a', 'dir/sub/', 'dir/sub/b']);
        assert.deepEqual(await names(copyFromContainer(c.rootfs, 'dir/.').tar), ['./', './a', './sub/', './sub/b']);
        assert.deepEqual(await names(copyFromContainer(c.rootfs, '/dirlink').tar), ['dirlink'], 'a symlink as itself');
        assert.deepEqual(await names(copyFromContainer(c.rootfs, '/dirlink/').tar), ['dirlink/', 'dirlink/a', 'dirlink/sub/', 'dirlink/sub/b'], 'a trailing / follows it');
        const followed = copyFromContainer(c.rootfs, '/dirlink', { followLink: true });
        assert.deepEqual(await names(followed.tar), ['dir/', 'dir/a', 'dir/sub/', 'dir/sub/b'], '-L: the target, as the daemon names it');
        assert.equal(followed.rebaseName, 'dirlink');
        const root = (await names(copyFromContainer(c.rootfs, '/').tar)).slice(0, 3);
        assert.deepEqual(root, ['./', './alink', './bin/']);
        const entries = await listTar(copyFromContainer(c.rootfs, '/dir/a').tar);
        assert.equal(entries[0]!.body, sha256('one\n'));
      });

      it('stats a path as Docker does, and says so when it names nothing', async () => {
        const st = statContainerPath(c.rootfs, '/etc/evil');
        assert.equal(st.name, 'evil');
        assert.equal(st.linkTarget, '/host/file', 'resolved inside the container');
        assert.equal(statContainerPath(c.rootfs, '/escape').linkTarget, '/');
        assert.throws(() => copyFromContainer(c.rootfs, '/nonexist', { container: 'ctr' }), { message: 'No such container:path: ctr:/nonexist' });
      });

      it('symlinks lead nowhere outside: -L through a link past the root, a path through a link to /', async () => {
        const evil = await listTar(copyFromContainer(c.rootfs, '/etc/evil', { followLink: true }).tar);
        assert.deepEqual(evil.map((e) => [e.name, e.body]), [['file', sha256('inner\n')]], "the container's /host/file");
        for (const link of ['/etc/canary-abs', '/etc/canary-rel']) {
          const got = await listTar(copyFromContainer(c.rootfs, link, { followLink: true }).tar);
          assert.equal(got[0]!.body, sha256('decoy inside\n'), `${link} resolves inside the container`);
        }
        const through = await listTar(copyFromContainer(c.rootfs, '/escape/etc/passwd').tar);
        assert.equal(through[0]!.body, sha256(readFileSync(join(c.rootfs, 'etc', 'passwd'))));
      });

      it("a path whose '..' climbs out of the container is refused with one line", () => {
        assert.throws(() => copyFromContainer(c.rootfs, '/../../etc/passwd', { container: 'ctr' }), {
          message: `path "/../../etc/passwd" leads out of ctr (its '..' climbs above the root directory)`,
        });
        assert.throws(() => copyFromContainer(c.rootfs, 'dir/../../x'), /leads out of/);
        // '..' that stays inside is fine.
        assert.equal(copyFromContainer(c.rootfs, '/dir/../etc/passwd').stat.name, 'passwd');
      });

      it('writes to a host path as Docker does', async () => {
        const to = (src: string, dst: string, followLink = false) => copyToHost(copyFromContainer(c.rootfs, src, { followLink }), join(host, dst));
        await to('/dir/a', 'afile');
        assert.equal(readFileSync(join(host, 'afile'), 'utf8'), 'one\n');
        mkdirSync(join(host, 'ed'));
        await to('/dir/a', 'ed');
        await to('/dir', 'ed');
        assert.equal(readFileSync(join(host, 'ed', 'a'), 'utf8'), 'one\n', 'a file into an existing directory');
        assert.equal(readFileSync(join(host, 'ed', 'dir', 'sub', 'b'), 'utf8'), 'two\n', 'a directory into an existing directory');
        await to('/dir/.', 'ed2');
        assert.equal(readFileSync(join(host, 'ed2', 'sub', 'b'), 'utf8'), 'two\n', "a directory's contents as a new directory");
        mkdirSync(join(host, 'ed3'));
        await to('/dir/.', 'ed3');
        assert.equal(readFileSync(join(host, 'ed3', 'a'), 'utf8'), 'one\n', "a directory's contents into an existing one");
        await to('/dir', 'newname');
        assert.equal(readFileSync(join(host, 'newname', 'a'), 'utf8'), 'one\n', 'a directory under a new name');
        await to('/alink', 'al');
        assert.equal(readlinkSync(join(host, 'al')), '/dir/a', 'a symlink copied as one');
        await to('/dirlink', 'dl', true);
        assert.equal(readFileSync(join(host, 'dl', 'a'), 'utf8'), 'one\n', '-L: the target under the name asked for');
        mkdirSync(join(host, 'ed4'));
        await to('/dirlink', 'ed4', true);
        assert.ok(lstatSync(join(host, 'ed4', 'dirlink')).isDirectory(), '-L into a directory: under the link\'s name');
        assert.equal(lstatSync(join(host, 'afile')).uid, process.getuid!(), 'owned by the invoking user');
        await assert.rejects(to('/dir', 'afile'), { message: 'cannot copy directory' });
        await assert.rejects(to('/dir/a', 'nosuchdir/'), { message: 'no such directory' });
        await assert.rejects(to('/dir/a', 'nosuch/x'), { message: `invalid output path: directory ${JSON.stringify(join(host, 'nosuch'))} does not exist` });
        // Docker's CLI refuses a symlink that, from where it lands, leads out of the destination.
        await assert.rejects(to('/etc/evil', 'e1'), { message: `invalid symlink ${JSON.stringify(join(host, 'e1'))} -> "/../../../host/file"` });
        assert.equal(existsSync(join(host, 'e1')), false);
        assert.deepEqual(openUnder(c.rootfs), [], 'a copy that failed midway holds nothing of the container open');
      });
    });

    describe('into the container', () => {
      it('places a host file or directory as Docker does, keeping its owner unless one is given', async () => {
        const src = join(dir.path, 'src');
        mkdirSync(join(src, 'hd'), { recursive: true });
        writeFileSync(join(src, 'hf'), 'data\n');
        writeFileSync(join(src, 'hd', 'y'), 'y\n');
        chownSync(join(src, 'hf'), 4321, 4322);
        chownSync(join(src, 'hd'), 5555, 5556);
        chownSync(join(src, 'hd', 'y'), 5555, 5556);
        await copyToContainer(c.rootfs, '/tmp', { hostPath: join(src, 'hf') });
        await copyToContainer(c.rootfs, '/tmp/', { hostPath: join(src, 'hd') });
        await copyToContainer(c.rootfs, '/tmp/renamed', { hostPath: join(src, 'hf') });
        await copyToContainer(c.rootfs, '/tmp/hdcopy', { hostPath: join(src, 'hd') });
        await copyToContainer(c.rootfs, '/tmp/hfa', { hostPath: join(src, 'hf') }, { owner: { uid: 1234, gid: 1235 } });
        const st = (p: string) => lstatSync(join(c.rootfs, p));
        assert.deepEqual([st('tmp/hf').uid, st('tmp/hf').gid], [4321, 4322], "the host file's owner, as Docker keeps it");
        assert.deepEqual([st('tmp/hd/y').uid, st('tmp/hd').uid], [5555, 5555]);
        assert.equal(readFileSync(join(c.rootfs, 'tmp', 'renamed'), 'utf8'), 'data\n');
        assert.equal(readFileSync(join(c.rootfs, 'tmp', 'hdcopy', 'y'), 'utf8'), 'y\n');
        assert.deepEqual([st('tmp/hfa').uid, st('tmp/hfa').gid], [1234, 1235], '-a: the given owner');
        assert.equal(st('tmp').mode & 0o7777, 0o1777, 'the destination directory keeps its mode');
        await assert.rejects(copyToContainer(c.rootfs, '/etc/passwd', { hostPath: join(src, 'hd') }), { message: 'cannot copy directory' });
        await assert.rejects(copyToContainer(c.rootfs, '/tmp/nosuch/', { hostPath: join(src, 'hf') }), { message: 'no such directory' });
        await assert.rejects(copyToContainer(c.rootfs, '/nosuch/x', { hostPath: join(src, 'hf') }, { container: 'ctr' }), { message: 'No such container:path: ctr:/nosuch' });
      });

      it('extracts a tar (docker cp -) into a directory only', async () => {
        const tar = await makeTar([{ path: 'sub/', type: 'dir' }, { path: 'sub/t', content: 't\n' }]);
        await copyToContainer(c.rootfs, '/tmp', { tar: (async function* () { yield tar; })() });
        assert.equal(readFileSync(join(c.rootfs, 'tmp', 'sub', 't'), 'utf8'), 't\n');
        await assert.rejects(copyToContainer(c.rootfs, '/etc/passwd', { tar: (async function* () { yield tar; })() }, { container: 'ctr' }), {
          message: 'destination "ctr:/etc/passwd" must be a directory',
        });
        // A directory where the tar has a file (and the reverse) is refused, in Docker's words (its NoOverwriteDirNonDir).
        const clash = await makeTar([{ path: 'sub', content: 'x' }]);
        await assert.rejects(copyToContainer(c.rootfs, '/tmp', { tar: (async function* () { yield clash; })() }, { container: 'ctr' }), {
          message: 'cannot overwrite directory "/tmp/sub" with non-directory "/tmp"',
        });
        assert.ok(lstatSync(join(c.rootfs, 'tmp', 'sub')).isDirectory());
      });

      it('never writes outside the container: links to /, to host paths, .. in paths and in archives', async () => {
        const src = join(dir.path, 'payload');
        writeFileSync(src, 'payload\n');
        // Through a link to the container's root: lands in the container's /tmp.
        await copyToContainer(c.rootfs, '/escape/tmp/through-escape', { hostPath: src });
        assert.equal(readFileSync(join(c.rootfs, 'tmp', 'through-escape'), 'utf8'), 'payload\n');
        // Onto links naming the canary's host path: followed inside the container.
        await copyToContainer(c.rootfs, '/etc/canary-abs', { hostPath: src });
        await copyToContainer(c.rootfs, '/etc/canary-rel', { hostPath: src });
        assert.equal(readFileSync(join(c.rootfs, canary), 'utf8'), 'payload\n', 'written at the link target inside the container');
        // Into a directory reached through a link past the root.
        mkdirSync(join(c.rootfs, 'host', 'd'));
        symlinkSync('/../../../../host/d', join(c.rootfs, 'etc', 'evil-dir'));
        await copyToContainer(c.rootfs, '/etc/evil-dir', { hostPath: src });
        assert.equal(readFileSync(join(c.rootfs, 'host', 'd', 'payload'), 'utf8'), 'payload\n');
        await assert.rejects(copyToContainer(c.rootfs, '../../../tmp', { hostPath: src }, { container: 'ctr' }), {
          message: `path "../../../tmp" leads out of ctr (its '..' climbs above the root directory)`,
        });
        const feed = (b: Buffer) => ({ tar: (async function* () { yield b; })() });
        await assert.rejects(copyToContainer(c.rootfs, '/tmp', feed(await makeTar([{ path: '../../../outside', content: 'x' }]))), { message: '"../../../outside" is outside of "/tmp"' });
        assert.equal(existsSync(join(c.rootfs, 'outside')), false);
        await assert.rejects(copyToContainer(c.rootfs, '/tmp', feed(await makeTar([{ path: '.wh.x', content: '' }]))), /name beginning with "\.wh\." as a whiteout/);
        await assert.rejects(copyToContainer(c.rootfs, '/tmp', feed(await makeTar([{ path: 'l', type: 'symlink', linkname: '../../../..' }]))), { message: 'invalid symlink "/tmp/l" -> "../../../.."' });
        // A directory of the container that is a link: never written through (refused).
        await assert.rejects(copyToContainer(c.rootfs, '/', feed(await makeTar([{ path: 'escape/etc/through', content: 'x' }]))), /symlink/);
        assert.equal(existsSync(join(c.rootfs, 'etc', 'through')), false);
        assert.equal(existsSync('/etc/through'), false);
        assert.equal(readFileSync(canary, 'utf8'), 'HOST\n');
      });
    });
  });
}

describe('cp beside Docker 20.10', { skip: !have(DOCKER) || !have('dockerd') ? 'docker is not installed' : false }, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let fx: Fixture;
  let stop: () => Promise<void> = async () => undefined;
  const name = `cairn-cp-${process.pid}`;
  const script = 'ln -s dir /dirlink; ln -s /dir/a /alink; ln -s /../../../etc/passwd /etc/evil';

  before(async () => {
    dir = await tempDir('cairn-cp-docker-');
    const tar = await baseLayer();
    fx = await Fixture.create(dir.path, 'overlay', 'bb:cp', tar);
    stop = (await ensureDockerd()).stop;
    docker(['import', '-', `${name}:1`], tar);
  });

  after(async () => {
    try {
      spawnSync(DOCKER, ['rm', '-f', name], { stdio: 'ignore' });
      spawnSync(DOCKER, ['rmi', `${name}:1`], { stdio: 'ignore' });
      await fx?.close();
    } finally {
      await stop();
      await dir.cleanup();
    }
  });

  it('archives what docker cp CTR:SRC - archives, named alike', async () => {
    docker(['run', '--name', name, '--network', 'none', `${name}:1`, '/bin/sh', '-c', script]);
    const c = await fx.container('beside-docker');
    inContainer(c, script);
    for (const [src, follow] of [['/dir', false], ['/dir/.', false], ['/dir/a', false], ['/dirlink', false], ['/dirlink/', false], ['/dirlink', true], ['/etc/evil', true], ['/alink', false]] as const) {
      const out = spawnSync(DOCKER, ['cp', ...(follow ? ['-L'] : []), `${name}:${src}`, '-'], { maxBuffer: 64 << 20 });
      assert.equal(out.status, 0, out.stderr?.toString());
      const view = (l: Awaited<ReturnType<typeof listTar>>) => l.map((e) => `${e.type} ${e.name} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.linkname} ${e.body ?? ''}`);
      assert.deepEqual(view(await listTar(copyFromContainer(c.rootfs, src, { followLink: follow }).tar)), view(await listTar(out.stdout)), `cp ${follow ? '-L ' : ''}${src}`);
    }
  });
});
