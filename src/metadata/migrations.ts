/**
 * Schema migrations, in order: MIGRATIONS[n] takes a store from version n to n+1.
 * Never edit a released migration; append a new one.
 *
 * v1 tables:
 *   images        one row per image, keyed by its ID (the config digest, as Docker)
 *   tags          name (canonical reference with tag) -> image
 *   repo_digests  name@manifest-digest references an image was pulled or loaded by
 *   layers        one row per chainID: diffID, parent chainID, uncompressed size
 *   layer_blobs   compressed (or plain) blobs in content known to hold a diffID
 *   image_layers  an image's layers in order, with the blob its manifest names
 *   leases        in-flight work (a pid); content named in lease_resources survives GC
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    manifest_media_type TEXT NOT NULL,
    manifest_size INTEGER NOT NULL,
    config_media_type TEXT NOT NULL,
    config_size INTEGER NOT NULL,
    created TEXT,
    size INTEGER NOT NULL,
    parent TEXT,
    top_chain_id TEXT,
    last_tag_time TEXT,
    added_at TEXT NOT NULL
  );
  CREATE INDEX images_parent ON images(parent);
  CREATE TABLE tags (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id),
    created_at TEXT NOT NULL
  );
  CREATE INDEX tags_image ON tags(image_id);
  CREATE TABLE repo_digests (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL REFERENCES images(id)
  );
  CREATE INDEX repo_digests_image ON repo_digests(image_id);
  CREATE TABLE layers (
    chain_id TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE layer_blobs (
    blob_digest TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL
  );
  CREATE INDEX layer_blobs_diff ON layer_blobs(diff_id);
  CREATE TABLE image_layers (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    chain_id TEXT NOT NULL,
    blob_digest TEXT NOT NULL,
    PRIMARY KEY (image_id, idx)
  );
  CREATE INDEX image_layers_chain ON image_layers(chain_id);
  CREATE INDEX image_layers_blob ON image_layers(blob_digest);
  CREATE TABLE leases (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE lease_resources (
    lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    PRIMARY KEY (lease_id, digest)
  );
  CREATE TABLE store_info (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // v2: snapshots (src/snapshot). One row per snapshot; its files are ROOT/snapshots/<driver>/<id>.
  // A committed id is never reused (AUTOINCREMENT). The store's driver is recorded in
  // store_info ('storage-driver') by the snapshotter on first use.
  `
  CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
    parent TEXT REFERENCES snapshots(key),
    driver TEXT NOT NULL,
    created_at TEXT NOT NULL,
    size INTEGER,
    inodes INTEGER
  );
  CREATE INDEX snapshots_parent ON snapshots(parent);
  `,
  // v3: images mounted with `cairn image mount` (reference-counted; src/image/mount.ts).
  `
  CREATE TABLE image_mounts (
    image_id TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    target TEXT NOT NULL
  );
  `,
  // v4: labels on snapshots (src/snapshot), as containerd has them. Keyed by the snapshot's id,
  // which a commit keeps (its key changes); they go with their snapshot. Empty values are not stored.
  `
  CREATE TABLE snapshot_labels (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, name)
  );
  `,
  // v5: the reference graph garbage collection walks (src/metadata/refs.ts): typed edges from
  // roots (image records, image mounts, leases) and objects to the objects they keep alive.
  // Backfilled from the tables that held these relations implicitly; lease resources, untyped
  // until now, become lease -> blob and lease -> snapshot edges (a leased digest was either).
  `
  CREATE TABLE gc_refs (
    src_kind TEXT NOT NULL,
    src_id TEXT NOT NULL,
    dst_kind TEXT NOT NULL CHECK (dst_kind IN ('blob', 'layer', 'snapshot')),
    dst_id TEXT NOT NULL,
    PRIMARY KEY (src_kind, src_id, dst_kind, dst_id)
  );
  CREATE INDEX gc_refs_dst ON gc_refs(dst_kind, dst_id);
  INSERT OR IGNORE INTO gc_refs SELECT 'image', id, 'blob', id FROM images;
  INSERT OR IGNORE INTO gc_refs SELECT 'image', id, 'blob', manifest_digest FROM images;
  INSERT OR IGNORE INTO gc_refs SELECT 'image', image_id, 'blob', blob_digest FROM image_layers;
  INSERT OR IGNORE INTO gc_refs SELECT 'image', image_id, 'layer', chain_id FROM image_layers;
  INSERT OR IGNORE INTO gc_refs SELECT 'layer', chain_id, 'snapshot', chain_id FROM layers;
  INSERT OR IGNORE INTO gc_refs SELECT 'layer', chain_id, 'layer', parent FROM layers WHERE parent IS NOT NULL;
  INSERT OR IGNORE INTO gc_refs SELECT 'mount', image_id, 'snapshot', snapshot FROM image_mounts;
  INSERT OR IGNORE INTO gc_refs SELECT 'lease', lease_id, 'blob', digest FROM lease_resources;
  INSERT OR IGNORE INTO gc_refs SELECT 'lease', lease_id, 'snapshot', digest FROM lease_resources;
  DROP TABLE lease_resources;
  `,
  // v6: a layer's tar-split record (src/layer/tarsplit.ts), a blob in the content store from
  // which the layer's exact tar is re-emitted out of its snapshot; null when the layer's files
  // cannot reproduce it (then its blob is kept). The layer keeps the record alive.
  `
  ALTER TABLE layers ADD COLUMN tar_split TEXT;
  `,
  // v7: where blobs were seen in registries (Docker's distribution metadata): each row says that
  // `registry` holds blob `digest` (media type, size) of the layer `diff_id` in `repository`.
  // Written by pull and push; push reads it to skip a layer the repository has under another
  // blob (a compressed form pushed before), or to mount it from another repository. Pure
  // knowledge about registries: it keeps nothing alive in the store.
  `
  CREATE TABLE blob_sources (
    digest TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (digest, registry, repository)
  );
  CREATE INDEX blob_sources_layer ON blob_sources(diff_id, registry);
  `,
  // v8: the repositories `cairn registry serve` serves from this store (metadata/registry.ts):
  // which blobs each repository holds (a layer, a config or a manifest pushed or mounted there;
  // the repository keeps them alive: gc_refs edges from 'repository'), the manifests it holds
  // (media type, size, and for the referrers API its artifact type and subject), its tags, and
  // the blob uploads in progress (their bytes in a named content-store ingest).
  `
  CREATE TABLE registry_blobs (
    repo TEXT NOT NULL,
    digest TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (repo, digest)
  );
  CREATE TABLE registry_manifests (
    repo TEXT NOT NULL,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    artifact_type TEXT,
    subject TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repo, digest)
  );
  CREATE INDEX registry_manifests_subject ON registry_manifests(repo, subject);
  CREATE TABLE registry_tags (
    repo TEXT NOT NULL,
    tag TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repo, tag)
  );
  CREATE TABLE registry_uploads (
    id TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    started_at TEXT NOT NULL,
    used_at TEXT NOT NULL
  );
  `,
  // v9: containers and volumes. A container (container/records.ts) is its image, its writable
  // snapshot (a garbage-collection root: gc_refs edges from 'container' to the snapshot and the
  // image's top layer), what it was created with (Docker's Config and HostConfig, JSON) and
  // its last known state (JSON: status, pids, exit code, times, health); its name is unique.
  // container_volumes says which named volumes each container uses (volume rm refuses those).
  // A volume (volume/records.ts) is a name, a driver, its options and labels; its data lives
  // under ROOT/volumes/<name>, outside every layer.
  `
  CREATE TABLE containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image_ref TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL
  );
  CREATE INDEX containers_image ON containers(image_id);
  CREATE TABLE container_volumes (
    container_id TEXT NOT NULL,
    volume TEXT NOT NULL,
    PRIMARY KEY (container_id, volume)
  );
  CREATE INDEX container_volumes_volume ON container_volumes(volume);
  CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    created_at TEXT NOT NULL,
    labels TEXT NOT NULL,
    options TEXT NOT NULL,
    anonymous INTEGER NOT NULL DEFAULT 0
  );
  `,
  // v10: sizes as Docker counts them (issue 14). snapshots.content: the apparent bytes of a
  // committed snapshot's own files (Usage.content), measured with its usage. layers.files_size:
  // the bytes of the files a layer holds (Docker's DiffSize: regular files once per inode,
  // symlinks by their target's length, nothing for directories and whiteouts), recorded with the
  // layer; NULL for a layer recorded before (measured when first asked for: image/size.ts).
  `
  ALTER TABLE snapshots ADD COLUMN content INTEGER;
  ALTER TABLE layers ADD COLUMN files_size INTEGER;
  `,
  // v11: the build cache (build/cache-records.ts). build_cache: a build step's result by its
  // cache key (the parent layer, the resolved instruction, the content of what COPY reads): the
  // layer it made (chainID, diffID, tar bytes, tar-split record) — a garbage-collection root
  // ('build-cache' edges to the layer's snapshot and record) with its last use; `slot` names
  // where the step was (Dockerfile, stage, instruction) and `inputs` what its key was made of,
  // so `build --explain-cache` can name what changed. build_file_hashes: a context file's
  // content digest by its identity (device, inode, size, mtime, ctime), so an unchanged
  // rebuild reads no file.
  `
  CREATE TABLE build_cache (
    key TEXT PRIMARY KEY,
    chain_id TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    tar_split TEXT NOT NULL,
    slot TEXT NOT NULL,
    inputs TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used TEXT NOT NULL
  );
  CREATE INDEX build_cache_slot ON build_cache(slot, last_used);
  CREATE TABLE build_file_hashes (
    dev TEXT NOT NULL,
    ino TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns TEXT NOT NULL,
    ctime_ns TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (dev, ino)
  );
  `,
  // v12: images whose content `system check --repair` found damaged (check/): why, or NULL. Such
  // an image stays, with its names, until it is loaded or pulled again (putImage clears it).
  `
  ALTER TABLE images ADD COLUMN damaged TEXT;
  `,
];
