import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createdSince, ellipsis, goJson, humanDuration, humanSize, renderListing, renderTemplate, table } from './format.js';

test('humanSize follows go-units (values from Docker 20.10 output)', () => {
  assert.equal(humanSize(1988788), '1.99MB');
  assert.equal(humanSize(1988788, 4), '1.989MB');
  assert.equal(humanSize(2216), '2.22kB');
  assert.equal(humanSize(116600000), '117MB');
  assert.equal(humanSize(116600000, 4), '116.6MB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(6), '6B');
  assert.equal(humanSize(2000000), '2MB');
  assert.equal(humanSize(999999), '1e+03kB', "Go's %.3g of 999.999");
});

test('humanDuration follows go-units', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(5000), '5 seconds');
  assert.equal(humanDuration(61000), 'About a minute');
  assert.equal(humanDuration(42 * 60000), '42 minutes');
  assert.equal(humanDuration(3600000), 'About an hour');
  assert.equal(humanDuration(13 * 3600000), '13 hours');
  assert.equal(humanDuration(3 * 24 * 3600000), '3 days');
  assert.equal(humanDuration(3 * 7 * 24 * 3600000), '3 weeks');
  assert.equal(humanDuration(90 * 24 * 3600000), '3 months');
  assert.equal(humanDuration(3 * 365 * 24 * 3600000 + 3600000), '3 years');
  assert.equal(createdSince(0), 'N/A');
  assert.equal(createdSince(1000, 6000), '5 seconds ago');
});

test('table pads like Docker\'s tabwriter (min width 10, padding 3, last column bare)', () => {
  assert.equal(table([['REPOSITORY', 'TAG', 'SIZE'], ['a', 'latest', '1MB']]), 'REPOSITORY   TAG       SIZE\na            latest    1MB\n');
});

test('ellipsis cuts to N runes with …', () => {
  assert.equal(ellipsis('abcdef', 4), 'abc…');
  assert.equal(ellipsis('abc', 4), 'abc');
  assert.equal(ellipsis('ééééé', 3), 'éé…');
});

test('goJson escapes like encoding/json', () => {
  assert.equal(goJson({ a: '<none> & >' }), '{"a":"\\u003cnone\\u003e \\u0026 \\u003e"}');
});

test('templates: fields, json, table, errors', () => {
  const listing = { columns: [['ID', 'IMAGE ID'], ['Tag', 'TAG']] as Array<[string, string]>, rows: [{ ID: 'abc', Tag: '1' }] };
  assert.equal(renderListing(listing, '{{.ID}}:{{.Tag}}'), 'abc:1\n');
  assert.equal(renderListing(listing, 'json'), '{"ID":"abc","Tag":"1"}\n');
  assert.equal(renderListing(listing, '{{json .}}'), '{"ID":"abc","Tag":"1"}\n');
  assert.equal(renderListing(listing, 'table {{.Tag}}\\t{{.ID}}'), 'TAG       IMAGE ID\n1         abc\n');
  assert.equal(renderTemplate('{{json .Tag}}', () => 'x', () => ''), '"x"');
  assert.throws(() => renderListing(listing, '{{.Nope}}'), /can't evaluate field Nope/);
  assert.throws(() => renderListing(listing, '{{range .}}'), /unsupported expression/);
});
