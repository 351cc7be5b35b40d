import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadReports } from './load-reports.js';

test("Docker's reports of a layer read at once: as its daemon made them for these sizes (32 KiB reads, min(512 KiB, 1%), the end)", () => {
  // sizes of layer.tar files and what Docker 20.10.24 reported loading them (a fast read: no 100 ms passed)
  assert.deepEqual(LoadReports.readAtOnce(10240), [10240, 10240]);
  assert.deepEqual(LoadReports.readAtOnce(30720), [30720, 30720]);
  assert.deepEqual(LoadReports.readAtOnce(61440), [32768, 61440, 61440]);
  assert.deepEqual(LoadReports.readAtOnce(1505280), [32768, 1505280, 1505280]);
  // the last read moves less than 1% past the last report point: only the read that meets the end reports
  assert.deepEqual(LoadReports.readAtOnce(3010560), [32768, 3010560]);
  // 1% is over 32 KiB: the second read reports first
  assert.deepEqual(LoadReports.readAtOnce(4003840), [65536, 4003840]);
});

test('the rate limiter: one report per 100 ms of reading, 32 KiB reads whatever the chunks the bytes come in', () => {
  let now = 0;
  const r = new LoadReports(10_000_000, () => now);
  r.advance(5_000); // no read complete yet
  r.advance(200_000); // 6 reads; the 4th moves over 1% (100,000) past 0: it reports
  now = 50;
  r.advance(1_000_000); // reads to 983,040: within 100 ms, none reports
  now = 150;
  r.advance(1_040_000); // the read to 1,015,808 is under 1% past 917,504
  r.advance(1_048_576); // the next is over it, and 100 ms have passed
  now = 160;
  r.advance(9_999_999); // no report; the last read is not complete
  assert.deepEqual(r.reports, [131072, 1048576]);
  // the read that meets the end moves under 1% past the last report point (9,961,472): only the end of the file reports
  r.advance(10_000_000);
  assert.deepEqual(r.end(), [131072, 1048576, 10_000_000]);
});
