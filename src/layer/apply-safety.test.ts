/**
 * Safe extraction: crafted layers that try to create, change, chmod, chown or read
 * something outside the target root, and corrupt or hostile archives. Each must stop with
 * an error naming the entry, leave everything outside the root as it was (a sentinel
 * tree next to the root: content, mode, owner, nanosecond mtime, listing), and leave a
 * target the caller can remove. Run as root.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createGzip } from 'node:zlib';

import { DataCorruptError } from '../errors.js';
import { constants, utimensat } from '../native/index.js';
import { encodeHeader, type TarWriteHeader } from '../tar/index.js';
import { applyLayer, type ApplyOptions, type WhiteoutMode } from './apply.js';
import { comparable, exists, isDirectory, layer, list, patchHeader, snapOne, snapTree, tempDir, chunks } from './apply-fixtures.test-helpers.js';
import { quoteName, UnsafeEntryError } from './pathsafe.js';

interface Sandbox {
  base: string;
  root: string;
  outside: string;
  /** Asserts nothing outside `root` changed (call before removing the root). */
  check: () => void;
  cleanup: () => void;
}

/** base/{root,outside}; outside holds a secret file, a private dir and a symlink, all with fixed metadata. */
function sandbox(): Sandbox {
  const t = tempDir('cairn-layer-safety-');
  const base = t.path;
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(join(outside, 'private'), { recursive: true });
  writeFileSync(join(outside, 'secret'), 'SECRET', { mode: 0o640 });
  writeFileSync(join(outside, 'private/inner'), 'INNER', { mode: 0o600 });
  symlinkSync('secret', join(outside, 'link'));
  for (const p of ['secret', 'private/inner', 'link', 'private', '.']) {
    utimensat(constants.AT_FDCWD, join(outside, p), 1000, 1, 2000, 2, constants.AT_SYMLINK_NOFOLLOW);
  }
  const before = comparable(snapTree(outside));
  const baseBefore = snapOne(base);
  return {
    base,
    root,
    outside,
    check: () => {
      assert.deepEqual(comparable(snapTree(outside)), before, 'the tree outside the root is unchanged');
      assert.deepEqual(list(base), ['outside', 'root'], 'nothing new next to the root');
      const b = snapOne(base);
      assert.deepEqual([b.mode, b.uid, b.gid, b.mtimeNs], [baseBefore.mode, baseBefore.uid, baseBefore.gid, baseBefore.mtimeNs], 'the directory holding the root is unchanged');
      assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
    },
    cleanup: t.cleanup,
  };
}

type Attack = {
  title: string;
  /** Name that must appear (JSON-quoted) in the error. */
  entry: string;
  pattern: RegExp;
  tar: (s: Sandbox) => Promise<Buffer>;
  /** Lower-layer content placed in the root first. */
  prepare?: (s: Sandbox) => void;
  modes?: WhiteoutMode[];
};

