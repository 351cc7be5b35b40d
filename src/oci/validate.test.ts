import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import {
  checkManifestConfig,
  parseDescriptor,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parseManifestOrIndex,
  parseOciLayout,
} from './validate.js';
import { DOCKER_MANIFEST, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from './mediatypes.js';
import {
  DOCKER_CONFIG_EXAMPLE,
  DOCKER_LIST_EXAMPLE,
  DOCKER_MANIFEST_EXAMPLE,
  OCI_ARTIFACT_EXAMPLE,
  OCI_CONFIG_EXAMPLE,
  OCI_INDEX_EXAMPLE,
  OCI_MANIFEST_EXAMPLE,
} from './fixtures.test-helpers.js';

const D1 = 'sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f';
const D2 = 'sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b';
const W = 'manifest sha256:abcd…';

type Path = (string | number)[];

/**
 * Parse, set the value at `path` (undefined deletes it), serialise: a variant of a valid example.
 * More [path, value] pairs may follow.
 */
function edit(json: string, path: Path, value: unknown, ...more: [Path, unknown][]): string {
  const root: unknown = JSON.parse(json);
  for (const [p, v] of [[path, value] as [Path, unknown], ...more]) {
    let node = root as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
    const last = p[p.length - 1]!;
    if (v === undefined) delete node[last];
    else node[last] = v;
  }
  return JSON.stringify(root);
}

test('spec examples are accepted', async (t) => {
  await t.test('OCI manifest', () => {
    const m = parseManifest(OCI_MANIFEST_EXAMPLE, W);
    assert.equal(m.schemaVersion, 2);
    assert.equal(m.mediaType, OCI_MANIFEST);
    assert.equal(m.layers.length, 3);
    assert.equal(m.layers[1]!.digest, D2);
    assert.equal(m.layers[2]!.size, 73109);
    assert.equal(m.subject?.size, 7682);
    assert.deepEqual(m.annotations, { 'com.example.key1': 'value1', 'com.example.key2': 'value2' });
  });
  await t.test('OCI artifact manifest with empty config and embedded data', () => {
    const m = parseManifest(Buffer.from(OCI_ARTIFACT_EXAMPLE), W);
    assert.equal(m.config.mediaType, OCI_EMPTY);
    assert.equal(m.config.data, 'e30=');
    assert.equal(m.artifactType, 'application/vnd.example+type');
  });
  await t.test('Docker schema 2 manifest with a foreign layer', () => {
    const m = parseManifest(DOCKER_MANIFEST_EXAMPLE, W, DOCKER_MANIFEST);
    assert.equal(m.mediaType, DOCKER_MANIFEST);
    assert.equal(m.layers[0]!.digest, D1);
    assert.deepEqual(m.layers[2]!.urls?.length, 1);
  });
  await t.test('OCI index', () => {
    const ix = parseIndex(OCI_INDEX_EXAMPLE, 'index');
    assert.equal(ix.manifests.length, 2);
    assert.deepEqual(ix.manifests[0]!.platform, { architecture: 'ppc64le', os: 'linux' });
  });
  await t.test('Docker manifest list', () => {
    const ix = parseIndex(DOCKER_LIST_EXAMPLE, 'list');
    assert.deepEqual(ix.manifests[1]!.platform?.features, ['sse4']);
  });
  await t.test('OCI config (2 layers, 1 non-empty history entry: Docker accepts fewer)', () => {
    const c = parseImageConfig(OCI_CONFIG_EXAMPLE, 'config');
    assert.equal(c.architecture, 'amd64');
    assert.equal(c.rootfs.diff_ids.length, 2);
    assert.deepEqual(c.config?.Entrypoint, ['/bin/my-app-binary']);
    assert.equal(c.history?.[1]?.empty_layer, true);
    // unknown fields are kept
    assert.equal(c.config?.['Memory'], 2048);
  });
  await t.test('Docker config with nulls and legacy fields', () => {
    const c = parseImageConfig(DOCKER_CONFIG_EXAMPLE, 'config');
    assert.equal(c.config?.User, '1000:1000');
    assert.equal('Entrypoint' in (c.config ?? {}), false, 'null Entrypoint is read as absent');
    assert.equal('Volumes' in (c.config ?? {}), false);
    assert.equal(c.config?.['Hostname'], '');
    assert.equal(c['docker_version'], '20.10.24+dfsg1');
    assert.deepEqual(c.config?.Labels, { 'org.example.demo': '1' });
  });
  await t.test('oci-layout', () => {
    assert.deepEqual(parseOciLayout('{"imageLayoutVersion": "1.0.0"}', 'oci-layout'), { imageLayoutVersion: '1.0.0' });
  });
});

test('unknown fields are kept, not stripped', () => {
  const text = edit(OCI_MANIFEST_EXAMPLE, ['x-extra'], { nested: [1, 2] }, [['layers', 0, 'x-layer'], 'kept']);
  const m = parseManifest(text, W);
  assert.deepEqual(m['x-extra'], { nested: [1, 2] });
  assert.equal(m.layers[0]!['x-layer'], 'kept');
});

test('Docker leniencies: strslice strings, missing diff_ids, empty layers', () => {
  const c = parseImageConfig(
    '{"architecture":"amd64","os":"linux","config":{"Cmd":"echo hi","Entrypoint":null},"rootfs":{"type":"layers"}}',
    'config',
  );
  assert.deepEqual(c.config?.Cmd, ['echo hi']);
  assert.deepEqual(c.rootfs.diff_ids, []);
  const m = parseManifest(edit(OCI_MANIFEST_EXAMPLE, ['layers'], []), W);
  assert.equal(m.layers.length, 0);
  // an unknown config media type (BuildKit cache manifests) and unknown layer types are accepted
  const bk = parseManifest(
    edit(
      DOCKER_MANIFEST_EXAMPLE,
      ['config', 'mediaType'],
      'application/vnd.buildkit.cacheconfig.v0',
      [['layers', 0, 'mediaType'], 'application/vnd.example.unknown'],
    ),
    W,
  );
  assert.equal(bk.config.mediaType, 'application/vnd.buildkit.cacheconfig.v0');
});

interface BadCase {
  name: string;
  parse: (s: string) => unknown;
  input: string;
  /** Exact expected message, or a regex it must match. */
  message: string | RegExp;
  error?: typeof InvalidArgumentError | typeof UnsupportedError;
}

const man = (s: string) => parseManifest(s, W);
const idx = (s: string) => parseIndex(s, 'index sha256:1234');
const cfg = (s: string) => parseImageConfig(s, 'config sha256:5678');
const either = (s: string) => parseManifestOrIndex(s, 'blob');

const BAD: BadCase[] = [
  { name: 'JSON syntax error is one line', parse: man, input: '{"schemaVersion": 2,\n  "config": }', message: /^manifest sha256:abcd…: invalid JSON: [^\n]+$/ },
  { name: 'empty input', parse: man, input: '', message: /^manifest sha256:abcd…: invalid JSON: / },
  { name: 'top level not an object', parse: man, input: '[1,2]', message: 'manifest sha256:abcd…: expected a JSON object (an image manifest), got an array' },
  { name: 'schemaVersion missing', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['schemaVersion'], undefined), message: 'manifest sha256:abcd…: schemaVersion: required field is missing' },
  { name: 'schemaVersion 3', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['schemaVersion'], 3), message: 'manifest sha256:abcd…: schemaVersion: expected 2 for an image manifest, got number 3' },
  { name: 'schemaVersion as string', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['schemaVersion'], '2'), message: /schemaVersion: expected 2 for an image manifest, got string "2"$/ },
  { name: 'schema 1 is unsupported', parse: man, input: '{"schemaVersion":1,"name":"x","fsLayers":[]}', message: /schemaVersion 1 .* not supported/, error: UnsupportedError },
  { name: 'layer digest with bad hex', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 2, 'digest'], 'sha256:zz'), message: 'manifest sha256:abcd…: layers[2].digest: invalid sha256 digest "sha256:zz": expected 64 lowercase hex characters' },
  { name: 'layer digest not a string', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 0, 'digest'], 5), message: 'manifest sha256:abcd…: layers[0].digest: expected a digest string, got number 5' },
  { name: 'config digest missing', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['config', 'digest'], undefined), message: 'manifest sha256:abcd…: config.digest: required field is missing' },
  { name: 'config missing', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['config'], undefined), message: 'manifest sha256:abcd…: config: required field is missing' },
  { name: 'layers missing', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers'], undefined), message: 'manifest sha256:abcd…: layers: required field is missing' },
  { name: 'layers not an array', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers'], {}), message: 'manifest sha256:abcd…: layers: expected an array of descriptors, got an object' },
  { name: 'layer not an object', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 1], 'x'), message: 'manifest sha256:abcd…: layers[1]: expected an object, got string "x"' },
  { name: 'negative size', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 1, 'size'], -1), message: 'manifest sha256:abcd…: layers[1].size: expected a non-negative integer, got number -1' },
  { name: 'fractional size', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['config', 'size'], 1.5), message: /config\.size: expected a non-negative integer, got number 1.5$/ },
  { name: 'size beyond 2^53', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['config', 'size'], 2 ** 60), message: /config\.size: expected a non-negative integer/ },
  { name: 'size as string', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['config', 'size'], '7023'), message: /config\.size: expected a non-negative integer, got string "7023"$/ },
  { name: 'size missing', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 0, 'size'], undefined), message: 'manifest sha256:abcd…: layers[0].size: required field is missing' },
  { name: 'layer media type malformed', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 0, 'mediaType'], 'not a type'), message: 'manifest sha256:abcd…: layers[0].mediaType: invalid media type "not a type": expected type/subtype (RFC 6838)' },
  { name: 'layer media type missing', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 0, 'mediaType'], undefined), message: 'manifest sha256:abcd…: layers[0].mediaType: required field is missing' },
  { name: 'Docker manifest with an OCI index as config', parse: man, input: edit(DOCKER_MANIFEST_EXAMPLE, ['config', 'mediaType'], OCI_INDEX), message: `manifest sha256:abcd…: config.mediaType: ${OCI_INDEX} is an index, not a config` },
  { name: 'config that is a layer', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['config', 'mediaType'], 'application/vnd.oci.image.layer.v1.tar'), message: /config\.mediaType: .* is a layer, not a config$/ },
  { name: 'layer that is an image config', parse: man, input: edit(DOCKER_MANIFEST_EXAMPLE, ['layers', 1, 'mediaType'], 'application/vnd.docker.container.image.v1+json'), message: /layers\[1\]\.mediaType: .* is an image config, not a layer$/ },
  { name: 'layer that is a manifest', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 0, 'mediaType'], OCI_MANIFEST), message: /layers\[0\]\.mediaType: .* is an image manifest, not a layer$/ },
  { name: 'manifest mediaType is an index type', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['mediaType'], OCI_INDEX), message: `manifest sha256:abcd…: mediaType: ${OCI_INDEX} is an index, not an image manifest` },
  { name: 'manifest mediaType unknown', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['mediaType'], 'application/json'), message: /mediaType: expected application\/vnd\.oci\.image\.manifest\.v1\+json or .*, got "application\/json"$/ },
  { name: 'manifest referenced as a different type', parse: (s) => parseManifest(s, W, DOCKER_MANIFEST), input: OCI_MANIFEST_EXAMPLE, message: `manifest sha256:abcd…: mediaType: document says ${OCI_MANIFEST} but it was referenced as ${DOCKER_MANIFEST}` },
  { name: 'manifest referenced as an index', parse: (s) => parseManifest(s, W, OCI_INDEX), input: edit(OCI_MANIFEST_EXAMPLE, ['mediaType'], undefined), message: `manifest sha256:abcd…: referenced as ${OCI_INDEX}, which is an index, not an image manifest` },
  { name: 'annotation value not a string', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['annotations', 'com.example.key2'], 2), message: 'manifest sha256:abcd…: annotations["com.example.key2"]: expected a string, got number 2' },
  { name: 'descriptor annotations not an object', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 0, 'annotations'], ['a']), message: 'manifest sha256:abcd…: layers[0].annotations: expected an object, got an array' },
  { name: 'urls entry not a URL', parse: man, input: edit(DOCKER_MANIFEST_EXAMPLE, ['layers', 2, 'urls'], ['not a url']), message: 'manifest sha256:abcd…: layers[2].urls[0]: invalid URL "not a url"' },
  { name: 'subject with bad digest', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['subject', 'digest'], 'sha256:abc'), message: /subject\.digest: invalid sha256 digest/ },
  { name: 'unsupported digest algorithm', parse: man, input: edit(OCI_MANIFEST_EXAMPLE, ['layers', 0, 'digest'], 'md5:d41d8cd98f00b204e9800998ecf8427e'), message: /layers\[0\]\.digest: unsupported digest algorithm "md5"/ },
  { name: 'embedded data not base64', parse: man, input: edit(OCI_ARTIFACT_EXAMPLE, ['config', 'data'], 'e30'), message: 'manifest sha256:abcd…: config.data: invalid base64' },
  { name: 'embedded data of the wrong size', parse: man, input: edit(OCI_ARTIFACT_EXAMPLE, ['config', 'data'], 'e319'), message: 'manifest sha256:abcd…: config.data: embedded data is 3 bytes but size is 2' },
  { name: 'embedded data of the wrong digest', parse: man, input: edit(OCI_ARTIFACT_EXAMPLE, ['config', 'data'], 'W10='), message: /config\.data: embedded data has digest sha256:4f53cda1.* but the descriptor says sha256:44136fa3/ },
  { name: 'artifactType malformed', parse: man, input: edit(OCI_ARTIFACT_EXAMPLE, ['artifactType'], 'example'), message: /^manifest sha256:abcd…: artifactType: invalid media type "example"/ },

  { name: 'index manifests missing', parse: idx, input: edit(OCI_INDEX_EXAMPLE, ['manifests'], undefined), message: 'index sha256:1234: manifests: required field is missing' },
  { name: 'index entry digest bad', parse: idx, input: edit(OCI_INDEX_EXAMPLE, ['manifests', 1, 'digest'], 'sha256:' + 'A'.repeat(64)), message: /^index sha256:1234: manifests\[1\]\.digest: invalid sha256 digest/ },
  { name: 'index entry is a layer', parse: idx, input: edit(OCI_INDEX_EXAMPLE, ['manifests', 0, 'mediaType'], 'application/vnd.oci.image.layer.v1.tar+gzip'), message: /manifests\[0\]\.mediaType: .* is a layer, not a manifest or index$/ },
  { name: 'platform without os', parse: idx, input: edit(DOCKER_LIST_EXAMPLE, ['manifests', 1, 'platform', 'os'], undefined), message: 'index sha256:1234: manifests[1].platform.os: required field is missing' },
  { name: 'platform os.features not strings', parse: idx, input: edit(OCI_INDEX_EXAMPLE, ['manifests', 0, 'platform', 'os.features'], [1]), message: 'index sha256:1234: manifests[0].platform["os.features"][0]: expected a string, got number 1' },
  { name: 'index mediaType is a manifest type', parse: idx, input: edit(OCI_INDEX_EXAMPLE, ['mediaType'], DOCKER_MANIFEST), message: `index sha256:1234: mediaType: ${DOCKER_MANIFEST} is an image manifest, not an index` },
  { name: 'index schemaVersion 1', parse: idx, input: edit(OCI_INDEX_EXAMPLE, ['schemaVersion'], 1), message: /schemaVersion 1/, error: UnsupportedError },

  { name: 'config architecture missing', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['architecture'], undefined), message: 'config sha256:5678: architecture: required field is missing' },
  { name: 'config os not a string', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['os'], ['linux']), message: 'config sha256:5678: os: expected a string, got an array' },
  { name: 'config created not RFC 3339', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['created'], '2015-10-31 22:22:56'), message: /^config sha256:5678: created: invalid timestamp "2015-10-31 22:22:56": expected RFC 3339/ },
  { name: 'config created month 13', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['created'], '2015-13-31T22:22:56Z'), message: /created: invalid timestamp/ },
  { name: 'rootfs missing', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['rootfs'], undefined), message: 'config sha256:5678: rootfs: required field is missing' },
  { name: 'rootfs type not layers', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['rootfs', 'type'], 'layers+base'), message: 'config sha256:5678: rootfs.type: expected "layers", got "layers+base"' },
  { name: 'diff_id malformed', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['rootfs', 'diff_ids', 1], 'sha256:zz'), message: 'config sha256:5678: rootfs.diff_ids[1]: invalid sha256 digest "sha256:zz": expected 64 lowercase hex characters' },
  { name: 'diff_ids not an array', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['rootfs', 'diff_ids'], 'x'), message: 'config sha256:5678: rootfs.diff_ids: expected an array of digests, got string "x"' },
  { name: 'Env entry not a string', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['config', 'Env', 2], true), message: 'config sha256:5678: config.Env[2]: expected a string, got boolean true' },
  { name: 'Cmd a number', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['config', 'Cmd'], 3), message: 'config sha256:5678: config.Cmd: expected an array of strings, got number 3' },
  { name: 'Labels value not a string', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['config', 'Labels'], { a: 1 }), message: 'config sha256:5678: config.Labels.a: expected a string, got number 1' },
  { name: 'ExposedPorts value not an object', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['config', 'ExposedPorts', '8080/tcp'], true), message: 'config sha256:5678: config.ExposedPorts["8080/tcp"]: expected an object, got boolean true' },
  { name: 'Healthcheck interval not an integer', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['config', 'Healthcheck'], { Test: ['CMD', 'true'], Interval: '30s' }), message: 'config sha256:5678: config.Healthcheck.Interval: expected an integer, got string "30s"' },
  { name: 'ArgsEscaped not a boolean', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['config', 'ArgsEscaped'], 'yes'), message: 'config sha256:5678: config.ArgsEscaped: expected a boolean, got string "yes"' },
  { name: 'history entry not an object', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['history', 0], 'x'), message: 'config sha256:5678: history[0]: expected an object, got string "x"' },
  { name: 'history empty_layer not a boolean', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['history', 1, 'empty_layer'], 'true'), message: 'config sha256:5678: history[1].empty_layer: expected a boolean, got string "true"' },
  { name: 'more non-empty history entries than layers', parse: cfg, input: edit(OCI_CONFIG_EXAMPLE, ['history', 2], { created_by: 'a' }, [['history', 3], { created_by: 'b' }]), message: 'config sha256:5678: history: 3 entries without empty_layer but rootfs.diff_ids has only 2 layers' },

  { name: 'ambiguous document without mediaType', parse: either, input: '{"schemaVersion":2,"manifests":[],"layers":[]}', message: 'blob: ambiguous document: has both manifests and config/layers but no mediaType' },
  { name: 'neither manifest nor index', parse: either, input: '{"schemaVersion":2}', message: 'blob: not an image manifest or index: no mediaType, manifests, config or layers field' },
  { name: 'mediaType of another kind', parse: either, input: '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.config.v1+json"}', message: 'blob: mediaType: application/vnd.oci.image.config.v1+json is an image config, not an image manifest or index' },
  { name: 'referenced as a config', parse: (s) => parseManifestOrIndex(s, 'blob', 'application/vnd.oci.image.config.v1+json'), input: edit(OCI_MANIFEST_EXAMPLE, ['mediaType'], undefined), message: 'blob: referenced as application/vnd.oci.image.config.v1+json, which is an image config, not an image manifest' },
  { name: 'schema 1 detected by mediaType', parse: either, input: '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}', message: /Docker schema 1 .* not supported/, error: UnsupportedError },

  { name: 'oci-layout version missing', parse: (s) => parseOciLayout(s, 'oci-layout'), input: '{}', message: 'oci-layout: imageLayoutVersion: required field is missing' },
  { name: 'oci-layout version 2', parse: (s) => parseOciLayout(s, 'oci-layout'), input: '{"imageLayoutVersion":"2.0.0"}', message: /image layout version 2\.0\.0 is not supported/, error: UnsupportedError },
];

