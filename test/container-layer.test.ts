/**
 * The layer model of containers (issue 11 point 3), on real kernel overlayfs and on the
 * native driver: containers of one image are active snapshots on its top layer; each writes
 * only into its own writable layer (neither sees the other's files), a changed file is
 * copied up and the image's layers stay byte for byte as they were, the writable layer holds
 * only what changed (its size on disk: overlay), and removing it removes it from disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NotFoundError } from '../src/errors.js';
import { writableLayer } from '../src/snapshot/index.js';
import { Fixture } from './container-fixtures.js';
import { tempDir } from './helpers.js';

/** A checksum of every entry of a directory tree: names, types, modes, owners, contents, link targets. */
function treeSum(root: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      h.update(`${r}\0${st.mode}\0${st.uid}:${st.gid}\0${st.mtimeMs}\0`);
      if (st.isFile()) h.update(readFileSync(p));
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return h.digest('hex');
}

for (const driver of ['overlay', 'native'] as const) {
  describe(`the layer model on ${driver}`, () => {
    let dir: { path: string; cleanup: () => Promise<void> };
    let fx: Fixture;
    /** The image's layer directories, as a container prepared on it stacks them (empty for native: whole trees). */
    let imageLayers: string[];
    let imageSums: string[];

    before(async () => {
      dir = await tempDir(`cairn-layer-${driver}-`);
      fx = await Fixture.create(dir.path, driver);
      const probe = await fx.sn.prepare('probe', fx.topChainId);
      const w = writableLayer(probe);
      // native: a view binds the top layer's whole tree; overlay: every layer's own directory.
      imageLayers = driver === 'overlay' ? w.lowerdirs : [(await fx.sn.view('probe-view', fx.topChainId))[0]!.source];
      await fx.sn.remove('probe');
      imageSums = imageLayers.map(treeSum);
    });

    after(async () => {
      try {
        await fx.sn.remove('probe-view').catch((e: unknown) => {
          if (!(e instanceof NotFoundError)) throw e;
        });
        await fx?.close();
      } finally {
        await dir.cleanup();
      }
    });

    it("two containers of one image write different files, and neither sees the other's", async () => {
      const a = await fx.container('a');
      const b = await fx.container('b');
      writeFileSync(join(a.rootfs, 'only-a'), 'a\n');
      writeFileSync(join(b.rootfs, 'only-b'), 'b\n');
      writeFileSync(join(a.rootfs, 'etc', 'motd'), 'changed by a\n');
      assert.equal(existsSync(join(a.rootfs, 'only-b')), false);
      assert.equal(existsSync(join(b.rootfs, 'only-a')), false);
      assert.equal(readFileSync(join(b.rootfs, 'etc', 'motd'), 'utf8'), 'second motd\n', "b sees the image's file");
      assert.equal(readFileSync(join(a.rootfs, 'etc', 'motd'), 'utf8'), 'changed by a\n');
    });

    it("a changed file is copied up: the image's layers stay exactly as they were", async () => {
      const c = await fx.container('copyup');
      appendFileSync(join(c.rootfs, 'dir', 'a'), 'appended\n');
      writeFileSync(join(c.rootfs, 'etc', 'passwd'), 'rewritten\n');
      assert.equal(readFileSync(join(c.upper, 'dir', 'a'), 'utf8'), 'one\nappended\n', 'the change is in the writable layer');
      assert.deepEqual(imageLayers.map(treeSum), imageSums);
    });

    if (driver === 'overlay') {
      it('the writable layer holds only what changed (its size on disk)', async () => {
        const c = await fx.container('size');
        const empty = await fx.sn.usage(c.key);
        writeFileSync(join(c.rootfs, 'big'), Buffer.alloc(1 << 20, 7));
        appendFileSync(join(c.rootfs, 'etc', 'motd'), 'x');
        const used = await fx.sn.usage(c.key);
        const busybox = lstatSync('/bin/busybox').size;
        assert.ok(used.size - empty.size >= 1 << 20 && used.size - empty.size < (1 << 20) + 64 * 1024, `1 MiB and a copied-up file: ${used.size - empty.size} bytes`);
        assert.ok(used.size < busybox, "none of the image's files");
        // Its root, /big, /etc (copied up as a directory) and /etc/motd.
        assert.equal(used.inodes - empty.inodes, 3);
        assert.deepEqual(readdirSync(c.upper).sort(), ['big', 'etc']);
      });
    }

    it('removing the writable layer removes it from disk', async () => {
      const c = await fx.container('removed', false);
      writeFileSync(join(c.upper, 'x'), 'x');
      await fx.sn.remove(c.key);
      fx.containers.splice(fx.containers.indexOf(c), 1);
      assert.equal(existsSync(c.upper), false);
      assert.deepEqual(imageLayers.map(treeSum), imageSums);
    });
  });
}