const ATTACKS: Attack[] = [
  {
    title: "'..' component",
    entry: '../outside/evil',
    pattern: /has a '\.\.' component/,
    tar: () => layer([[{ name: 'ok' }, Buffer.from('x')], [{ name: '../outside/evil' }, Buffer.from('evil')]]),
  },
  {
    title: "'..' that would stay inside is refused too, as is one deeper down",
    entry: 'a/b/../../../outside/evil',
    pattern: /'\.\.' component/,
    tar: () => layer([[{ name: 'a/b/../../../outside/evil' }, Buffer.from('evil')]]),
  },
  {
    title: 'absolute name',
    entry: 'ABS/evil',
    pattern: /is an absolute path/,
    tar: (s) => layer([[{ name: `${s.outside}/evil` }, Buffer.from('evil')]]),
  },
  {
    title: 'symlink to outside created earlier in the same layer, then a file through it',
    entry: 'esc/evil',
    pattern: /path goes through symlink "esc"/,
    tar: () => layer([[{ name: 'esc', type: 'symlink', linkname: '../outside' }], [{ name: 'esc/evil' }, Buffer.from('evil')]]),
  },
  {
    title: 'absolute symlink to outside, then a directory through it (would chmod/chown)',
    entry: 'esc/private/',
    pattern: /path goes through symlink "esc"/,
    tar: (s) => layer([[{ name: 'esc', type: 'symlink', linkname: s.outside }], [{ name: 'esc/private/', type: 'dir', mode: 0o777, uid: 4242 }]]),
  },
  {
    title: 'symlink to "/" then a path below it',
    entry: 'slash/tmp/evil',
    pattern: /path goes through symlink "slash"/,
    tar: () => layer([[{ name: 'slash', type: 'symlink', linkname: '/' }], [{ name: 'slash/tmp/evil' }, Buffer.from('evil')]]),
  },
  {
    title: 'symlink in a lower layer pointing out',
    entry: 'lower/evil',
    pattern: /path goes through symlink "lower"/,
    prepare: (s) => symlinkSync(s.outside, join(s.root, 'lower')),
    tar: () => layer([[{ name: 'lower/evil' }, Buffer.from('evil')]]),
  },
  {
    title: 'relative symlink several directories down in a lower layer',
    entry: 'a/b/c/evil',
    pattern: /path goes through symlink "a\/b\/c"/,
    prepare: (s) => {
      mkdirSync(join(s.root, 'a/b'), { recursive: true });
      symlinkSync('../../../../outside', join(s.root, 'a/b/c'));
    },
    tar: () => layer([[{ name: 'a/b/c/evil' }, Buffer.from('evil')]]),
  },
  {
    title: 'chain of symlinks',
    entry: 'one/evil',
    pattern: /path goes through symlink "one"/,
    tar: () => layer([[{ name: 'two', type: 'symlink', linkname: '../outside' }], [{ name: 'one', type: 'symlink', linkname: 'two' }], [{ name: 'one/evil' }, Buffer.from('evil')]]),
  },
  {
    title: 'directory replaced by a symlink, then written through (parent fd cached)',
    entry: 'd/evil',
    pattern: /path goes through symlink "d"/,
    tar: () =>
      layer([
        [{ name: 'd/', type: 'dir' }],
        [{ name: 'd/f' }, Buffer.from('f')],
        [{ name: 'd', type: 'symlink', linkname: '../outside' }],
        [{ name: 'd/evil' }, Buffer.from('evil')],
      ]),
  },
  {
    title: 'nested directory replaced by a symlink, then a deeper path through it',
    entry: 'x/y/private/inner',
    pattern: /path goes through symlink "x\/y"/,
    tar: () =>
      layer([
        [{ name: 'x/y/z/f' }, Buffer.from('f')],
        [{ name: 'x/y', type: 'symlink', linkname: '../../outside' }],
        [{ name: 'x/y/private/inner' }, Buffer.from('evil')],
      ]),
  },
  {
    title: 'hard link to a name outside',
    entry: 'hl',
    pattern: /hard link target has a '\.\.' component/,
    tar: () => layer([[{ name: 'hl', type: 'hardlink', linkname: '../outside/secret' }]]),
  },
  {
    title: 'hard link to an absolute name',
    entry: 'hl',
    pattern: /hard link target is an absolute path/,
    tar: (s) => layer([[{ name: 'hl', type: 'hardlink', linkname: `${s.outside}/secret` }]]),
  },
  {
    title: 'hard link through a symlink pointing out',
    entry: 'hl',
    pattern: /path goes through symlink "esc"/,
    tar: () => layer([[{ name: 'esc', type: 'symlink', linkname: '../outside' }], [{ name: 'hl', type: 'hardlink', linkname: 'esc/secret' }]]),
  },
  {
    title: 'hard link to a symlink pointing out, then written through',
    entry: 'hl/evil',
    pattern: /path goes through symlink "hl"/,
    tar: () =>
      layer([
        [{ name: 'esc', type: 'symlink', linkname: '../outside' }],
        [{ name: 'hl', type: 'hardlink', linkname: 'esc' }],
        [{ name: 'hl/evil' }, Buffer.from('evil')],
      ]),
  },
  {
    title: 'hard link replacing a directory that holds its own target',
    entry: 'a',
    pattern: /hard link to "a\/f", below the entry itself/,
    tar: () => layer([[{ name: 'a/f' }, Buffer.from('f')], [{ name: 'a', type: 'hardlink', linkname: 'a/f' }]]),
  },
  {
    title: 'whiteout through a symlink pointing out',
    entry: 'esc/.wh.secret',
    pattern: /path goes through symlink "esc"/,
    tar: () => layer([[{ name: 'esc', type: 'symlink', linkname: '../outside' }], [{ name: 'esc/.wh.secret' }]]),
    modes: ['oci-remove', 'overlay'],
  },
  {
    title: 'opaque marker in a symlink pointing out',
    entry: 'esc/.wh..wh..opq',
    pattern: /path goes through symlink "esc"/,
    prepare: (s) => symlinkSync(s.outside, join(s.root, 'esc')),
    tar: () => layer([[{ name: 'esc/.wh..wh..opq' }]]),
    modes: ['oci-remove', 'overlay'],
  },
  {
    title: "whiteout with '..' in its path",
    entry: '../outside/.wh.secret',
    pattern: /'\.\.' component/,
    tar: () => layer([[{ name: '../outside/.wh.secret' }]]),
    modes: ['oci-remove', 'overlay'],
  },
  {
    title: 'whiteout naming the parent directory',
    entry: '.wh...',
    pattern: /whiteout names the parent directory/,
    tar: () => layer([[{ name: '.wh...' }]]),
    modes: ['oci-remove', 'overlay'],
  },
  {
    title: 'whiteout naming the root itself',
    entry: './.wh..',
    pattern: /whiteout names its own directory/,
    tar: () => layer([[{ name: 'f' }, Buffer.from('f')], [{ name: './.wh..' }]]),
    modes: ['oci-remove', 'overlay'],
  },
  {
    title: 'whiteout without a name',
    entry: 'dir/.wh.',
    pattern: /whiteout without a name/,
    tar: () => layer([[{ name: 'dir/.wh.' }]]),
  },
  {
    title: 'the root replaced by a symlink',
    entry: './',
    pattern: /a symlink cannot replace the root directory/,
    tar: (s) => layer([[{ name: './', type: 'symlink', linkname: s.outside }]]),
  },
  {
    title: 'a component longer than NAME_MAX',
    entry: `${'n'.repeat(300)}`,
    pattern: /has a component of 300 bytes/,
    tar: () => layer([[{ name: 'n'.repeat(300) }, Buffer.from('x')]]),
  },
];

