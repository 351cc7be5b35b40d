import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.js';
import { formatLogTime, parseGoDuration, parseLogTime, parseRfc3339Nano } from './logtime.js';

const S = 1_000_000_000n;

describe('parseLogTime (docker logs --since/--until)', () => {
  // The reference: 2023-11-14T22:13:20.123Z. Local zone: the process's (tests that need one set TZ-free values).
  const now = new Date(1_700_000_000_123);
  const utc = (text: string) => parseLogTime(text, now);

  it('reads RFC 3339 times with a zone, to the nanosecond', () => {
    const cases: Array<[string, bigint]> = [
      ['2006-01-02T15:04:05.999999999+07:00', 1136189045n * S + 999999999n],
      ['2006-01-02T15:04:05.999999999Z', 1136214245n * S + 999999999n],
      ['2006-01-02T15:04:05Z', 1136214245n * S],
      ['2006-01-02T15:04Z', 1136214240n * S],
      ['2006-01-02T15:04+00:00', 1136214240n * S],
      ['2006-01-02T15:04-00:00', 1136214240n * S],
      ['2006-01-02T15Z', 1136214000n * S],
      ['2006-01-02T15+00:00', 1136214000n * S],
      ['2006-01-02T1Z', 1136163600n * S],
      ['2006-01-02+00:00', 1136160000n * S],
      ['2006-01-02-00:01', 1136160060n * S],
      ['2006-01-02Z', 1136160000n * S],
      ['2015-05-13T20:39:09Z', 1431549549n * S],
      ['2020-01-01T10:00:00,5Z', 1577872800n * S + 500000000n],
      ['2020-01-01T10:00:00.1234567891Z', 1577872800n * S + 123456789n],
      ['2020-02-29Z', 1582934400n * S],
      ['2020-01-01T10:00:00+24:00', 1577786400n * S],
    ];
    for (const [text, ns] of cases) assert.equal(utc(text), ns, text);
  });

  it('reads times without a zone in the local zone (fixed at its offset now)', () => {
    const offsetNs = BigInt(-now.getTimezoneOffset() * 60) * S;
    assert.equal(utc('2006-01-02T15:04:05.999999999'), 1136214245n * S + 999999999n - offsetNs);
    assert.equal(utc('2006-01-02T15:04:05'), 1136214245n * S - offsetNs);
    assert.equal(utc('2006-01-02T15:04'), 1136214240n * S - offsetNs);
    assert.equal(utc('2006-01-02T15'), 1136214000n * S - offsetNs);
    assert.equal(utc('2006-01-02T1'), 1136163600n * S - offsetNs);
    assert.equal(utc('2006-01-02'), 1136160000n * S - offsetNs);
  });

  it('reads Unix times with a fraction as Docker scales it', () => {
    assert.equal(utc('1136073600'), 1136073600n * S);
    assert.equal(utc('1136073600.000000001'), 1136073600n * S + 1n);
    assert.equal(utc('1136073600.0000000010'), 1136073600n * S + 1n);
    assert.equal(utc('1136073600.0000000009'), 1136073600n * S);
    assert.equal(utc('1136073600.5'), 1136073600n * S + 500000000n);
    assert.equal(utc('5'), 5n * S);
    assert.equal(utc('0'), 0n, '0 is a time, not a duration');
  });

  it('reads Go durations back from now, to a whole second', () => {
    assert.equal(utc('1m'), 1_699_999_940n * S);
    assert.equal(utc('10m'), 1_699_999_400n * S);
    assert.equal(utc('1.5h'), 1_699_994_600n * S);
    assert.equal(utc('1h30m'), 1_699_994_600n * S);
    assert.equal(utc('-10m'), 1_700_000_600n * S);
    assert.equal(utc('+0'), 1_700_000_000n * S);
    assert.equal(utc('.5s'), 1_699_999_999n * S);
    assert.equal(utc('1.s'), 1_699_999_999n * S);
    assert.equal(utc('90s500ms'), 1_699_999_909n * S);
  });

  it("fails with Docker's words (Go's parse errors passed on), exit code 1", () => {
    const cases: Array<[string, string]> = [
      ['invalid', 'failed to parse value as time or duration: "invalid"'],
      ['', 'failed to parse value as time or duration: ""'],
      ['10x', 'failed to parse value as time or duration: "10x"'],
      ['1.2.3', 'failed to parse value as time or duration: "1.2.3"'],
      ['1136073600.bar', 'failed to parse value as time or duration: "1136073600.bar"'],
      ['2020-13-01', 'parsing time "2020-13-01": month out of range'],
      ['2020-02-30', 'parsing time "2020-02-30": day out of range'],
      ['2021-02-29', 'parsing time "2021-02-29": day out of range'],
      ['2020-1-01', 'parsing time "2020-1-01" as "2006-01-02": cannot parse "1-01" as "01"'],
      ['2020-01-01x', 'parsing time "2020-01-01x": extra text: "x"'],
      ['2020-01-01T25:00', 'parsing time "2020-01-01T25:00": hour out of range'],
      ['2020-01-01T10:61', 'parsing time "2020-01-01T10:61": minute out of range'],
      ['2020-01-01T10:00:61Z', 'parsing time "2020-01-01T10:00:61Z": second out of range'],
      ['2020-01-01T10:00:00+25:00', 'parsing time "2020-01-01T10:00:00+25:00": time zone offset hour out of range'],
      ['2006-01-02T15:04:0Z', 'parsing time "2006-01-02T15:04:0Z" as "2006-01-02T15:04:05Z07:00": cannot parse "0Z" as "05"'],
      ['2006-01-02T15:0', 'parsing time "2006-01-02T15:0" as "2006-01-02T15:04": cannot parse "0" as "04"'],
      ['2006-01-02TZ', 'parsing time "2006-01-02TZ" as "2006-01-02T15Z07:00": cannot parse "Z" as "15"'],
      ['2006-01-02T', 'parsing time "2006-01-02T" as "2006-01-02T15": cannot parse "" as "15"'],
      ['2020-01-01T10:00:00*01:00Z', 'parsing time "2020-01-01T10:00:00*01:00Z" as "2006-01-02T15:04:05Z07:00": cannot parse "*01:00Z" as "Z07:00"'],
      ['2020-01-01T10:00:00.Z', 'parsing time "2020-01-01T10:00:00.Z" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse ".Z" as "Z07:00"'],
      ['-1', 'parsing time "-1" as "2006-01-02": cannot parse "-1" as "2006"'],
      ['1h-5m', 'parsing time "1h-5m" as "2006-01-02": cannot parse "1h-5m" as "2006"'],
      ['2020-01-01T10:00:00Z07:00', 'parsing time "2020-01-01T10:00:00Z07:00": extra text: "07:00"'],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseLogTime(text, now, 'until'), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.equal(e.message, `invalid value for "until": ${message}`, text);
        assert.equal(e.exitCode, 1);
        return true;
      });
    }
  });
});

