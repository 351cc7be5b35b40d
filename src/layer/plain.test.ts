/**
 * The plain lane (native scanPlain + applyPlain, Applier.plainLane, the recorder's `plain`):
 * the scanner reads every entry it takes exactly as the tar reader and the path rules read it,
 * never takes one they would refuse or treat specially, and the applier gives the same tree,
 * the same record and the same errors with the lane as without it. Run as root (ownership).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';

import { ENTRY_META_LENGTH, PLAIN, PLAIN_INFO_SLOTS, scanPlain } from '../native/index.js';
import { writeChecksum } from '../tar/fields.js';
import { TarReader, type TarEntry, type TarWriteHeader } from '../tar/index.js';
import { applyLayer, type WhiteoutMode } from './apply.js';
import { chunks, collect, comparable, layer, pattern, snapTree, tempDir } from './apply-fixtures.test-helpers.js';
import { safePath } from './pathsafe.js';
import { reassembleTar, TarSplitRecorder } from './tarsplit.js';

const T = { sec: 1700000000, nsec: 123456789 };
const MAX_FILE = 4 << 20;

/** Entries of every kind the lane takes, and of kinds and names it must leave to the reader. */
function mixed(): Array<[TarWriteHeader, Buffer?]> {
  const long = `${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(60)}`;
  return [
    [{ name: './', type: 'dir', mode: 0o755, mtime: T }],
    [{ name: './etc/', type: 'dir', mode: 0o750, uid: 3, gid: 4, mtime: { sec: 1600000000, nsec: 0 } }],
    [{ name: './etc/passwd', mode: 0o644, mtime: T }, Buffer.from('root:x:0:0::/root:/bin/sh\n')],
    [{ name: 'etc//double/./dot', mode: 0o600, mtime: T }, pattern(1000, 2)],
    [{ name: 'etc/empty', mode: 0o644, mtime: T }, Buffer.alloc(0)],
    [{ name: 'bin', type: 'symlink', linkname: 'usr/bin', mtime: T }],
    [{ name: 'etc/link-abs', type: 'symlink', linkname: '/etc/passwd', mtime: T }],
    [{ name: `${long}/`, type: 'dir', mode: 0o755, mtime: T }],
    [{ name: `${long}/file`, mode: 0o4755, uid: 1000, gid: 1000, mtime: T }, pattern(70000, 3)],
    [{ name: 'ünïcødé/名前', mode: 0o644, mtime: T }, Buffer.from('x')],
    [{ name: 'etc/hard', type: 'hardlink', linkname: 'etc/passwd', mtime: T }],
    [{ name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: T }],
    [{ name: 'fifo', type: 'fifo', mode: 0o644, mtime: T }],
    [{ name: 'etc/.wh.gone', mtime: T }, Buffer.alloc(0)],
    [{ name: 'etc/.wh..wh..opq', mtime: T }, Buffer.alloc(0)],
    [{ name: 'x', mode: 0o644, mtime: T, xattrs: new Map([['user.a', Buffer.from('b')]]) }, Buffer.from('with xattr')],
    [{ name: 'big', mode: 0o644, mtime: T }, pattern(MAX_FILE + 1, 4)],
    [{ name: 'at-limit', mode: 0o644, mtime: T }, pattern(MAX_FILE, 5)],
    [{ name: 'a/../escape', mode: 0o644, mtime: T }, Buffer.from('no')],
    [{ name: '/abs', mode: 0o644, mtime: T }, Buffer.from('no')],
    [{ name: 'last', mode: 0o644, mtime: { sec: 5, nsec: 0 } }, Buffer.from('end')],
  ];
}

interface Scanned {
  kind: number;
  key: string;
  link: string;
  headerOff: number;
  dataOff: number;
  size: number;
  crc: number;
  meta: number[];
}

/** scanPlain from `pos`, at most `max` entries. */
function scan(buf: Buffer, pos: number, max: number): Scanned[] {
  const info = new Int32Array(max * PLAIN_INFO_SLOTS);
  const meta = new Float64Array(max * ENTRY_META_LENGTH);
  const names = Buffer.alloc(64 * 1024);
  const n = scanPlain(buf, pos, buf.length, max, MAX_FILE, info, meta, names);
  const out: Scanned[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * PLAIN_INFO_SLOTS;
    const at = (k: number): number => info[o + k]!;
    out.push({
      kind: at(PLAIN.kind),
      key: names.toString('latin1', at(PLAIN.keyOff), at(PLAIN.keyOff) + at(PLAIN.keyLen)),
      link: names.toString('latin1', at(PLAIN.linkOff), at(PLAIN.linkOff) + at(PLAIN.linkLen)),
      headerOff: at(PLAIN.headerOff),
      dataOff: at(PLAIN.dataOff),
      size: at(PLAIN.size),
      crc: at(PLAIN.crc) >>> 0,
      meta: [...meta.subarray(i * ENTRY_META_LENGTH, (i + 1) * ENTRY_META_LENGTH)],
    });
    const key = names.subarray(at(PLAIN.keyOff), at(PLAIN.keyOff) + at(PLAIN.keyLen)).toString('latin1');
    const base = at(PLAIN.baseOff);
    assert.equal(key.lastIndexOf('/') + 1, base, 'the last component starts after the last slash');
    assert.equal(at(PLAIN.depth), key.split('/').length);
  }
  return out;
}

