/**
 * ADD into a root filesystem: local archives unpacked, URLs downloaded. The expected results
 * are what Docker 20.10.24's BuildKit produced for the same steps (docker build, then the
 * saved layers; HELPER-C-NOTES.md lists each case), unless a test says cairn differs on purpose.
 * URLs are served by a loopback node:http server. Needs root (owners, devices).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTarWriter, type TarWriteHeader } from '../tar/index.js';
import { CairnError } from '../errors.js';
import { addInto, archiveFormat, detectArchiveCompression, urlFileName, ChecksumMismatchError, DownloadError, type AddIntoOptions } from './add.js';

async function tarOf(entries: Array<TarWriteHeader & { body?: string }>): Promise<Buffer> {
  const tw = createTarWriter();
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const c of tw) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const { body, ...h } = e;
    await tw.add({ mtime: 1_600_000_000, ...h }, body !== undefined ? Buffer.from(body) : undefined);
  }
  await tw.finish();
  await reading;
  return Buffer.concat(chunks);
}

function compressWith(program: string, data: Buffer): Buffer {
  const r = spawnSync(program, ['-c'], { input: data, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `${program}: ${r.stderr?.toString()}`);
  return r.stdout;
}

/** The small archive of the docker checks: one (0640, 1234:99), sub/ (0755, 1234:99) with two. */
async function smallTar(): Promise<Buffer> {
  return tarOf([
    { name: './', type: 'dir', mode: 0o700, uid: 5, gid: 5 },
    { name: './one', body: 'one\n', mode: 0o640, uid: 1234, gid: 99, mtime: 1_650_000_000 },
    { name: './sub/', type: 'dir', mode: 0o755, uid: 1234, gid: 99, mtime: 1_650_000_000 },
    { name: './sub/two', body: 'two\n', mode: 0o644, uid: 1234, gid: 99, mtime: 1_650_000_000 },
  ]);
}

interface Dirs {
  base: string;
  ctx: string;
  root: string;
}