describe('Go durations', () => {
  it('parses what time.ParseDuration parses', () => {
    assert.equal(parseGoDuration('300ms'), 300_000_000n);
    assert.equal(parseGoDuration('-1.5h'), -5_400n * S);
    assert.equal(parseGoDuration('2h45m'), 9_900n * S);
    assert.equal(parseGoDuration('1µs'), 1_000n);
    assert.equal(parseGoDuration('1μs1ns'), 1_001n);
    assert.equal(parseGoDuration('0'), 0n);
    for (const bad of ['', '-', '1', '.s', '1d', 'h', '1h-5m', '9999999999999999999h']) assert.equal(parseGoDuration(bad), undefined, bad);
  });
});

describe('log times', () => {
  it("formats as Docker prints a line's time: UTC, nine fraction digits", () => {
    assert.equal(formatLogTime(1136214245n * S + 5n), '2006-01-02T15:04:05.000000005Z');
    assert.equal(formatLogTime(0n), '1970-01-01T00:00:00.000000000Z');
    assert.equal(formatLogTime(-1n), '1969-12-31T23:59:59.999999999Z');
  });

  it("reads conmon's timestamps (any zone, any fraction)", () => {
    assert.equal(parseRfc3339Nano('2026-12-04T23:19:08.895767234+00:00'), formatToNs('2026-12-04T23:19:08.895767234Z'));
    assert.equal(parseRfc3339Nano('2026-12-05T01:19:08.895767234+02:00'), formatToNs('2026-12-04T23:19:08.895767234Z'));
    assert.equal(parseRfc3339Nano('2026-12-04T23:19:08Z'), formatToNs('2026-12-04T23:19:08.000000000Z'));
    assert.equal(parseRfc3339Nano('2026-12-04T23:19:08.5-01:30'), formatToNs('2026-12-05T00:49:08.500000000Z'));
    for (const bad of ['2026-12-04 23:19:08Z', '2026-12-04T23:19:08', '2026-12-04T23:19:08.1234567890Z', 'x']) assert.equal(parseRfc3339Nano(bad), undefined, bad);
  });
});

function formatToNs(text: string): bigint {
  const ns = parseRfc3339Nano(text)!;
  assert.equal(formatLogTime(ns), text);
  return ns;
}