test('malformed documents are rejected with the field path', async (t) => {
  for (const c of BAD) {
    await t.test(c.name, () => {
      assert.throws(
        () => c.parse(c.input),
        (e: unknown) => {
          assert.ok(e instanceof (c.error ?? InvalidArgumentError), `expected ${(c.error ?? InvalidArgumentError).name}, got ${String(e)}`);
          const msg = (e as Error).message;
          assert.ok(!msg.includes('\n'), `message is one line: ${msg}`);
          if (typeof c.message === 'string') assert.equal(msg, c.message);
          else assert.match(msg, c.message);
          return true;
        },
      );
    });
  }
});

test('parseManifestOrIndex detects the kind', async (t) => {
  await t.test('by mediaType', () => {
    assert.equal(parseManifestOrIndex(OCI_MANIFEST_EXAMPLE, 'b').kind, 'manifest');
    assert.equal(parseManifestOrIndex(DOCKER_LIST_EXAMPLE, 'b').kind, 'index');
  });
  await t.test('by shape when mediaType is absent', () => {
    const noMt = (s: string) => edit(s, ['mediaType'], undefined);
    const a = parseManifestOrIndex(noMt(OCI_MANIFEST_EXAMPLE), 'b');
    assert.equal(a.kind, 'manifest');
    if (a.kind === 'manifest') assert.equal(a.manifest.layers.length, 3);
    const b = parseManifestOrIndex(noMt(OCI_INDEX_EXAMPLE), 'b');
    assert.equal(b.kind, 'index');
    if (b.kind === 'index') assert.equal(b.index.manifests.length, 2);
  });
  await t.test('an unknown declared type is ignored', () => {
    assert.equal(parseManifest(OCI_MANIFEST_EXAMPLE, 'b', 'application/json').layers.length, 3);
    assert.equal(parseManifestOrIndex(OCI_INDEX_EXAMPLE, 'b', 'application/octet-stream').kind, 'index');
  });
  await t.test('by the declared type when mediaType is absent', () => {
    const r = parseManifestOrIndex(edit(OCI_MANIFEST_EXAMPLE, ['mediaType'], undefined), 'b', OCI_MANIFEST);
    assert.equal(r.kind, 'manifest');
  });
  await t.test('validates what it detects', () => {
    assert.throws(
      () => parseManifestOrIndex(edit(OCI_INDEX_EXAMPLE, ['manifests', 0, 'size'], -5), 'b'),
      /: b: manifests\[0\]\.size: expected a non-negative integer, got number -5$/,
    );
  });
});

