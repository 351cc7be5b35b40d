import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressBar } from './progress.js';

// The fields as Docker 20.10 drew them on 120- and 100-column terminals (../shared/reference/docker-20.10/pull.txt).
test("progress bars are Docker's: a 50-step bar above 110 columns, the counts alone below", () => {
  assert.equal(progressBar(269_300, 24_010_000, 120), `[>${' '.repeat(50)}]  269.3kB/24.01MB`);
  assert.equal(progressBar(114, 114, 120), `[${'='.repeat(50)}>]     114B/114B`);
  assert.equal(progressBar(196_600, 4_001_000, 120), `[==>${' '.repeat(48)}]  196.6kB/4.001MB`);
  assert.equal(progressBar(69_180, 4_001_000, 100), ' 69.18kB/4.001MB');
  assert.equal(progressBar(114, 114, 100), '    114B/114B');
  assert.equal(progressBar(23_330_000, 24_010_000, 120), `[${'='.repeat(48)}>  ]  23.33MB/24.01MB`);
  assert.equal(progressBar(5_000, undefined, 120), '     5kB');
});
