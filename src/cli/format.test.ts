import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.js';
import { createdSince, ellipsis, goJson, humanDuration, humanSize, labelHeader, parseFormat, renderListing, table } from './format.js';

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

test('listings: fields, json, table, errors as Docker formats them', () => {
  const listing = { rowType: '*formatter.imageContext', columns: [['ID', 'IMAGE ID'], ['Tag', 'TAG']] as Array<[string, string]>, rows: [{ ID: 'abc', Tag: '1' }] };
  assert.equal(renderListing(listing, '{{.ID}}:{{.Tag}}'), 'abc:1\n');
  assert.equal(renderListing(listing, 'json'), '{"ID":"abc","Tag":"1"}\n');
  assert.equal(renderListing(listing, '{{json .}}'), '{"ID":"abc","Tag":"1"}\n');
  assert.equal(renderListing(listing, 'table {{.Tag}}\\t{{.ID}}'), 'TAG       IMAGE ID\n1         abc\n');
  assert.equal(renderListing(listing, '{{json .Tag}}'), '"1"\n');
  assert.equal(renderListing(listing, '{{lower .ID | upper}}{{if eq .Tag "1"}} one{{end}}'), 'ABC one\n');
  assert.throws(() => renderListing(listing, '{{.Nope}}'), (e: unknown) => e instanceof InvalidArgumentError && e.exitCode === 1 && e.message === 'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext');
  assert.throws(() => renderListing(listing, '{{range .}}'), { message: 'template parsing error: template: :1: unexpected EOF' });
  assert.throws(() => renderListing(listing, '{{.ID'), { message: 'template parsing error: template: :1: unclosed action' });
});

test('listings: methods with an argument ({{.Label "KEY"}}) on rows and on the table header, never in the JSON', () => {
  const labels = [{ 'com.example.some_key': 'v1' }, {}] as Array<Record<string, string>>;
  const listing = {
    rowType: '*formatter.volumeContext',
    columns: [['Name', 'VOLUME NAME']] as Array<[string, string]>,
    rows: [{ Name: 'a' }, { Name: 'b' }],
    methods: (i: number) => ({ Label: (k: string) => labels[i]![k] ?? '' }),
    headerMethods: { Label: labelHeader },
  };
  assert.equal(renderListing(listing, '{{.Name}}={{.Label "com.example.some_key"}}'), 'a=v1\nb=\n');
  assert.equal(renderListing(listing, 'table {{.Name}}\\t{{.Label "com.example.some_key"}}'), 'VOLUME NAME   some key\na             v1\nb             \n');
  assert.equal(renderListing(listing, '{{json .}}'), '{"Name":"a"}\n{"Name":"b"}\n');
  assert.equal(labelHeader('plain'), 'plain');
});

test('listings: {{json .}} is the row\'s MarshalJSON (HTML-escaped, sorted) while json of a field is not escaped', () => {
  // docker history --format '{{json .}}' prints "echo committed \u003e /committed.txt" (reference commit.txt);
  // docker inspect -f '{{json .ContainerConfig}}' prints "echo committed > /committed.txt" (the json function does not escape).
  const listing = { rowType: '*image.historyContext', columns: [['CreatedBy', 'CREATED BY']] as Array<[string, string]>, rows: [{ CreatedBy: 'echo a > b', Comment: '' }] };
  assert.equal(renderListing(listing, '{{json .}}'), '{"Comment":"","CreatedBy":"echo a \\u003e b"}\n');
  assert.equal(renderListing(listing, '{{json .CreatedBy}}'), '"echo a > b"\n');
});

test('table TEMPLATE: the header row comes from the header names (fields outside the default columns too), tabwriter columns', () => {
  const listing = {
    rowType: '*formatter.imageContext',
    headers: { CreatedAt: 'CREATED AT' },
    columns: [['Repository', 'REPOSITORY'], ['Tag', 'TAG']] as Array<[string, string]>,
    rows: [{ Repository: 'busybox', Tag: 'latest', CreatedAt: 'x' }, { Repository: 'a/very-long-name', Tag: '1', CreatedAt: 'y' }],
  };
  assert.equal(
    renderListing(listing, 'table {{.Repository}}\\t{{.CreatedAt}}\\t{{upper .Tag}}'),
    'REPOSITORY         CREATED AT   TAG\nbusybox            x            LATEST\na/very-long-name   y            1\n',
  );
  // "table" alone is the default table.
  assert.equal(renderListing(listing, 'table'), 'REPOSITORY         TAG\nbusybox            latest\na/very-long-name   1\n');
});

test('parseFormat: a syntax error is "template parsing error: ..." (bare) with the exit code asked for', () => {
  assert.throws(() => parseFormat('{{.X', { exitCode: 64 }), (e: unknown) => e instanceof InvalidArgumentError && e.exitCode === 64 && e.message === 'template parsing error: template: :1: unclosed action');
  assert.throws(() => parseFormat('{{.X', { name: 'version' }), { message: 'template parsing error: template: version:1: unclosed action' });
});