async function applyTo(s: Sandbox, tar: Buffer, mode: WhiteoutMode, opts: ApplyOptions = {}): Promise<void> {
  await applyLayer({ dir: s.root, whiteoutMode: mode }, chunks(tar, 1000), opts);
}

for (const a of ATTACKS) {
  for (const mode of a.modes ?? ['oci-remove']) {
    for (const follow of ['never', 'inside'] as const) {
    test(`refused: ${a.title} (${mode}${follow === 'inside' ? ', followSymlinks inside' : ''})`, async () => {
      const s = sandbox();
      try {
        a.prepare?.(s);
        const tar = await a.tar(s);
        const entry = quoteName(a.entry.replace(/^ABS/, s.outside));
        await assert.rejects(applyTo(s, tar, mode, { followSymlinks: follow }), (e: unknown) => {
          assert.ok(e instanceof UnsafeEntryError || e instanceof DataCorruptError, `a DataCorruptError, got ${String(e)}`);
          assert.match(e.message, a.pattern);
          if (follow === 'inside' && /goes through symlink/.test(e.message)) assert.match(e.message, /which leads outside the root/);
          assert.ok(e.message.includes(`entry ${entry}`), `the error names the entry: ${e.message}`);
          return true;
        });
        s.check();
        rmSync(s.root, { recursive: true });
        assert.deepEqual(list(s.base), ['outside']);
      } finally {
        s.cleanup();
      }
    });
    }
  }
}

test('entries over lower symlinks that point out replace the symlink and never touch its target', async () => {
  const s = sandbox();
  try {
    symlinkSync(s.outside, join(s.root, 'dirlink'));
    symlinkSync(join(s.outside, 'secret'), join(s.root, 'filelink'));
    symlinkSync('../outside/private', join(s.root, 'rellink'));
    symlinkSync('../outside/secret', join(s.root, 'devlink'));
    symlinkSync('../outside', join(s.root, 'gone'));
    const tar = await layer([
      [{ name: 'dirlink/', type: 'dir', mode: 0o777, uid: 4242, gid: 4242, mtime: 5 }],
      [{ name: 'filelink', mode: 0o4777, uid: 4242 }, Buffer.from('pwned')],
      [{ name: 'rellink', type: 'symlink', linkname: 'elsewhere', uid: 4242 }],
      [{ name: 'devlink', type: 'fifo', mode: 0o777 }],
      [{ name: '.wh.gone' }],
    ]);
    await applyTo(s, tar, 'oci-remove');
    s.check();
    assert.ok(isDirectory(join(s.root, 'dirlink')));
    assert.deepEqual(list(join(s.root, 'dirlink')), []);
    assert.equal(snapOne(join(s.root, 'dirlink')).uid, 4242);
    assert.equal(readFileSync(join(s.root, 'filelink'), 'utf8'), 'pwned');
    assert.equal(snapOne(join(s.root, 'rellink')).link, 'elsewhere');
    assert.equal(snapOne(join(s.root, 'devlink')).type, 'fifo');
    assert.equal(exists(join(s.root, 'gone')), false, 'the whiteout removed the symlink, not its target');
  } finally {
    s.cleanup();
  }
});

