import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { ConmonAttach, DetachKeyMatcher, parseDetachKeys, resizeTerminal } from './attach.js';

describe('detach keys', () => {
  it("parses Docker's --detach-keys", () => {
    assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [0x10, 0x11]);
    assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')], [0, 27, 28, 29, 30, 31]);
    assert.deepEqual([...parseDetachKeys('a,ctrl-a,DEL')], [0x61, 1, 127]);
    assert.deepEqual([...parseDetachKeys('')], []);
    for (const bad of ['ctrl-', 'ctrl-A', 'ctrl-1', 'ab', 'ctrl-p,,ctrl-q']) assert.throws(() => parseDetachKeys(bad), InvalidArgumentError, bad);
  });

  it('holds back what may begin the sequence, passes it on when the sequence breaks', () => {
    const m = new DetachKeyMatcher(parseDetachKeys('ctrl-p,ctrl-q'));
    const push = (s: string) => {
      const r = m.push(Buffer.from(s, 'latin1'));
      return [r.data.toString('latin1'), r.detach];
    };
    assert.deepEqual(push('ls\n'), ['ls\n', false]);
    assert.deepEqual(push('\x10'), ['', false]);
    assert.deepEqual(push('x'), ['\x10x', false]);
    assert.deepEqual(push('\x10\x10'), ['\x10', false]);
    assert.deepEqual(push('\x11rest'), ['', true]);
    assert.deepEqual(push('ab\x10\x11cd'), ['ab', true]);
    assert.deepEqual(new DetachKeyMatcher(Buffer.alloc(0)).push(Buffer.from('\x10\x11')).detach, false);
    assert.deepEqual(new DetachKeyMatcher(parseDetachKeys('ctrl-x')).push(Buffer.from('a\x18b')), { data: Buffer.from('a'), detach: true });
  });
});

describe('attach without conmon', () => {
  it('says the container is not running when no socket or fifo is there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-attach-'));
    try {
      assert.throws(() => ConmonAttach.connect(dir), NotFoundError);
      assert.throws(() => resizeTerminal(dir, 24, 80), NotFoundError);
      assert.throws(() => resizeTerminal(dir, 0, 80), InvalidArgumentError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