/** What the tar reader and the path rules make of the first entry at `pos`, or null when they refuse it. */
async function readOne(buf: Buffer, pos: number): Promise<Scanned | null> {
  try {
    for await (const e of new TarReader([buf.subarray(pos)])) return await expected(e, pos);
    return null;
  } catch {
    return null;
  }
}

async function expected(e: TarEntry, base: number): Promise<Scanned> {
  const h = e.header;
  const p = safePath(h.nameBytes ?? Buffer.from(h.name, 'utf8'), 'layer', h.name);
  const body = await e.body.bytes();
  const at = h.atime ?? h.mtime;
  return {
    kind: h.type === 'dir' ? 0 : h.type === 'symlink' ? 1 : 5,
    key: p.key,
    link: h.type === 'symlink' ? (h.linknameBytes ?? Buffer.from(h.linkname, 'utf8')).toString('latin1') : '',
    headerOff: base + e.headerOffset,
    dataOff: base + e.dataOffset,
    size: h.size,
    crc: body.length > 0 ? crc32(body) >>> 0 : 0,
    meta: [h.uid, h.gid, h.mode & 0o7777, at.sec, at.nsec, h.mtime.sec, h.mtime.nsec, 0, 0],
  };
}

/** Offsets of every entry's first header block. */
async function offsets(buf: Buffer): Promise<number[]> {
  const out: number[] = [];
  for await (const e of new TarReader([buf])) out.push(e.headerOffset);
  return out;
}

test('scanPlain takes exactly the ordinary entries, read as the tar reader and the path rules read them', async () => {
  const tar = await layer(mixed());
  const taken: string[] = [];
  for (const pos of await offsets(tar)) {
    const got = scan(tar, pos, 1);
    const want = await readOne(tar, pos);
    if (got.length === 0) continue;
    assert.ok(want !== null, `scanned an entry at ${pos} the reader refuses`);
    assert.deepEqual(got[0], want);
    taken.push(got[0]!.key);
  }
  const long = `${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(60)}`;
  assert.deepEqual(taken, [
    'etc',
    'etc/passwd',
    'etc/double/dot',
    'etc/empty',
    'bin',
    'etc/link-abs',
    long,
    `${long}/file`,
    Buffer.from('ünïcødé/名前').toString('latin1'),
    'at-limit',
    'last',
  ]);
});

test('scanPlain reads a run up to the first entry it leaves, and only entries lying wholly in the bytes given', async () => {
  const tar = await layer([
    [{ name: 'a/', type: 'dir', mode: 0o755, mtime: T }],
    [{ name: 'a/1', mode: 0o644, mtime: T }, pattern(600, 1)],
    [{ name: 'a/2', type: 'symlink', linkname: '1', mtime: T }],
    [{ name: 'a/dev', type: 'fifo', mode: 0o644, mtime: T }],
    [{ name: 'a/3', mode: 0o644, mtime: T }, pattern(10, 2)],
  ]);
  const run = scan(tar, 0, 256);
  assert.deepEqual(run.map((e) => e.key), ['a', 'a/1', 'a/2']);
  // cut inside a/1's padding: only 'a' lies wholly before the cut
  const cut = run[1]!.dataOff + 600 + 10;
  const info = new Int32Array(256 * PLAIN_INFO_SLOTS);
  const n = scanPlain(tar, 0, cut, 256, MAX_FILE, info, new Float64Array(256 * ENTRY_META_LENGTH), Buffer.alloc(4096));
  assert.equal(n, 1);
  // names full: nothing is taken that does not fit
  assert.equal(scanPlain(tar, 0, tar.length, 256, MAX_FILE, info, new Float64Array(256 * ENTRY_META_LENGTH), Buffer.alloc(0)), 0);
  // max entries
  assert.equal(scanPlain(tar, 0, tar.length, 2, MAX_FILE, info, new Float64Array(256 * ENTRY_META_LENGTH), Buffer.alloc(4096)), 2);
});

