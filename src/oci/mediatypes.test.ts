import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, UnsupportedError } from '../errors.js';
import * as mt from './mediatypes.js';

test('layerCompression maps every layer type', async (t) => {
  const table: [string, mt.LayerCompression][] = [
    [mt.OCI_LAYER, 'none'],
    [mt.OCI_LAYER_GZIP, 'gzip'],
    [mt.OCI_LAYER_ZSTD, 'zstd'],
    [mt.OCI_LAYER_NONDISTRIBUTABLE, 'none'],
    [mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'gzip'],
    [mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD, 'zstd'],
    [mt.DOCKER_LAYER_GZIP, 'gzip'],
    [mt.DOCKER_FOREIGN_LAYER_GZIP, 'gzip'],
    [mt.DOCKER_LAYER, 'none'],
    [mt.DOCKER_LAYER_ZSTD, 'zstd'],
  ];
  for (const [m, c] of table) {
    await t.test(m, () => {
      assert.equal(mt.layerCompression(m), c);
      assert.equal(mt.isLayerType(m), true);
      assert.equal(mt.isManifestType(m), false);
    });
  }
  await t.test('non-layer types are refused', () => {
    assert.throws(() => mt.layerCompression(mt.OCI_CONFIG), UnsupportedError);
    assert.throws(() => mt.layerCompression('application/vnd.oci.image.layer.v1.tar+lz4'), /unsupported layer media type/);
  });
});

test('classification predicates', () => {
  assert.equal(mt.isManifestType(mt.OCI_MANIFEST), true);
  assert.equal(mt.isManifestType(mt.DOCKER_MANIFEST), true);
  assert.equal(mt.isManifestType(mt.OCI_INDEX), false);
  assert.equal(mt.isIndexType(mt.OCI_INDEX), true);
  assert.equal(mt.isIndexType(mt.DOCKER_MANIFEST_LIST), true);
  assert.equal(mt.isIndexType(mt.DOCKER_MANIFEST), false);
  assert.equal(mt.isImageConfigType(mt.DOCKER_CONFIG), true);
  assert.equal(mt.isImageConfigType(mt.OCI_EMPTY), false);
  assert.equal(mt.isDockerType(mt.DOCKER_FOREIGN_LAYER_GZIP), true);
  assert.equal(mt.isDockerType(mt.OCI_LAYER_GZIP), false);
  assert.equal(mt.isNondistributableType(mt.DOCKER_FOREIGN_LAYER_GZIP), true);
  assert.equal(mt.isNondistributableType(mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP), true);
  assert.equal(mt.isNondistributableType(mt.OCI_LAYER_GZIP), false);
  assert.equal(mt.isSchema1Type(mt.DOCKER_MANIFEST_SCHEMA1_SIGNED), true);
  assert.equal(mt.OCI_EMPTY, 'application/vnd.oci.empty.v1+json');
});

test('parseMediaType checks the RFC 6838 shape', () => {
  assert.equal(mt.parseMediaType('application/vnd.example+type', 'f'), 'application/vnd.example+type');
  assert.throws(() => mt.parseMediaType('application', 'x.mediaType'), (e: unknown) => e instanceof InvalidArgumentError && e.message === 'x.mediaType: invalid media type "application": expected type/subtype (RFC 6838)');
  assert.throws(() => mt.parseMediaType('application/json; charset=utf-8'), InvalidArgumentError);
  assert.throws(() => mt.parseMediaType(`a/${'b'.repeat(128)}`), InvalidArgumentError);
  assert.throws(() => mt.parseMediaType(42, 'f'), /: f: expected a media type string, got number 42$/);
  assert.equal(mt.isMediaType('text/plain'), true);
  assert.equal(mt.isMediaType('/plain'), false);
});
