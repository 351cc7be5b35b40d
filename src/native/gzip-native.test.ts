/** gzip.c: ISA-L's inflate and deflate give what node:zlib reads and writes; bad use is refused. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync, inflateRawSync } from 'node:zlib';
import { deflateBound, deflatePiece, gunzipNew, gunzipRun } from './index.js';

/** deflatePiece into an output of the size it asks for; the bytes it wrote. */
async function deflate(piece: Buffer, dict: Buffer | null, level: number, last: boolean): Promise<Buffer> {
  const out = Buffer.alloc(deflateBound(piece.length));
  return out.subarray(0, await deflatePiece(piece, dict, level, last, out));
}

describe('gzip through ISA-L', () => {
  it('gunzipRun inflates a stream fed in pieces, says where it stands, and refuses a busy handle', async () => {
    const data = Buffer.concat([randomBytes(100_000), Buffer.alloc(300_000, 7)]);
    const gz = gzipSync(data);
    const h = gunzipNew();
    const out = Buffer.alloc(data.length + 10);
    const p = gunzipRun(h, gz.subarray(0, 1000), out);
    assert.throws(() => gunzipRun(h, gz, out), /already running/);
    const [used1, made1, phase1] = await p;
    assert.equal(used1, 1000);
    assert.equal(phase1, 0, 'inside the member');
    const [used2, made2, phase2] = await gunzipRun(h, gz.subarray(1000), out.subarray(made1));
    assert.equal(used2, gz.length - 1000);
    assert.equal(phase2, 1, 'at the member\'s end');
    assert.ok(out.subarray(0, made1 + made2).equals(data));
  });

  it('gunzipRun rejects corrupt data with zlib\'s code and wording', async () => {
    const gz = gzipSync(Buffer.from('hello'));
    gz[0] = 0x00; // not a gzip header
    await assert.rejects(gunzipRun(gunzipNew(), gz, Buffer.alloc(100)), (e: unknown) => e instanceof Error && (e as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' && e.message === 'incorrect header check');
    assert.throws(() => gunzipRun({} as ReturnType<typeof gunzipNew>, gz, Buffer.alloc(1)), /gunzip handle/);
  });

  it('deflatePiece: pieces primed with the one before and sync-flushed join into one deflate stream', async () => {
    const text = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `piece text ${i % 300}\n`).join(''));
    const a = text.subarray(0, 300_000);
    const b = text.subarray(300_000);
    for (const level of [1, 2, 3]) {
      const first = await deflate(a, null, level, false);
      const second = await deflate(b, a.subarray(a.length - 32768), level, true);
      assert.ok(inflateRawSync(Buffer.concat([first, second])).equals(text), `level ${level}`);
      assert.ok(second.length < b.length / 5, 'the dictionary is used');
    }
    const empty = await deflate(Buffer.alloc(0), null, 3, true);
    assert.equal(inflateRawSync(empty).length, 0);
    assert.throws(() => deflatePiece(text, null, 4, true, Buffer.alloc(deflateBound(text.length))), /level must be 0 to 3/);
    assert.throws(() => deflatePiece(text, null, 3, true, Buffer.alloc(text.length)), /output must hold at least/);
    // level 0, and a piece that does not compress, are stored blocks: the input and 5 bytes per 64 KiB block
    const random = randomBytes(200_000);
    for (const [data, level] of [[text, 0], [random, 3]] as const) {
      const out = await deflate(data, null, level, true);
      assert.equal(out.length, data.length + 5 * Math.ceil(data.length / 65535), `level ${level}`);
      assert.ok(inflateRawSync(out).equals(data));
    }
    const notLast = await deflate(random, null, 3, false);
    assert.ok(inflateRawSync(Buffer.concat([notLast, await deflate(Buffer.alloc(0), null, 0, true)])).equals(random), "stored pieces join too");
  });
});