test('scanPlain never takes a damaged header the reader refuses (random damage, 400 tries)', async () => {
  const tar = await layer(mixed().filter(([h]) => h.name !== 'big'));
  const starts = await offsets(tar);
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  let accepted = 0;
  for (let t = 0; t < 400; t++) {
    const buf = Buffer.from(tar);
    const pos = starts[rnd(starts.length)]!;
    for (let k = 1 + rnd(3); k > 0; k--) buf[pos + rnd(512)] = rnd(4) === 0 ? 0x2f : rnd(256);
    if (rnd(2) === 0) writeChecksum(buf.subarray(pos, pos + 512));
    const got = scan(buf, pos, 1);
    if (got.length === 0) continue;
    accepted++;
    const want = await readOne(buf, pos);
    assert.ok(want !== null, `try ${t}: scanned a damaged entry the reader refuses`);
    assert.deepEqual(got[0], want, `try ${t}`);
  }
  assert.ok(accepted > 20, `some damaged headers stay plain entries (${accepted})`);
});

/** Apply `tar` with and without the lane (a tap without `plain` turns it off); tree and record must agree. */
async function bothWays(tar: Buffer, mode: WhiteoutMode, prepare: (dir: string) => void = () => undefined): Promise<{ tree: unknown; lanes: number }> {
  const trees: unknown[] = [];
  const records: Buffer[] = [];
  let lanes = 0;
  for (const lane of [true, false]) {
    const d = tempDir();
    try {
      prepare(d.path);
      let record: Buffer = Buffer.alloc(0);
      const rec = new TarSplitRecorder(async (s) => {
        record = await collect(s);
      });
      let plainRuns = 0;
      const tap = lane
        ? { ...rec.tap, plain: (run: Parameters<NonNullable<typeof rec.tap.plain>>[0]) => (plainRuns++, rec.tap.plain!(run)) }
        : { raw: rec.tap.raw, entry: rec.tap.entry, body: rec.tap.body };
      const r = await applyLayer({ dir: d.path, whiteoutMode: mode }, chunks(tar, 1 << 20), { tap });
      const { reproducible } = await rec.finish();
      if (lane) lanes = plainRuns;
      const tree = comparable(snapTree(d.path));
      // times the tar does not give (the root's, a created parent's): made now
      const recent = BigInt(Date.now() - 600_000) * 1_000_000n;
      for (const e of Object.values(tree)) if (e.mtimeNs > recent) e.mtimeNs = 0n;
      trees.push(tree);
      records.push(record);
      if (reproducible) assert.deepEqual(await collect(reassembleTar([record], d.path, { expectedDiffId: r.diffId })), tar, 'the tar is re-emitted exactly');
    } finally {
      d.cleanup();
    }
  }
  assert.deepEqual(trees[0], trees[1], 'the same tree with and without the lane');
  assert.deepEqual(records[0], records[1], 'the same record with and without the lane');
  return { tree: trees[0], lanes };
}

test('the applier gives the same tree and tar-split record with the lane as without it', async () => {
  const tar = await layer(mixed().filter(([h]) => !['a/../escape', '/abs', 'etc/.wh.gone', 'etc/.wh..wh..opq'].includes(h.name)));
  for (const mode of ['overlay', 'oci-remove'] as const) {
    const { lanes } = await bothWays(tar, mode);
    assert.ok(lanes > 0, 'the lane took runs');
  }
});

test('entries the pool stops at (a name that exists, a missing parent) are applied by the reader and the applier, in order', async () => {
  const tar = await layer([
    [{ name: 'keep/', type: 'dir', mode: 0o700, uid: 5, mtime: T }],
    [{ name: 'keep/old', mode: 0o600, mtime: T }, Buffer.from('new content')],
    [{ name: 'deep/er/file', mode: 0o640, mtime: T }, Buffer.from('parents made')],
    [{ name: 'dup', mode: 0o644, mtime: T }, Buffer.from('first')],
    [{ name: 'dup', mode: 0o600, mtime: T }, Buffer.from('second')],
    [{ name: 'after', type: 'symlink', linkname: 'dup', mtime: T }],
  ]);
  const prepare = (dir: string): void => {
    mkdirSync(join(dir, 'keep'));
    writeFileSync(join(dir, 'keep/old'), 'old content');
    writeFileSync(join(dir, 'keep/lower'), 'from below');
  };
  for (const mode of ['overlay', 'oci-remove'] as const) {
    const { tree, lanes } = await bothWays(tar, mode, prepare);
    assert.ok(lanes > 0, 'the lane took runs');
    const t = tree as Record<string, { mode: number; uid: number }>;
    assert.equal(t['keep']!.uid, 5);
    assert.ok(t['keep/lower'], 'the existing directory was merged');
    assert.ok(t['deep/er/file'] && t['deep/er'] && t['after']);
  }
});

