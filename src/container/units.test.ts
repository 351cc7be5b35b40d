/**
 * The flag value syntaxes, against what docker 20.10.24's CLI accepted and printed (each
 * message below is the text after `invalid argument "V" for "F" flag: `).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoDuration, goTimeQuote, parseGoBool, parseGoDuration, parseGoInt, parseNanoCpus, ramInBytes } from './units.js';

function throwsMessage(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof Error && e.message === message, message);
}

describe('units', () => {
  it('reads sizes as go-units v0.4.0 RAMInBytes', () => {
    assert.equal(ramInBytes('100'), 100);
    assert.equal(ramInBytes('1kb'), 1024);
    assert.equal(ramInBytes('1KiB'), 1024);
    assert.equal(ramInBytes('1KIB'), 1024);
    assert.equal(ramInBytes('512m'), 512 * 1024 * 1024);
    assert.equal(ramInBytes('1Mi'), 1024 * 1024);
    assert.equal(ramInBytes('1mB'), 1024 * 1024);
    assert.equal(ramInBytes('1 g'), 1024 ** 3);
    assert.equal(ramInBytes('0.5g'), 536870912); // docker inspect: ShmSize 536870912
    assert.equal(ramInBytes('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(ramInBytes('1t'), 1024 ** 4);
    assert.equal(ramInBytes('0'), 0);
    assert.equal(ramInBytes('1b'), 1);
    assert.equal(ramInBytes('1.9'), 1); // truncated, as int64(size)
    // docker create --memory/--shm-size V
    throwsMessage(() => ramInBytes('foo'), "invalid size: 'foo'");
    throwsMessage(() => ramInBytes(''), "invalid size: ''");
    throwsMessage(() => ramInBytes('-1'), "invalid size: '-1'");
    throwsMessage(() => ramInBytes('1x'), "invalid size: '1x'");
    throwsMessage(() => ramInBytes('1.'), "invalid size: '1.'");
    throwsMessage(() => ramInBytes('1bb'), "invalid size: '1bb'");
    throwsMessage(() => ramInBytes('.5m'), "invalid size: '.5m'");
    throwsMessage(() => ramInBytes('1e3'), "invalid size: '1e3'");
    throwsMessage(() => ramInBytes('1  m'), "invalid size: '1  m'");
    throwsMessage(() => ramInBytes('1.5.3g'), 'strconv.ParseFloat: parsing "1.5.3": invalid syntax');
  });

  it('reads --cpus as big.Rat', () => {
    // docker inspect -f '{{.HostConfig.NanoCpus}}' after docker create --cpus V
    assert.equal(parseNanoCpus('1.5'), 1_500_000_000);
    assert.equal(parseNanoCpus('1e0'), 1_000_000_000);
    assert.equal(parseNanoCpus('0x1'), 1_000_000_000);
    assert.equal(parseNanoCpus('010/8'), 1_000_000_000);
    assert.equal(parseNanoCpus('.5'), 500_000_000);
    assert.equal(parseNanoCpus('5.'), 5_000_000_000);
    assert.equal(parseNanoCpus('+1'), 1_000_000_000);
    assert.equal(parseNanoCpus('1_0'), 10_000_000_000);
    assert.equal(parseNanoCpus('0.5e-1'), 50_000_000);
    assert.equal(parseNanoCpus('1/2'), 500_000_000);
    assert.equal(parseNanoCpus('0.001'), 1_000_000);
    assert.equal(parseNanoCpus('-0.5'), -500_000_000);
    assert.equal(parseNanoCpus('0'), 0);
    throwsMessage(() => parseNanoCpus('foo'), 'failed to parse foo as a rational number');
    throwsMessage(() => parseNanoCpus('1/0'), 'failed to parse 1/0 as a rational number');
    throwsMessage(() => parseNanoCpus(' 1'), 'failed to parse  1 as a rational number');
    throwsMessage(() => parseNanoCpus('1.5/2'), 'failed to parse 1.5/2 as a rational number');
    throwsMessage(() => parseNanoCpus('2/3'), 'value is too precise');
    throwsMessage(() => parseNanoCpus('1e+_'), 'failed to parse 1e+_ as a rational number');
    throwsMessage(() => parseNanoCpus('1e_1'), 'failed to parse 1e_1 as a rational number');
    throwsMessage(() => parseNanoCpus('1e9999999'), 'failed to parse 1e9999999 as a rational number');
    assert.equal(parseNanoCpus('1e1_0'), 1e19);
    assert.equal(parseNanoCpus('1_0.5_0'), 10.5e9);
    assert.equal(parseNanoCpus('0.5_0'), 5e8);
    assert.equal(parseNanoCpus('0_1'), 1e9);
    throwsMessage(() => parseNanoCpus('1_.5'), 'failed to parse 1_.5 as a rational number');
    throwsMessage(() => parseNanoCpus('1.0000000001'), 'value is too precise');
  });

  it('reads durations as time.ParseDuration', () => {
    assert.equal(parseGoDuration('30s'), 30e9);
    assert.equal(parseGoDuration('1m30s'), 90e9);
    assert.equal(parseGoDuration('500ms'), 500e6);
    assert.equal(parseGoDuration('1.5h'), 5400e9);
    assert.equal(parseGoDuration('1µs'), 1000);
    assert.equal(parseGoDuration('1μs'), 1000);
    assert.equal(parseGoDuration('1us'), 1000);
    assert.equal(parseGoDuration('.5s'), 5e8);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('-1s'), -1e9);
    assert.equal(parseGoDuration('+2ns'), 2);
    throwsMessage(() => parseGoDuration('10'), 'time: missing unit in duration "10"');
    throwsMessage(() => parseGoDuration('foo'), 'time: invalid duration "foo"');
    throwsMessage(() => parseGoDuration('1q'), 'time: unknown unit "q" in duration "1q"');
    throwsMessage(() => parseGoDuration(''), 'time: invalid duration ""');
    throwsMessage(() => parseGoDuration('.s'), 'time: invalid duration ".s"');
    throwsMessage(() => parseGoDuration('1é'), 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"');
    throwsMessage(() => parseGoDuration('9999999999h'), 'time: invalid duration "9999999999h"');
    assert.equal(goTimeQuote('a"b'), '"a\\"b"');
  });

  it('prints durations as time.Duration.String', () => {
    assert.equal(formatGoDuration(0), '0s');
    assert.equal(formatGoDuration(1_000_000), '1ms');
    assert.equal(formatGoDuration(1500), '1.5µs');
    assert.equal(formatGoDuration(90e9), '1m30s');
    assert.equal(formatGoDuration(5400e9), '1h30m0s');
    assert.equal(formatGoDuration(1.5e9), '1.5s');
    assert.equal(formatGoDuration(-2), '-2ns');
  });

  it('reads integers as pflag does: strconv.ParseInt(s, 0, 64)', () => {
    assert.equal(parseGoInt('100'), 100);
    assert.equal(parseGoInt('0x10'), 16); // docker create --pids-limit 0x10 was accepted
    assert.equal(parseGoInt('010'), 8);
    assert.equal(parseGoInt('0o10'), 8);
    assert.equal(parseGoInt('0b11'), 3);
    assert.equal(parseGoInt('1_000'), 1000);
    assert.equal(parseGoInt('-1'), -1);
    assert.equal(parseGoInt('0'), 0);
    throwsMessage(() => parseGoInt('foo'), 'strconv.ParseInt: parsing "foo": invalid syntax');
    throwsMessage(() => parseGoInt('1.5'), 'strconv.ParseInt: parsing "1.5": invalid syntax');
    throwsMessage(() => parseGoInt(''), 'strconv.ParseInt: parsing "": invalid syntax');
    throwsMessage(() => parseGoInt('08'), 'strconv.ParseInt: parsing "08": invalid syntax');
    throwsMessage(() => parseGoInt('1__0'), 'strconv.ParseInt: parsing "1__0": invalid syntax');
    throwsMessage(() => parseGoInt('_1'), 'strconv.ParseInt: parsing "_1": invalid syntax');
    throwsMessage(() => parseGoInt('99999999999999999999'), 'strconv.ParseInt: parsing "99999999999999999999": value out of range');
  });

  it('reads booleans as strconv.ParseBool', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(t), true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(f), false);
    assert.equal(parseGoBool('yes'), undefined);
    assert.equal(parseGoBool('tRUE'), undefined);
  });
});