async function withDirs(fn: (d: Dirs) => Promise<void>): Promise<void> {
  const base = fs.mkdtempSync(join(tmpdir(), 'cairn-add-test-'));
  const d = { base, ctx: join(base, 'ctx'), root: join(base, 'root') };
  fs.mkdirSync(d.ctx);
  fs.mkdirSync(join(d.root, 'etc'), { recursive: true });
  fs.writeFileSync(join(d.root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nu1:x:1001:1002::/:/bin/sh\n');
  fs.writeFileSync(join(d.root, 'etc', 'group'), 'root:x:0:\ng2:x:1002:\n');
  try {
    await fn(d);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

function add(d: Dirs, sources: string[], dest: string, extra: Partial<AddIntoOptions> = {}): ReturnType<typeof addInto> {
  return addInto({ sourceRoot: d.ctx, fromContext: true, sources, dest, workdir: '/', targetRoot: d.root, scratch: async () => {
    const path = fs.mkdtempSync(join(d.base, 'scratch-'));
    return { path, dispose: async () => fs.rmSync(path, { recursive: true, force: true }) };
  }, ...extra });
}

function stat(d: Dirs, p: string): { mode: number; uid: number; gid: number; mtime: number; type: string } {
  const st = fs.lstatSync(join(d.root, p));
  const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : 'file';
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), type };
}

test('archives are recognised by content: plain, gzip, bzip2, xz, zstd; text, a gzip of text and an empty tar are not', async () => {
  await withDirs(async (d) => {
    const tar = await smallTar();
    const files: Record<string, Buffer> = {
      'plain.tar': tar,
      noext: gzipSync(tar),
      'b.tbz': compressWith('bzip2', tar),
      'x.txz': compressWith('xz', tar),
      'z.tzst': compressWith('zstd', tar),
      'text.tar': Buffer.from('notatar\n'),
      'plain.gz': gzipSync('hi\n'),
      'empty.tar': Buffer.alloc(10240),
    };
    for (const [n, b] of Object.entries(files)) fs.writeFileSync(join(d.ctx, n), b);
    assert.equal(await archiveFormat(join(d.ctx, 'plain.tar')), 'tar');
    assert.equal(await archiveFormat(join(d.ctx, 'noext')), 'gzip');
    assert.equal(await archiveFormat(join(d.ctx, 'b.tbz')), 'bzip2');
    assert.equal(await archiveFormat(join(d.ctx, 'x.txz')), 'xz');
    assert.equal(await archiveFormat(join(d.ctx, 'z.tzst')), 'zstd');
    for (const n of ['text.tar', 'plain.gz', 'empty.tar']) assert.equal(await archiveFormat(join(d.ctx, n)), undefined, n);
    assert.equal(detectArchiveCompression(Buffer.from([0x1f, 0x8b, 0x00])), 'tar', 'gzip needs deflate (08), as docker checks');

    const r = await add(d, ['plain.tar', 'noext', 'b.tbz', 'x.txz', 'z.tzst', 'text.tar', 'plain.gz', 'empty.tar'], '/m/');
    assert.deepEqual(r.archives.map((a) => [a.source, a.format]), [['/plain.tar', 'tar'], ['/noext', 'gzip'], ['/b.tbz', 'bzip2'], ['/x.txz', 'xz'], ['/z.tzst', 'zstd']]);
    assert.deepEqual(fs.readdirSync(join(d.root, 'm')).sort(), ['empty.tar', 'one', 'plain.gz', 'sub', 'text.tar']);
    assert.deepEqual(stat(d, 'm/one'), { mode: 0o640, uid: 1234, gid: 99, mtime: 1_650_000_000, type: 'file' });
    assert.deepEqual(stat(d, 'm/sub'), { mode: 0o755, uid: 1234, gid: 99, mtime: 1_650_000_000, type: 'dir' });
    assert.equal(fs.readFileSync(join(d.root, 'm/sub/two'), 'utf8'), 'two\n');
    // `./` is left out: the destination is the 0755 0:0 directory ADD made.
    const m = stat(d, 'm');
    assert.deepEqual([m.mode, m.uid, m.gid], [0o755, 0, 0]);
  });
});

test('the destination is a directory with or without a trailing slash, resolved in the root; --chown owns only what ADD made', async () => {
  await withDirs(async (d) => {
    fs.writeFileSync(join(d.ctx, 'a.tgz'), gzipSync(await smallTar()));
    fs.mkdirSync(join(d.root, 'opt', 'app'), { recursive: true });
    fs.symlinkSync('/opt/app', join(d.root, 'app'));
    await add(d, ['a.tgz'], '/p2');
    assert.equal(stat(d, 'p2').type, 'dir');
    assert.equal(fs.readFileSync(join(d.root, 'p2/one'), 'utf8'), 'one\n');
    await add(d, ['a.tgz'], '/app/in');
    assert.equal(fs.readFileSync(join(d.root, 'opt/app/in/sub/two'), 'utf8'), 'two\n');
    await add(d, ['a.tgz'], '/ch/new/', { chown: 'u1:g2', chmod: '700' });
    for (const p of ['ch', 'ch/new']) assert.deepEqual([stat(d, p).uid, stat(d, p).gid, stat(d, p).mode], [1001, 1002, 0o755], p);
    assert.deepEqual(stat(d, 'ch/new/one'), { mode: 0o640, uid: 1234, gid: 99, mtime: 1_650_000_000, type: 'file' }, 'the archive keeps its owners and modes');
    await add(d, ['a.tgz'], 'rel/', { workdir: '/w' });
    assert.ok(fs.existsSync(join(d.root, 'w/rel/one')));
    fs.writeFileSync(join(d.root, 'afile'), 'x');
    await assert.rejects(add(d, ['a.tgz'], '/afile/'), (e: unknown) => e instanceof CairnError && /not a directory/.test(e.message));
  });
});

test('entries: owners, modes and times kept; `..` and `/` stay inside; symlinks kept as written; hard links; FIFOs; missing parents 0755 0:0', async () => {
  await withDirs(async (d) => {
    fs.writeFileSync(
      join(d.ctx, 'weird.tar'),
      await tarOf([
        { name: 'd/', type: 'dir', mode: 0o750, uid: 1234, gid: 4321, mtime: 1_500_000_000 },
        { name: 'd/f', body: 'hello\n', mode: 0o4755, uid: 1234, gid: 4321 },
        { name: 'nodir/sub/g', body: 'g\n', mode: 0o600 },
        { name: 'd/hl', type: 'hardlink', linkname: 'd/f' },
        { name: 'd/sl', type: 'symlink', linkname: '../../../etc/passwd', uid: 7, gid: 7 },
        { name: 'abs', type: 'symlink', linkname: '/etc' },
        { name: '/absname', body: 'abs\n' },
        { name: '../up', body: 'up\n' },
        { name: 'd/../../up2', body: 'up2\n' },
        { name: 'fifo', type: 'fifo', mode: 0o644 },
      ]),
    );
    await add(d, ['weird.tar'], '/w/');
    assert.deepEqual(stat(d, 'w/d'), { mode: 0o750, uid: 1234, gid: 4321, mtime: 1_500_000_000, type: 'dir' });
    const f = stat(d, 'w/d/f');
    assert.equal(f.type, 'file');
    assert.equal(fs.readFileSync(join(d.root, 'w/d/hl'), 'utf8'), 'hello\n');
    assert.equal(fs.lstatSync(join(d.root, 'w/d/hl')).ino, fs.lstatSync(join(d.root, 'w/d/f')).ino);
    assert.equal(fs.readlinkSync(join(d.root, 'w/d/sl')), '../../../etc/passwd');
    assert.deepEqual([stat(d, 'w/d/sl').uid, stat(d, 'w/d/sl').gid], [7, 7]);
    assert.equal(fs.readlinkSync(join(d.root, 'w/abs')), '/etc');
    for (const [p, body] of [['w/absname', 'abs\n'], ['w/up', 'up\n'], ['w/up2', 'up2\n']]) assert.equal(fs.readFileSync(join(d.root, p!), 'utf8'), body);
    assert.ok(!fs.existsSync(join(d.root, 'up')) && !fs.existsSync(join(d.base, 'up')), 'nothing outside the destination');
    assert.equal(stat(d, 'w/fifo').type, 'fifo');
    for (const p of ['w/nodir', 'w/nodir/sub']) assert.deepEqual([stat(d, p).mode, stat(d, p).uid, stat(d, p).gid], [0o755, 0, 0]);
    assert.deepEqual(stat(d, 'w/nodir/sub/g'), { mode: 0o600, uid: 0, gid: 0, mtime: 1_600_000_000, type: 'file' });
    assert.equal(fs.readFileSync(join(d.root, 'etc/passwd'), 'utf8').startsWith('root:'), true);
  });
});

test('what is there is replaced; directories are merged', async () => {
  await withDirs(async (d) => {
    fs.mkdirSync(join(d.root, 'existdir'));
    fs.writeFileSync(join(d.root, 'existdir', 'inner'), 'x');
    fs.writeFileSync(join(d.root, 'existfile'), 'f');
    fs.mkdirSync(join(d.root, 'keep'));
    fs.writeFileSync(join(d.root, 'keep', 'old'), 'old');
    fs.writeFileSync(
      join(d.ctx, 'over.tar'),
      await tarOf([
        { name: 'etc/passwd', body: 'root:x:0:0::/:/bin/sh\n', mode: 0o600, uid: 3, gid: 3 },
        { name: 'existdir', body: 'now a file\n' },
        { name: 'existfile/', type: 'dir', mode: 0o711 },
        { name: 'keep/', type: 'dir', mode: 0o700, uid: 9, gid: 9 },
        { name: 'keep/new', body: 'new' },
      ]),
    );
    await add(d, ['over.tar'], '/');
    assert.deepEqual(stat(d, 'etc/passwd'), { mode: 0o600, uid: 3, gid: 3, mtime: 1_600_000_000, type: 'file' });
    assert.equal(fs.readFileSync(join(d.root, 'existdir'), 'utf8'), 'now a file\n');
    assert.equal(stat(d, 'existfile').type, 'dir');
    assert.equal(stat(d, 'existfile').mode, 0o711);
    assert.deepEqual(fs.readdirSync(join(d.root, 'keep')).sort(), ['new', 'old']);
    assert.deepEqual([stat(d, 'keep').mode, stat(d, 'keep').uid], [0o700, 9]);
  });
});

test('refused: a .wh. name, an entry through a symlink leading out of the destination', async () => {
  await withDirs(async (d) => {
    fs.writeFileSync(join(d.ctx, 'wh.tar'), await tarOf([{ name: 'a', body: 'a' }, { name: 'x/.wh.victim', body: 'wh' }]));
    await assert.rejects(add(d, ['wh.tar'], '/w/'), (e: unknown) => e instanceof CairnError && /cannot unpack \/wh\.tar: entry "x\/\.wh\.victim": cairn would read a name beginning with "\.wh\." as a whiteout/.test(e.message) && !e.message.includes('\n'));
    fs.writeFileSync(join(d.ctx, 'viasym.tar'), await tarOf([{ name: 'lnk', type: 'symlink', linkname: '/etc' }, { name: 'lnk/through', body: 'through\n' }]));
    await assert.rejects(add(d, ['viasym.tar'], '/v/'), (e: unknown) => e instanceof CairnError && !e.message.includes('\n'));
    assert.ok(!fs.existsSync(join(d.root, 'etc', 'through')));
    fs.writeFileSync(join(d.ctx, 'up.tar'), await tarOf([{ name: 'lnk', type: 'symlink', linkname: '../..' }, { name: 'lnk/esc', body: 'x' }]));
    await assert.rejects(add(d, ['up.tar'], '/u/'), CairnError);
    assert.ok(!fs.existsSync(join(d.root, 'esc')) && !fs.existsSync(join(d.base, 'esc')));
  });
});

test('wildcards: each match unpacked or copied, in order; --unpack=false copies; a corrupt archive fails', async () => {
  await withDirs(async (d) => {
    fs.writeFileSync(join(d.ctx, 'a.tar'), await smallTar());
    fs.writeFileSync(join(d.ctx, 'b.txt'), 'b\n');
    fs.mkdirSync(join(d.ctx, 'dir'));
    fs.writeFileSync(join(d.ctx, 'dir', 'c.txt'), 'c\n');
    const r = await add(d, ['*'], '/all/', { chmod: '600' });
    assert.deepEqual(fs.readdirSync(join(d.root, 'all')).sort(), ['b.txt', 'c.txt', 'one', 'sub']);
    assert.equal(stat(d, 'all/b.txt').mode, 0o600, '--chmod applies to what is copied');
    assert.equal(stat(d, 'all/one').mode, 0o640, 'not to what is unpacked');
    assert.equal(r.archives.length, 1);
    await add(d, ['a.tar'], '/no/', { unpack: false });
    assert.deepEqual(fs.readdirSync(join(d.root, 'no')), ['a.tar']);
    const tar = await smallTar();
    fs.writeFileSync(join(d.ctx, 'trunc.tgz'), gzipSync(tar).subarray(0, 60));
    const xz = compressWith('xz', tar);
    fs.writeFileSync(join(d.ctx, 'bad.txz'), Buffer.concat([xz.subarray(0, 30), Buffer.alloc(40, 7)]));
    for (const n of ['trunc.tgz', 'bad.txz']) {
      const f = await archiveFormat(join(d.ctx, n));
      if (f !== undefined) await assert.rejects(add(d, [n], `/${n}-d/`), (e: unknown) => e instanceof CairnError && !e.message.includes('\n'));
    }
  });
});

test('the first header decides: a bzip2 stream that is not tar, and big archives stream', async () => {
  await withDirs(async (d) => {
    fs.writeFileSync(join(d.ctx, 'text.bz2'), compressWith('bzip2', Buffer.from('just text\n')));
    assert.equal(await archiveFormat(join(d.ctx, 'text.bz2')), undefined);
    const big = Buffer.alloc(24 << 20, 'x');
    fs.writeFileSync(join(d.ctx, 'big.txz'), compressWith('xz', await tarOf([{ name: 'big', size: big.length, body: big.toString() }])));
    const r = await add(d, ['big.txz'], '/big/');
    assert.equal(fs.statSync(join(d.root, 'big', 'big')).size, big.length);
    assert.equal(r.archives[0]!.format, 'xz');
    await assert.rejects(add(d, ['big.txz'], '/bomb/', { decompressLimit: 1 << 20 }), (e: unknown) => e instanceof CairnError && /decompression limit/.test(e.message));
  });
});

// ---------------------------------------------------------------------------
// URLs

let server: http.Server;
let base = '';
const archiveBody: { tgz?: Buffer } = {};

before(async () => {
  archiveBody.tgz = gzipSync(await smallTar());
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    switch (u.pathname) {
      case '/file.txt':
        res.writeHead(200, { 'Last-Modified': 'Sun, 13 Sep 2020 12:26:40 GMT', 'Content-Type': 'text/plain' });
        res.end('downloaded content\n');
        return;
      case '/arch.tgz':
        res.writeHead(200);
        res.end(archiveBody.tgz);
        return;
      case '/a%20b%2A.txt':
        res.writeHead(200);
        res.end('spaced\n');
        return;
      case '/':
        res.writeHead(200, { 'Content-Disposition': 'attachment; filename="ignored.txt"' });
        res.end('index\n');
        return;
      case '/redirect':
        res.writeHead(302, { Location: '/file.txt' });
        res.end();
        return;
      case '/loop':
        res.writeHead(301, { Location: '/loop' });
        res.end();
        return;
      case '/short':
        res.writeHead(200, { 'Content-Length': '1000' });
        res.write('only a little');
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      case '/big': {
        const chunk = Buffer.alloc(1 << 20, 'y');
        res.writeHead(200, { 'Content-Length': String(32 * chunk.length) });
        let n = 0;
        const more = (): void => {
          while (n < 32) {
            n++;
            if (!res.write(chunk)) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        more();
        return;
      }
      default:
        res.writeHead(404);
        res.end('nope');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  base = `http://127.0.0.1:${addr.port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('urlFileName: the base of the decoded path, else __unnamed__', () => {
  assert.equal(urlFileName('http://h/a/b/file.txt?x=1#f'), 'file.txt');
  assert.equal(urlFileName('http://h/a%20b.txt'), 'a b.txt');
  assert.equal(urlFileName('http://h/'), '__unnamed__');
  assert.equal(urlFileName('http://h'), '__unnamed__');
  assert.equal(urlFileName('http://h/dir/'), 'dir');
  assert.equal(urlFileName('http://h/%zz'), '__unnamed__');
});

test('a URL: named from its path, 0600, 0:0, Last-Modified as mtime (else the epoch), never unpacked, --chmod ignored', async () => {
  await withDirs(async (d) => {
    const r = await add(d, [`${base}/file.txt`], '/u1/');
    assert.deepEqual(stat(d, 'u1/file.txt'), { mode: 0o600, uid: 0, gid: 0, mtime: 1_600_000_000, type: 'file' });
    assert.equal(fs.readFileSync(join(d.root, 'u1/file.txt'), 'utf8'), 'downloaded content\n');
    assert.equal(r.downloads[0]!.digest, `sha256:${createHash('sha256').update('downloaded content\n').digest('hex')}`);
    await add(d, [`${base}/file.txt`], '/u2');
    assert.equal(stat(d, 'u2').type, 'file');
    await add(d, [`${base}/arch.tgz`], '/u3/', { chown: 'u1:g2', chmod: '755' });
    assert.deepEqual([stat(d, 'u3').uid, stat(d, 'u3').gid], [1001, 1002]);
    assert.deepEqual([stat(d, 'u3/arch.tgz').mode, stat(d, 'u3/arch.tgz').uid, stat(d, 'u3/arch.tgz').gid, stat(d, 'u3/arch.tgz').mtime], [0o600, 1001, 1002, 0]);
    assert.deepEqual(fs.readFileSync(join(d.root, 'u3/arch.tgz')), archiveBody.tgz);
    await add(d, [`${base}/file.txt?x=1`], '/u4/');
    assert.ok(fs.existsSync(join(d.root, 'u4/file.txt')));
    await add(d, [`${base}/`], '/u5/');
    assert.equal(fs.readFileSync(join(d.root, 'u5/__unnamed__'), 'utf8'), 'index\n', 'Content-Disposition is not used');
    await add(d, [`${base}/a%20b%2A.txt`], '/u6/');
    assert.equal(fs.readFileSync(join(d.root, 'u6/a b*.txt'), 'utf8'), 'spaced\n');
    await add(d, [`${base}/redirect`], '/u7/');
    assert.equal(fs.readFileSync(join(d.root, 'u7/redirect'), 'utf8'), 'downloaded content\n');
    await add(d, [`${base}/arch.tgz`], '/u8/', { unpack: true });
    assert.deepEqual(fs.readdirSync(join(d.root, 'u8')).sort(), ['one', 'sub'], '--unpack=true unpacks a URL (newer BuildKit)');
    const big = await add(d, [`${base}/big`], '/u9');
    assert.equal(big.downloads[0]!.size, 32 << 20);
    assert.equal(fs.statSync(join(d.root, 'u9')).size, 32 << 20);
  });
});

test('URL failures: one line naming the URL and the status or the cause; nothing written', async () => {
  await withDirs(async (d) => {
    fs.writeFileSync(join(d.ctx, 'a.txt'), 'a');
    const oneLine = (re: RegExp) => (e: unknown) => e instanceof DownloadError && re.test(e.message) && !e.message.includes('\n');
    await assert.rejects(add(d, ['a.txt', `${base}/nosuch`], '/x/'), oneLine(new RegExp(`^failed to download ${base}/nosuch: invalid response status 404 Not Found$`)));
    assert.ok(!fs.existsSync(join(d.root, 'x')), 'downloads come before anything is written');
    await assert.rejects(add(d, ['http://127.0.0.1:1/x'], '/x/'), oneLine(/^failed to download http:\/\/127\.0\.0\.1:1\/x: connect ECONNREFUSED/));
    await assert.rejects(add(d, [`${base}/loop`], '/x/'), oneLine(/stopped after 10 redirects/));
    await assert.rejects(add(d, [`${base}/short`], '/x/'), oneLine(/the connection failed after 13 bytes/));
    await assert.rejects(add(d, ['git@github.com:a/b.git'], '/x/'), CairnError);
  });
});

test('--checksum is verified while streaming; a mismatch names the URL and both digests', async () => {
  await withDirs(async (d) => {
    const good = `sha256:${createHash('sha256').update('downloaded content\n').digest('hex')}`;
    await add(d, [`${base}/file.txt`], '/ok/', { checksum: good });
    assert.ok(fs.existsSync(join(d.root, 'ok/file.txt')));
    const bad = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(add(d, [`${base}/file.txt`], '/bad/', { checksum: bad }), (e: unknown) => e instanceof ChecksumMismatchError && e.message === `checksum mismatch for ${base}/file.txt: expected ${bad}, got ${good}`);
    assert.ok(!fs.existsSync(join(d.root, 'bad')));
    const sha512 = `sha512:${createHash('sha512').update('downloaded content\n').digest('hex')}`;
    await add(d, [`${base}/file.txt`], '/ok512/', { checksum: sha512 });
    await assert.rejects(add(d, [`${base}/file.txt`], '/x/', { checksum: 'md5:abc' }), CairnError);
  });
});