test('a path through a symlink is refused with the same message, naming the entry as the tar does', async () => {
  const tar = await layer([
    [{ name: './ok', mode: 0o644, mtime: T }, Buffer.from('ok')],
    [{ name: './via/file', mode: 0o644, mtime: T }, Buffer.from('x')],
  ]);
  const messages: string[] = [];
  for (const lane of [true, false]) {
    const d = tempDir();
    try {
      symlinkSync('/tmp', join(d.path, 'via'));
      const rec = new TarSplitRecorder(async (s) => void (await collect(s)));
      const tap = lane ? rec.tap : { raw: rec.tap.raw, entry: rec.tap.entry, body: rec.tap.body };
      await assert.rejects(applyLayer({ dir: d.path, whiteoutMode: 'overlay' }, chunks(tar, 1 << 20), { tap }), (e: Error) => {
        messages.push(e.message);
        return true;
      });
      rec.abort(new Error('test'));
    } finally {
      d.cleanup();
    }
  }
  assert.equal(messages[0], messages[1]);
  assert.match(messages[0]!, /"\.\/via\/file"/);
});

test('random layers over a few paths give the same tree, or the same first error, with the lane as without it (150 tries)', async () => {
  const paths = ['a', 'a/b', 'a/b/c', 'a/d', 'b', 'b/e', 'c', 'a/b/f', 'b/e/g'];
  let seed = 11;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let laneRuns = 0;
  for (let t = 0; t < 150; t++) {
    const entries: Array<[TarWriteHeader, Buffer?]> = [];
    for (let k = 3 + rnd(14); k > 0; k--) {
      const name = paths[rnd(paths.length)]!;
      const kind = rnd(3);
      if (kind === 0) entries.push([{ name: `${name}/`, type: 'dir', mode: 0o700 + rnd(0o77), uid: rnd(3), mtime: T }]);
      else if (kind === 1) entries.push([{ name, mode: 0o600 + rnd(0o77), mtime: T }, pattern(rnd(400), t * 31 + k)]);
      else entries.push([{ name, type: 'symlink', linkname: paths[rnd(paths.length)]!, mtime: T }]);
    }
    const tar = await layer(entries);
    const mode: WhiteoutMode = rnd(2) === 0 ? 'overlay' : 'oci-remove';
    const size = [1536, 2048, 3072, 4096][rnd(4)]!;
    const outcomes: string[] = [];
    for (const lane of [true, false]) {
      const d = tempDir();
      try {
        if (mode === 'oci-remove') {
          mkdirSync(join(d.path, 'a/b'), { recursive: true });
          writeFileSync(join(d.path, 'a/b/lower'), 'lower');
          writeFileSync(join(d.path, 'c'), 'lower c');
        }
        let runs = 0;
        const rec = new TarSplitRecorder(async (s) => void (await collect(s)));
        const tap = lane
          ? { ...rec.tap, plain: (run: Parameters<NonNullable<typeof rec.tap.plain>>[0]) => (runs++, rec.tap.plain!(run)) }
          : { raw: rec.tap.raw, entry: rec.tap.entry, body: rec.tap.body };
        try {
          await applyLayer({ dir: d.path, whiteoutMode: mode }, chunks(tar, size), { tap });
          await rec.finish();
          const tree = comparable(snapTree(d.path));
          const recent = BigInt(Date.now() - 600_000) * 1_000_000n;
          for (const e of Object.values(tree)) if (e.mtimeNs > recent) e.mtimeNs = 0n;
          outcomes.push(JSON.stringify(tree, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
        } catch (e) {
          rec.abort(e);
          outcomes.push(`error: ${(e as Error).message}`);
        }
        if (lane) laneRuns += runs;
      } finally {
        d.cleanup();
      }
    }
    assert.equal(outcomes[0], outcomes[1], `try ${t} (${mode}, chunks of ${size}): ${entries.map(([h]) => `${h.type ?? 'file'} ${h.name}`).join(', ')}`);
  }
  assert.ok(laneRuns > 300, `the lane took many runs (${laneRuns})`);
});

test('a layer given as one chunk larger than the scanner takes at once is applied whole', async () => {
  const entries: Array<[TarWriteHeader, Buffer?]> = [[{ name: 'd/', type: 'dir', mode: 0o755, mtime: T }]];
  for (let i = 0; i < 24; i++) entries.push([{ name: `d/f${i}`, mode: 0o644, mtime: T }, pattern(3 << 20, i)]);
  const tar = await layer(entries);
  assert.ok(tar.length > 64 * 1024 * 1024, 'more than one window');
  const d = tempDir();
  try {
    const r = await applyLayer({ dir: d.path, whiteoutMode: 'overlay' }, chunks(tar, tar.length));
    assert.equal(r.entries, 25);
    const tree = comparable(snapTree(d.path));
    assert.equal(Object.keys(tree).filter((k) => k.startsWith('d/f')).length, 24);
  } finally {
    d.cleanup();
  }
});
