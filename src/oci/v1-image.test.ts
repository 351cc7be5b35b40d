import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compactRaw, parseGoJson } from './gojson.js';
import { checkV1ImageOs, configFromV1Image, parseV1Image } from './v1-image.js';
import type { HistoryEntry } from './types.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

// Three v1 images of a pre-1.10 archive (written by Python's json.dumps: ", " and ": "), and
// the image IDs Docker 20.10.24's load gave them on these layers.
const A = Buffer.from('{"id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "created": "2015-06-01T12:00:00.123456700Z", "container": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "container_config": {"Hostname": "h", "Cmd": ["/bin/sh", "-c", "#(nop) ADD file:abc in /"], "Memory": 0, "CpuShares": 0, "PortSpecs": null, "Labels": {}, "Env": null}, "docker_version": "1.6.2", "config": {"Cmd": "sh", "Env": ["PATH=/bin"], "Volumes": {"/data": {"x": 1}}, "ExposedPorts": {"80/tcp": {}}}, "architecture": "amd64", "os": "linux", "Size": 6, "author": "me <me@x>"}');
const B = Buffer.from('{"id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2", "parent": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "created": "2015-06-01T14:00:00+02:00", "container_config": {"Cmd": ["/bin/sh", "-c", "echo  hi > /b && x<y"], "Labels": {"z": "1", "a": "2"}}, "docker_version": "1.9.1", "config": {"Cmd": ["sh"], "Labels": {"z": "1", "a": "2"}}, "architecture": "amd64", "os": "linux", "Size": 3, "comment": "c&d", "zzz": [1, 2.5, 1000.0], "Aaa": 1}');
const C = Buffer.from('{"id": "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc3", "parent": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2", "created": "2015-06-01T15:00:00Z", "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\\"sh\\"]"]}, "docker_version": "1.9.1", "config": {"Cmd": ["sh"]}, "architecture": "amd64", "os": "linux"}');
const DIFF_IDS = [
  'sha256:ff0fc3e2b05a7fc88c3117483ec31a1e8d279c754d83549db1fb29ec26eb5db0',
  'sha256:a2c47ab8ea396bafe8727a57327bf4d86a079c412d9ffbe1d0b53b2224a73563',
  'sha256:84ff92691f909a05b224e1c56abb4864f01b4f8e3c854e4bb4c7baf1d3f6d652',
];
const DOCKER_IDS = [
  'sha256:bd92872a4746d646520205f11822cb9cf35f65c7f85cc93307619dc53bd7b66c',
  'sha256:f146661f56b0ce4dd594707d01a6f7b5069cf5621ffe2670064e7849933b74e8',
  'sha256:47feaa65da381fb4632977cd37bb912405d8bb3d90fc16d588e7ac3df5ee102f',
];