test('parseDescriptor validates without modifying its input', () => {
  const input = { mediaType: OCI_MANIFEST, digest: D1, size: 10, annotations: null };
  const d = parseDescriptor(input, 'index.json: manifests[0]');
  assert.equal(d.digest, D1);
  assert.equal('annotations' in d, false);
  assert.equal(input.annotations, null, 'input untouched');
  assert.throws(() => parseDescriptor({ ...input, size: -1 }, 'index.json: manifests[0]'), /: index\.json: manifests\[0\]: size: expected a non-negative integer/);
  assert.throws(() => parseDescriptor('x', 'desc'), /: desc: expected an object, got string "x"$/);
});

test('checkManifestConfig: diff_ids count must equal the layer count', () => {
  const m = parseManifest(OCI_MANIFEST_EXAMPLE, W); // 3 layers
  const c2 = parseImageConfig(OCI_CONFIG_EXAMPLE, 'config'); // 2 diff_ids
  assert.throws(() => checkManifestConfig(m, c2, 'image x'), (e: unknown) => e instanceof InvalidArgumentError && e.message === 'image x: manifest has 3 layers but config rootfs.diff_ids has 2');
  const m2 = parseManifest(edit(OCI_MANIFEST_EXAMPLE, ['layers', 2], undefined, [['layers', 'length'], 2]), W);
  assert.doesNotThrow(() => checkManifestConfig(m2, c2));
});

test('history with exactly as many non-empty entries as layers is accepted', () => {
  const c = parseImageConfig(edit(OCI_CONFIG_EXAMPLE, ['history', 2], { created_by: 'RUN x' }), 'config');
  assert.equal(c.history?.length, 3);
});
