import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonMessageDisplay, jsonProgressString } from './jsonmessage.js';

test("JSONProgress.String(): the bar only wider than 110 columns, counts with 4 digits, a count over its total alone, nothing for nothing", () => {
  assert.equal(jsonProgressString(32768, 61440, 120), `[${'='.repeat(26)}>${' '.repeat(24)}]  32.77kB/61.44kB`);
  assert.equal(jsonProgressString(61440, 61440, 120), `[${'='.repeat(50)}>]  61.44kB/61.44kB`);
  assert.equal(jsonProgressString(61440, 61440, 80), ' 61.44kB/61.44kB');
  assert.equal(jsonProgressString(70000, 61440, 80), '    70kB');
  assert.equal(jsonProgressString(0, 0, 120), '');
});

test("DisplayJSONMessagesStream on a terminal: a new ID gets a line, only the ID's line is rewritten, a stream line forgets them", () => {
  let s = '';
  const d = new JsonMessageDisplay((x) => (s += x), 80);
  d.progress('aaa', 'Loading layer', 1, 2);
  d.progress('bbb', 'Loading layer', 1, 2);
  d.progress('aaa', 'Loading layer', 2, 2);
  d.stream('Loaded image: x\n');
  d.progress('aaa', 'Loading layer', 2, 2);
  assert.equal(
    s,
    '\n\x1b[1A\x1b[2K\raaa: Loading layer       1B/2B\r\x1b[1B' +
      '\n\x1b[1A\x1b[2K\rbbb: Loading layer       1B/2B\r\x1b[1B' +
      '\x1b[2A\x1b[2K\raaa: Loading layer       2B/2B\r\x1b[2B' +
      'Loaded image: x\n' +
      '\n\x1b[1A\x1b[2K\raaa: Loading layer       2B/2B\r\x1b[1B',
  );
});