test('a chain of v1 images gets the configs, so the IDs, Docker 20.10 gives it (re-encoded before 1.8.3, raw members after)', () => {
  const history: HistoryEntry[] = [];
  const ids = [A, B, C].map((json, i) => {
    const img = parseV1Image(json, `image ${i}`);
    history.push(img.history);
    return sha(configFromV1Image(img, DIFF_IDS.slice(0, i + 1), history));
  });
  assert.deepEqual(ids, DOCKER_IDS);
  // the older one: container settings Docker dropped are gone, a one-string Cmd is a list, volumes' values are {}
  const a = configFromV1Image(parseV1Image(A, 'a'), DIFF_IDS.slice(0, 1), history.slice(0, 1)).toString();
  assert.match(a, /"config":\{"Hostname":"","Domainname":"",.*"ExposedPorts":\{"80\/tcp":\{\}\},.*"Cmd":\["sh"\],"Image":"","Volumes":\{"\/data":\{\}\}/);
  assert.doesNotMatch(a, /Memory|CpuShares|"id"|"Size"/);
  // the newer: members kept as written (key order inside, 1000.0), compacted and HTML-escaped
  const b = configFromV1Image(parseV1Image(B, 'b'), DIFF_IDS.slice(0, 2), history.slice(0, 2)).toString();
  assert.match(b, /^\{"Aaa":1,"architecture":"amd64","comment":"c\\u0026d","config":\{"Cmd":\["sh"\],"Labels":\{"z":"1","a":"2"\}\}/);
  assert.match(b, /"zzz":\[1,2\.5,1000\.0\]\}$/);
  assert.deepEqual(history.map((h) => h.created), ['2015-06-01T12:00:00.1234567Z', '2015-06-01T14:00:00+02:00', '2015-06-01T15:00:00Z']);
  assert.deepEqual(history[1], { created: '2015-06-01T14:00:00+02:00', created_by: '/bin/sh -c echo  hi > /b && x<y', comment: 'c&d' });
});

test("Go's decoding: keys matched without case, a missing docker_version is older than 1.8.3, wrong types refused in Go's words", () => {
  const img = parseV1Image(Buffer.from('{"Created":"2016-01-02T03:04:05+00:00","CONTAINER_CONFIG":{"cmd":"echo hi"},"Author":"x","Docker_Version":"1.10.0","Os":"linux"}'), 'x');
  assert.deepEqual(img.history, { created: '2016-01-02T03:04:05Z', author: 'x', created_by: 'echo hi' });
  assert.equal(img.os, 'linux');
  // no docker_version: re-encoded from the struct (the unknown member dropped)
  const old = configFromV1Image(parseV1Image(Buffer.from('{"created":"2014-01-01T00:00:00Z","foo":1}'), 'y'), [DIFF_IDS[0]!], [{ created: '2014-01-01T00:00:00Z' }]).toString();
  assert.equal(old, `{"container_config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"created":"2014-01-01T00:00:00Z","history":[{"created":"2014-01-01T00:00:00Z"}],"rootfs":{"type":"layers","diff_ids":["${DIFF_IDS[0]}"]}}`);
  assert.throws(() => parseV1Image(Buffer.from('{"container_config":{"Env":"x"}}'), 'j'), /^DataCorruptError: j: json: cannot unmarshal string into Go struct field V1Image\.container_config\.Env of type \[\]string$/);
  assert.throws(() => parseV1Image(Buffer.from('{"Size":1.5}'), 'j'), /cannot unmarshal number 1\.5 into Go struct field V1Image\.Size of type int64/);
  assert.throws(() => parseV1Image(Buffer.from('{"created":"yesterday"}'), 'j'), /parsing time "yesterday"/);
  assert.throws(() => parseV1Image(Buffer.from('[1]'), 'j'), /cannot unmarshal array into Go value of type image\.V1Image/);
  assert.throws(() => parseV1Image(Buffer.from('{"a":1,}'), 'j'), /^DataCorruptError: j: invalid JSON/);
  assert.doesNotThrow(() => checkV1ImageOs(''));
  assert.throws(() => checkV1ImageOs('windows'), /^UnsupportedError: cannot load windows image on linux$/);
  assert.throws(() => checkV1ImageOs('darwin'), /cannot load darwin image on linux: unsupported os darwin/);
});

test('a json.RawMessage as Go writes it: white space outside strings dropped, <>& and U+2028 escaped, the rest as it was', () => {
  const src = Buffer.from(' { "a" : [ 1.50 , "x < y\\n" , {"\\u00e9" : null} ] ,\n"b":"\u2028é"} ');
  const node = parseGoJson(src, 't');
  assert.equal(compactRaw(src, node).toString(), '{"a":[1.50,"x \\u003c y\\n",{"\\u00e9":null}],"b":"\\u2028é"}');
  assert.equal(node.kind === 'object' && node.members[0]!.value.kind === 'array' && node.members[0]!.value.items[2]!.kind === 'object' ? node.members[0]!.value.items[2]!.members[0]!.key : '', 'é');
});