// ---------------------------------------------------------------------------
// corrupt and hostile archives

async function refusedCorrupt(tar: Buffer | AsyncIterable<Buffer>, pattern: RegExp, opts: ApplyOptions = {}): Promise<Sandbox> {
  const s = sandbox();
  await assert.rejects(
    applyLayer({ dir: s.root, whiteoutMode: 'oci-remove' }, Buffer.isBuffer(tar) ? chunks(tar, 1000) : tar, { what: 'layer L', ...opts }),
    (e: unknown) => e instanceof DataCorruptError && pattern.test(e.message) && e.message.startsWith('layer L: '),
  );
  s.check();
  rmSync(s.root, { recursive: true });
  return s;
}

test('truncated archive', async () => {
  const tar = await layer([[{ name: 'small' }, Buffer.from('s')], [{ name: 'big' }, Buffer.alloc(10_000, 1)]]);
  (await refusedCorrupt(tar.subarray(0, 3000), /truncated archive: entry "big" declares 10000 bytes/)).cleanup();
  (await refusedCorrupt(tar.subarray(0, 1024 + 300), /truncated archive: EOF inside a header at offset 1024 \(after entry "small"\)/)).cleanup();
});

test('a size field larger than the data', async () => {
  const tar = await layer([[{ name: 'liar' }, Buffer.from('only a few bytes')]]);
  const patched = patchHeader(tar, 0, (b) => b.write(`${(1_000_000).toString(8).padStart(11, '0')}\0`, 124, 'latin1'));
  (await refusedCorrupt(patched, /truncated archive: entry "liar" declares 1000000 bytes/)).cleanup();
});

test('a header checksum mismatch', async () => {
  const tar = await layer([[{ name: 'good' }, Buffer.from('g')], [{ name: 'tampered' }, Buffer.from('t')]]);
  const patched = patchHeader(tar, 1024, (b) => {
    b[0] = 0x54; // 't' -> 'T' without fixing the checksum
  }, true);
  (await refusedCorrupt(patched, /header checksum mismatch at offset 1024/)).cleanup();
});

test('a decompression bomb stops at the configured limit', async () => {
  const size = 64 * 1024 * 1024;
  async function* bomb(): AsyncGenerator<Buffer> {
    yield encodeHeader({ name: 'bomb', size }).blocks;
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < size / zeros.length; i++) yield zeros;
  }
  const gz: Buffer[] = [];
  for await (const c of Readable.from(bomb()).pipe(createGzip())) gz.push(c as Buffer);
  const compressed = Buffer.concat(gz);
  assert.ok(compressed.length < 200_000, 'a real bomb: tiny compressed');
  const s = sandbox();
  try {
    await assert.rejects(
      applyLayer({ dir: s.root, whiteoutMode: 'oci-remove' }, chunks(compressed, 4096), { decompressLimit: 4 << 20, what: 'layer B' }),
      (e: unknown) => e instanceof DataCorruptError && /^layer B: decompression limit of 4194304 bytes exceeded/.test(e.message),
    );
    assert.ok(snapOne(join(s.root, 'bomb')).size! <= 4 << 20, 'stopped at the limit');
    s.check();
  } finally {
    s.cleanup();
  }
});

