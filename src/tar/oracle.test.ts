/**
 * Differential tests: archives made by GNU tar (gnu, pax+xattrs, ustar, v7) and by Python's
 * tarfile (GNU base-256, PAX with global headers) must read the same through our reader
 * as through Python's tarfile; our writer's output must read back identically in Python and
 * extract with GNU tar (xattrs included).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readTar, TarReader } from './reader.js';
import { parsePaxTime } from './pax.js';
import { writeArchive, run } from './test-helpers.js';
import type { TarHeader } from './types.js';
import type { TarWriteHeader } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-tar-oracle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PY_DUMP = `
import tarfile, sys, json, hashlib
t = tarfile.open(sys.argv[1])
out = []
for m in t:
    d = dict(name=m.name.encode('utf-8', 'surrogateescape').hex(), type=m.type.decode('latin1'), mode=m.mode & 0o7777, uid=m.uid, gid=m.gid,
             uname=m.uname, gname=m.gname, linkname=m.linkname.encode('utf-8', 'surrogateescape').hex(),
             mtime=m.pax_headers.get('mtime', str(int(m.mtime))))
    if m.ischr() or m.isblk():
        d['dev'] = [m.devmajor, m.devminor]
    x = {}
    for k, v in m.pax_headers.items():
        if k.startswith('SCHILY.xattr.'):
            x[k[13:]] = v.encode('utf-8', 'surrogateescape').hex()
    d['xattrs'] = x
    if m.isreg():
        d['size'] = m.size
        d['sha256'] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
    out.append(d)
g = {k: v for k, v in t.pax_headers.items()}
print(json.dumps({'global': g, 'members': out}))
`;

const PY_FIXTURE = `
import os, sys
r = sys.argv[1]
def w(p, data, mode=0o644, ns=None):
    p = os.path.join(r, p)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as f: f.write(data)
    os.chmod(p, mode)
os.makedirs(os.path.join(r, 'dir'))
w('dir/file.txt', b'hello world\\n')
w('dir/setuid', b'#!/bin/sh\\n', 0o4755)
w('dir/setgid', b'', 0o2755)
w('dir/\\u00fcn\\u00ef\\u6587\\u4ef6.txt', b'unicode')
w('dir/big.bin', bytes((i * 7) % 256 for i in range(1000003)))
os.makedirs(os.path.join(r, 'sticky')); os.chmod(os.path.join(r, 'sticky'), 0o1777)
w('long/' + 'a' * 120, b'long name')
deep = '/'.join(['d%02d' % i + 'x' * 46 for i in range(6)])
w('long/' + deep + '/file', b'deep')
os.symlink('dir/file.txt', os.path.join(r, 'link'))
os.symlink('t' * 150 + '/target', os.path.join(r, 'longlink'))
os.link(os.path.join(r, 'dir/file.txt'), os.path.join(r, 'hard'))
os.mkfifo(os.path.join(r, 'fifo'))
os.mknod(os.path.join(r, 'null'), 0o666 | 0o020000, os.makedev(1, 3))
os.mknod(os.path.join(r, 'sda'), 0o660 | 0o060000, os.makedev(8, 1))
os.setxattr(os.path.join(r, 'dir/file.txt'), 'user.bin', bytes([0, 0x80, 0xff, 0x0a, 0x3d]))
os.setxattr(os.path.join(r, 'dir/setuid'), 'security.capability', bytes([1, 0, 0, 2, 0x20, 0, 0, 0x80] + [0] * 12))
os.chown(os.path.join(r, 'dir/setgid'), 3000000, 2500000)
with open(os.path.join(os.fsencode(r), b'latin1-caf\\xe9'), 'wb') as f: f.write(b'bytes name')
for root, dirs, files in os.walk(r):
    for n in dirs + files:
        os.utime(os.path.join(root, n), ns=(1700000000123456789, 1700000000987654321), follow_symlinks=False)
`;

const PY_WRITE = `
import tarfile, io, sys
path, fmt = sys.argv[1], sys.argv[2]
if fmt == 'pax':
    t = tarfile.open(path, 'w', format=tarfile.PAX_FORMAT, pax_headers={'comment': 'global hello', 'SCHILY.xattr.user.g': 'gv'})
else:
    t = tarfile.open(path, 'w', format=tarfile.GNU_FORMAT)
def add(name, data=b'', **kw):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    for k, v in kw.items(): setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data))
add('a.txt', b'abc', uid=3000000, gid=7, mtime=1700000000)
add('neg', b'', mtime=-1000)
add('x' * 300, b'long', mode=0o4755)
add('sub/', type=tarfile.DIRTYPE, mode=0o1777)
add('sym', type=tarfile.SYMTYPE, linkname='l' * 200)
add('dev', type=tarfile.CHRTYPE, devmajor=4, devminor=64)
add('huge-ids', b'', uid=8**11, gid=2**40)
t.close()
`;

interface PyMember {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  linkname: string;
  mtime: string;
  dev?: [number, number];
  xattrs: Record<string, string>;
  size?: number;
  sha256?: string;
}
interface PyDump {
  global: Record<string, string>;
  members: PyMember[];
}

function pyDump(path: string): PyDump {
  return JSON.parse(run('python3', ['-c', PY_DUMP, path]).toString()) as PyDump;
}

const TYPE_CHAR: Record<TarHeader['type'], string[]> = {
  file: ['0', '\0', '7'],
  hardlink: ['1'],
  symlink: ['2'],
  char: ['3'],
  block: ['4'],
  dir: ['5'],
  fifo: ['6'],
};

interface Ours {
  header: TarHeader;
  sha256: string;
}

async function readOurs(path: string): Promise<{ entries: Ours[]; reader: TarReader }> {
  const reader = new TarReader(createReadStream(path, { highWaterMark: 10000 }));
  const entries: Ours[] = [];
  for await (const e of reader) {
    const h = createHash('sha256');
    for await (const c of e.body) h.update(c);
    entries.push({ header: e.header, sha256: h.digest('hex') });
  }
  return { entries, reader };
}

function compare(ours: Ours[], py: PyDump, label: string): void {
  assert.equal(ours.length, py.members.length, `${label}: entry count`);
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i]!.header;
    const p = py.members[i]!;
    const nameHex = (o.nameBytes ?? Buffer.from(o.name)).toString('hex').replace(/(2f)+$/, '');
    const where = `${label}: ${o.name}`;
    assert.equal(nameHex, p.name, where);
    assert.ok(TYPE_CHAR[o.type].includes(p.type), `${where}: type ${o.type} vs ${JSON.stringify(p.type)}`);
    assert.equal(o.mode, p.mode, `${where}: mode`);
    assert.equal(o.uid, p.uid, `${where}: uid`);
    assert.equal(o.gid, p.gid, `${where}: gid`);
    assert.equal(o.uname, p.uname, `${where}: uname`);
    assert.equal(o.gname, p.gname, `${where}: gname`);
    assert.equal((o.linknameBytes ?? Buffer.from(o.linkname)).toString('hex'), p.linkname, `${where}: linkname`);
    assert.deepEqual(o.mtime, parsePaxTime(Buffer.from(p.mtime)), `${where}: mtime`);
    if (p.dev) assert.deepEqual([o.devmajor, o.devminor], p.dev, `${where}: dev`);
    assert.deepEqual(Object.fromEntries([...o.xattrs].map(([k, v]) => [k, v.toString('hex')])), p.xattrs, `${where}: xattrs`);
    if (p.size !== undefined) {
      assert.equal(o.size, p.size, `${where}: size`);
      assert.equal(ours[i]!.sha256, p.sha256, `${where}: body`);
    }
  }
}

const fixture = join(dir, 'fixture');
run('python3', ['-c', PY_FIXTURE, fixture]);

for (const [format, args] of [
  ['gnu', ['--format=gnu', '.']],
  ['pax', ['--format=pax', '--xattrs', '--xattrs-include=*', '.']],
  ['ustar', ['--format=ustar', '--exclude=dir/setgid', 'dir', 'link', 'hard', 'fifo', 'null', 'sda', 'sticky']],
  ['v7', ['--format=v7', '--exclude=dir/setgid', 'dir']], // uid 3000000 does not fit these formats
] as const) {
  test(`GNU tar --format=${format}: our reader agrees with Python tarfile`, async () => {
    const path = join(dir, `gnu-${format}.tar`);
    run('tar', ['-C', fixture, '--sort=name', '-cf', path, ...args]);
    const py = pyDump(path);
    const { entries, reader } = await readOurs(path);
    compare(entries, py, format);
    assert.ok(entries.length >= 5);
    assert.equal(reader.summary.bytesRead, readFileSync(path).length, 'GNU record padding is consumed');
    if (format === 'pax') {
      const setuid = entries.find((e) => e.header.name === './dir/setuid')!;
      assert.deepEqual(setuid.header.xattrs.get('security.capability'), Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0x80, ...Array(12).fill(0)]));
      assert.deepEqual(setuid.header.mtime, { sec: 1700000000, nsec: 987654321 });
      assert.ok(setuid.header.atime, 'GNU tar pax writes atime');
      const big = entries.find((e) => e.header.name === './dir/setgid')!;
      assert.equal(big.header.uid, 3000000);
    }
    if (format === 'gnu') {
      const deep = entries.find((e) => e.header.name.endsWith('/file') && e.header.name.length > 255);
      assert.ok(deep, 'GNU long name entry present');
      assert.equal(entries.find((e) => e.header.name === './dir/setgid')!.header.uid, 3000000, 'base-256 uid');
      const l1 = entries.find((e) => e.header.name.startsWith('./latin1-'))!;
      assert.deepEqual(l1.header.nameBytes, Buffer.from('./latin1-caf\xe9', 'latin1'), 'non-UTF-8 name bytes kept');
    }
  });
}

for (const format of ['pax', 'gnu'] as const) {
  test(`Python tarfile ${format} archive (${format === 'pax' ? 'global header' : 'base-256 numbers'}) reads the same`, async () => {
    const path = join(dir, `py-${format}.tar`);
    run('python3', ['-c', PY_WRITE, path, format]);
    const py = pyDump(path);
    const { entries, reader } = await readOurs(path);
    compare(entries, py, `python-${format}`);
    if (format === 'pax') {
      assert.equal(reader.summary.globalPax.get('comment')!.toString(), 'global hello');
      assert.equal(entries[0]!.header.pax.get('comment')!.toString(), 'global hello', 'global records apply to entries');
      assert.deepEqual(Object.fromEntries(Object.entries(py.global)), { comment: 'global hello', 'SCHILY.xattr.user.g': 'gv' });
    } else {
      assert.equal(entries[0]!.header.uid, 3000000);
      assert.equal(entries.find((e) => e.header.name === 'huge-ids')!.header.gid, 2 ** 40);
    }
    assert.deepEqual(entries.find((e) => e.header.name === 'neg')!.header.mtime, { sec: -1000, nsec: 0 });
  });
}

function toWrite(h: TarHeader): TarWriteHeader {
  const w: TarWriteHeader = {
    name: h.name,
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    uname: h.uname,
    gname: h.gname,
    size: h.size,
    mtime: h.mtime,
    linkname: h.linkname,
    nameBytes: h.nameBytes,
    linknameBytes: h.linknameBytes,
    devmajor: h.devmajor,
    devminor: h.devminor,
    xattrs: h.xattrs,
  };
  return w;
}

test('GNU tar archive → our reader → our writer: Python sees identical metadata; GNU tar extracts xattrs', async () => {
  const src = join(dir, 'gnu-pax.tar');
  run('tar', ['-C', fixture, '--sort=name', '--format=pax', '--xattrs', '--xattrs-include=*', '-cf', src, '.']);
  // Re-encode through our writer, streaming bodies straight from our reader.
  const entries: Array<[TarWriteHeader, Buffer]> = [];
  for await (const e of readTar(createReadStream(src))) entries.push([toWrite(e.header), await e.body.bytes()]);
  const ours = await writeArchive(entries, { paxNanoseconds: true });
  const out = join(dir, 'ours.tar');
  writeFileSync(out, ours);
  const a = pyDump(src);
  const b = pyDump(out);
  assert.deepEqual(b.members, a.members);

  const listing = run('tar', ['-tvf', out]).toString();
  assert.match(listing, /^-rwsr-xr-x root\/root +10 2023-11-1\d \d\d:\d\d \.\/dir\/setuid$/m);
  assert.match(listing, /^crw-r--r-- root\/root +1,3 [-0-9: ]+ \.\/null$/m);

  const x = join(dir, 'extract');
  run('mkdir', ['-p', x]);
  run('tar', ['-C', x, '--xattrs', '--xattrs-include=*', '-xpf', out]);
  const cap = run('python3', ['-c', `import os,sys; print(os.getxattr(sys.argv[1], 'security.capability').hex(), os.getxattr(sys.argv[2], 'user.bin').hex())`, join(x, 'dir/setuid'), join(x, 'dir/file.txt')]).toString().trim();
  assert.equal(cap, `0100000220000080${'00'.repeat(12)} 0080ff0a3d`);
  assert.deepEqual(readFileSync(join(x, 'dir/big.bin')), readFileSync(join(fixture, 'dir/big.bin')));
  const deepName = entries.find(([h]) => h.name.length > 255 && h.name.endsWith('/file'))![0].name;
  assert.equal(readFileSync(join(x, deepName)).toString(), 'deep');
});
