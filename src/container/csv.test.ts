/**
 * Go 1.19 encoding/csv's first record, as Docker's CLI reads a `--mount` value; the error texts
 * and columns are what docker 20.10.24 printed after `invalid argument "..." for "--mount" flag: `.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCsvRecord } from './csv.js';

function throwsMessage(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof Error && e.message === message, message);
}

describe('csv', () => {
  it('splits fields at commas, keeps quoted commas and doubled quotes', () => {
    assert.deepEqual(readCsvRecord('type=volume,dst=/x'), ['type=volume', 'dst=/x']);
    assert.deepEqual(readCsvRecord('type=volume,"dst=/x,y"'), ['type=volume', 'dst=/x,y']);
    assert.deepEqual(readCsvRecord('type=volume,"dst=/x""y"'), ['type=volume', 'dst=/x"y']);
    assert.deepEqual(readCsvRecord('a,,b,'), ['a', '', 'b', '']);
    assert.deepEqual(readCsvRecord(' a , b'), [' a ', ' b']);
    assert.deepEqual(readCsvRecord('"a\nb",c'), ['a\nb', 'c']);
    assert.deepEqual(readCsvRecord('"a\r\nb"'), ['a\nb']);
  });

  it('reads the first record only, after empty lines', () => {
    // docker create --mount $'type=volume,dst=/x\nfoo' made a volume at /x
    assert.deepEqual(readCsvRecord('type=volume,dst=/x\nfoo'), ['type=volume', 'dst=/x']);
    assert.deepEqual(readCsvRecord('\n\nsrc=a\r\n'), ['src=a']);
    assert.deepEqual(readCsvRecord('a\r'), ['a']);
  });

  it("gives Go's errors with 1-based byte columns", () => {
    throwsMessage(() => readCsvRecord(''), 'EOF');
    throwsMessage(() => readCsvRecord('\n'), 'EOF');
    throwsMessage(() => readCsvRecord('type=volume,dst=/x,"unterminated'), 'parse error on line 1, column 33: extraneous or missing " in quoted-field');
    throwsMessage(() => readCsvRecord('type=volume,dst=/x"y'), 'parse error on line 1, column 19: bare " in non-quoted-field');
    throwsMessage(() => readCsvRecord('type=volume,"dst=/x"y'), 'parse error on line 1, column 20: extraneous or missing " in quoted-field');
    throwsMessage(() => readCsvRecord('type=volume,dst=/é"'), 'parse error on line 1, column 20: bare " in non-quoted-field');
    throwsMessage(() => readCsvRecord('\ntype=volume,"dst=/x\n"y'), 'record on line 2; parse error on line 3, column 1: extraneous or missing " in quoted-field');
  });
});