test('absurd path lengths', async () => {
  (await refusedCorrupt(await layer([[{ name: `${'a/'.repeat(50_000)}f` }, Buffer.from('x')]]), /name of 100001 bytes .*exceeds the limit of 4096/)).cleanup();
  (await refusedCorrupt(await layer([[{ name: 'l', type: 'symlink', linkname: 'x'.repeat(70_000) }]]), /link name of 70000 bytes .*exceeds the limit/)).cleanup();
  // deep but legal: 2,000 nested directories are created fd by fd, without running out of fds
  // (the sandbox is removed with rm(1): Node's fs.rmSync overflows its stack on such depth)
  const s = sandbox();
  try {
    const deep = `${'d/'.repeat(2000)}leaf`;
    await applyTo(s, await layer([[{ name: deep }, Buffer.from('deep')]]), 'oci-remove');
    assert.equal(readFileSync(join(s.root, deep), 'utf8'), 'deep');
    s.check();
  } finally {
    s.cleanup();
  }
});

test('garbage input is refused before anything is written', async () => {
  const s = await refusedCorrupt(Buffer.alloc(4096, 0x41), /header checksum mismatch at offset 0/);
  s.cleanup();
});

test('absurd owners and device numbers are refused with the entry named', async () => {
  const big = await layer([[{ name: 'f', uid: 2 ** 40 }, Buffer.from('x')]]);
  (await refusedCorrupt(big, /entry "f": owner 1099511627776:0 is out of range/)).cleanup();
  const dev = await layer([[{ name: 'dev', type: 'char', devmajor: 70000, devminor: 1 }]]);
  (await refusedCorrupt(dev, /entry "dev": device number 70000:1 is out of range/)).cleanup();
});

test('no file descriptors leak, whether the apply fails or succeeds', async () => {
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (let i = 0; i < 3; i++) {
    const s = sandbox();
    try {
      const deep = await layer([
        ...Array.from({ length: 300 }, (_, j): [TarWriteHeader, Buffer] => [{ name: `d${j}/sub/f` }, Buffer.from('x')]),
        [{ name: 'esc', type: 'symlink', linkname: '../outside' }],
        [{ name: 'esc/evil' }, Buffer.from('evil')],
      ]);
      await assert.rejects(applyTo(s, deep, 'oci-remove'), UnsafeEntryError);
      await applyTo(s, await layer([[{ name: 'ok/a/b/c' }, Buffer.from('ok')]]), 'overlay');
      s.check();
    } finally {
      s.cleanup();
    }
  }
  assert.equal(fds(), before);
});

test("followSymlinks 'inside' follows a relative symlink that stays in the root; the default refuses it", async () => {
  const s = sandbox();
  try {
    mkdirSync(join(s.root, 'usr/lib'), { recursive: true });
    symlinkSync('usr/lib', join(s.root, 'lib'));
    mkdirSync(join(s.root, 'etc'));
    symlinkSync('../usr/lib', join(s.root, 'etc/up'));
    symlinkSync('usr/missing', join(s.root, 'dangling'));
    const tar = await layer([
      [{ name: 'lib/x86_64-linux-gnu/libfoo.so', mode: 0o644 }, Buffer.from('so')],
      [{ name: 'etc/up/sub/', type: 'dir', mode: 0o700, mtime: 77 }],
      [{ name: 'lib/hard', type: 'hardlink', linkname: 'lib/x86_64-linux-gnu/libfoo.so' }],
    ]);
    await assert.rejects(applyTo(s, tar, 'oci-remove'), /entry "lib\/x86_64-linux-gnu\/libfoo.so": path goes through symlink "lib"$/);
    await applyTo(s, tar, 'oci-remove', { followSymlinks: 'inside' });
    assert.equal(readFileSync(join(s.root, 'usr/lib/x86_64-linux-gnu/libfoo.so'), 'utf8'), 'so');
    assert.equal(snapOne(join(s.root, 'lib')).type, 'symlink', 'the symlink itself stays');
    assert.deepEqual([snapOne(join(s.root, 'usr/lib/sub')).mode, snapOne(join(s.root, 'usr/lib/sub')).mtimeNs], [0o700, 77_000_000_000n]);
    assert.equal(snapOne(join(s.root, 'usr/lib/hard')).ino, snapOne(join(s.root, 'usr/lib/x86_64-linux-gnu/libfoo.so')).ino);
    await assert.rejects(
      applyTo(s, await layer([[{ name: 'dangling/f' }, Buffer.from('x')]]), 'oci-remove', { followSymlinks: 'inside' }),
      /entry "dangling\/f": path goes through symlink "dangling", which does not lead to a directory/,
    );
    await assert.rejects(applyTo(s, tar, 'oci-remove', { followSymlinks: 'always' as 'inside' }), /followSymlinks must be/);
    s.check();
  } finally {
    s.cleanup();
  }
});
