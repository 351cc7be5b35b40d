/*
 * cairn_native: scanPlain — the plain entries of a tar, parsed where they lie in a buffer.
 *
 * A root filesystem is thousands of small, ordinary entries. Parsing each in JavaScript (a
 * header object, a body object, promises, the path rules, the CRC of the body) cost more
 * than creating the file; this parses a run of them in one call, for the layer applier
 * (src/layer/apply.ts), which then creates them on the pool (applyPlain, apply.c) and
 * records them in the tar-split. It accepts only what it can read exactly as the tar reader
 * (src/tar/reader.ts) and the path rules (src/layer/pathsafe.ts) would, and stops at the
 * first entry that is anything else: the JavaScript reader then reads that one, with its
 * full rules and its error messages. So "stop" is never an error here, and nothing here
 * is ever more lenient than the reader.
 *
 *   scanPlain(buf, start, end, max, maxFile, info, meta, names) -> count
 *
 * Reads entries from buf[start, end) while each lies wholly there (headers, body, padding)
 * and is plain:
 *   - a POSIX ustar header ("ustar\0" magic) with a valid checksum (unsigned or signed sum);
 *   - type '0' (a regular file of at most maxFile bytes), '5' (a directory) or '2' (a
 *     symlink with a non-empty target);
 *   - optionally preceded by one PAX 'x' header whose records are only mtime, atime, ctime
 *     (non-negative decimal times), path and linkpath (non-empty);
 *   - octal numeric fields (no base-256), owner ids up to 2^32-2;
 *   - a name (prefix/name, or PAX path) that cleans to at least one component: no leading
 *     '/', no '..', no component over 255 bytes, at most 4096 bytes, no NUL, and whose last
 *     component is not a whiteout (".wh." prefix).
 * For each entry it writes INFO_SLOTS int32 to info (kind, key offset and length in names,
 * offset of the last component within the key, link offset and length, header offset
 * (the PAX header's when there is one), body offset, size, end (after the padding), the
 * body's CRC-32, depth) and META_LEN doubles to meta (as applyFile's meta), and the cleaned
 * key (components joined by '/') and link target to names. Offsets into buf are relative
 * to buf. It stops when max entries are read or names is full. Returns the count.
 */
#include "common.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define BLOCK 512
#define INFO_SLOTS 12
#define META_LEN 9
#define NAME_MAX_ 255
#define PATH_MAX_ 4096
#define MAX_ID 0xfffffffeu

enum { KIND_DIR = 0, KIND_SYMLINK = 1, KIND_FILE = 5 };

/* An octal field as the reader reads it (spaces and NULs trimmed at both ends); false for base-256 or a bad digit. */
static bool octal(const uint8_t *f, size_t len, uint64_t *out) {
  if (f[0] & 0x80) return false;
  size_t i = 0, j = len;
  while (i < j && (f[i] == ' ' || f[i] == 0)) i++;
  while (j > i && (f[j - 1] == ' ' || f[j - 1] == 0)) j--;
  uint64_t v = 0;
  for (size_t k = i; k < j; k++) {
    unsigned c = (unsigned)f[k] - '0';
    if (c > 7) return false;
    v = v * 8 + c;
    if (v > 9007199254740991ull) return false;
  }
  *out = v;
  return true;
}

static bool checksum_ok(const uint8_t *h) {
  uint64_t stored;
  if (!octal(h + 148, 8, &stored)) return false;
  int64_t u = 0, s = 0;
  for (int i = 0; i < BLOCK; i++) {
    uint8_t b = (i >= 148 && i < 156) ? 0x20 : h[i];
    u += b;
    s += (int8_t)b;
  }
  return (int64_t)stored == u || (int64_t)stored == s;
}

/* Bytes of a NUL-terminated field (at most len). */
static size_t field_len(const uint8_t *f, size_t len) {
  const uint8_t *z = memchr(f, 0, len);
  return z == NULL ? len : (size_t)(z - f);
}

/* A PAX time as parsePaxTime reads it, non-negative only: [0-9]{1,16}(.[0-9]*)? */
static bool pax_time(const uint8_t *v, size_t n, double *sec, double *nsec) {
  size_t i = 0;
  uint64_t s = 0;
  while (i < n && v[i] >= '0' && v[i] <= '9') {
    s = s * 10 + (uint64_t)(v[i] - '0');
    i++;
  }
  if (i == 0 || i > 16 || s > 9007199254740991ull) return false;
  uint64_t ns = 0;
  if (i < n) {
    if (v[i] != '.') return false;
    i++;
    int digits = 0;
    for (; i < n; i++) {
      if (v[i] < '0' || v[i] > '9') return false;
      if (digits < 9) {
        ns = ns * 10 + (uint64_t)(v[i] - '0');
        digits++;
      }
    }
    for (; digits < 9; digits++) ns *= 10;
  }
  *sec = (double)s;
  *nsec = (double)ns;
  return true;
}

struct pax {
  bool has_mtime, has_atime;
  double mtime_s, mtime_ns, atime_s, atime_ns;
  const uint8_t *path, *link;
  size_t path_len, link_len;
};

static bool key_is(const uint8_t *k, size_t n, const char *want) {
  return n == strlen(want) && memcmp(k, want, n) == 0;
}

/* The records of a PAX 'x' header's data, when each is one this scanner understands. */
static bool parse_pax(const uint8_t *d, size_t n, struct pax *p) {
  size_t pos = 0;
  while (pos < n) {
    size_t sp = pos, len = 0;
    while (sp < n && sp - pos <= 20 && d[sp] >= '0' && d[sp] <= '9') len = len * 10 + (size_t)(d[sp++] - '0');
    if (sp == pos || sp >= n || d[sp] != ' ' || len <= sp - pos + 1 || pos + len > n) return false;
    size_t end = pos + len;
    if (d[end - 1] != '\n') return false;
    const uint8_t *k = d + sp + 1;
    const uint8_t *eq = memchr(k, '=', end - 1 - (sp + 1));
    if (eq == NULL || eq == k) return false;
    size_t klen = (size_t)(eq - k);
    const uint8_t *v = eq + 1;
    size_t vlen = (size_t)(d + end - 1 - v);
    if (vlen == 0) return false; /* an empty value un-sets a field: the reader's business */
    if (key_is(k, klen, "mtime")) {
      if (!pax_time(v, vlen, &p->mtime_s, &p->mtime_ns)) return false;
      p->has_mtime = true;
    } else if (key_is(k, klen, "atime")) {
      if (!pax_time(v, vlen, &p->atime_s, &p->atime_ns)) return false;
      p->has_atime = true;
    } else if (key_is(k, klen, "ctime")) {
      double s, ns;
      if (!pax_time(v, vlen, &s, &ns)) return false;
    } else if (key_is(k, klen, "path")) {
      p->path = v;
      p->path_len = vlen;
    } else if (key_is(k, klen, "linkpath")) {
      p->link = v;
      p->link_len = vlen;
    } else {
      return false;
    }
    pos = end;
  }
  return true;
}

struct out {
  int32_t *info;
  double *meta;
  uint8_t *names;
  size_t names_cap, names_len;
};

/*
 * Clean `name` into out->names as pathsafe.ts does; false (nothing kept) for anything it
 * would refuse or treat specially: the root, an absolute name, '..', long names, a whiteout.
 */
static bool clean_name(const uint8_t *name, size_t n, struct out *o, int32_t *key_len, int32_t *base_off, int32_t *depth) {
  if (n == 0 || n > PATH_MAX_ || name[0] == '/' || memchr(name, 0, n) != NULL) return false;
  size_t at = o->names_len, w = 0, last = 0;
  int comps = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && name[i] != '/') continue;
    size_t len = i - start;
    if (len == 0 || (len == 1 && name[start] == '.')) {
      /* dropped */
    } else if (len == 2 && name[start] == '.' && name[start + 1] == '.') {
      return false;
    } else {
      if (len > NAME_MAX_) return false;
      size_t need = (comps > 0 ? 1 : 0) + len;
      if (at + w + need > o->names_cap) return false;
      if (comps > 0) o->names[at + w++] = '/';
      last = w;
      memcpy(o->names + at + w, name + start, len);
      w += len;
      comps++;
    }
    start = i + 1;
  }
  if (comps == 0 || w > PATH_MAX_) return false;
  if (w - last >= 4 && memcmp(o->names + at + last, ".wh.", 4) == 0) return false;
  *key_len = (int32_t)w;
  *base_off = (int32_t)last;
  *depth = comps;
  return true;
}

/* One entry at buf[pos, end) into slot i; its end offset, or 0 when it is not plain. */
static size_t scan_one(const uint8_t *buf, size_t pos, size_t end, uint64_t max_file, struct out *o, uint32_t i) {
  size_t entry = pos;
  struct pax p;
  memset(&p, 0, sizeof p);
  if (pos + BLOCK > end) return 0;
  const uint8_t *h = buf + pos;
  if (h[156] == 'x') {
    uint64_t psize;
    if (!checksum_ok(h) || memcmp(h + 257, "ustar\0", 6) != 0 || !octal(h + 124, 12, &psize) || psize > 65536) return 0;
    size_t padded = (size_t)((psize + BLOCK - 1) / BLOCK * BLOCK);
    if (pos + BLOCK + padded + BLOCK > end) return 0;
    if (!parse_pax(buf + pos + BLOCK, (size_t)psize, &p)) return 0;
    pos += BLOCK + padded;
    h = buf + pos;
  }
  uint8_t tf = h[156];
  int kind = tf == '0' ? KIND_FILE : tf == '5' ? KIND_DIR : tf == '2' ? KIND_SYMLINK : -1;
  if (kind < 0 || memcmp(h + 257, "ustar\0", 6) != 0 || !checksum_ok(h)) return 0;
  uint64_t mode, uid, gid, size, mtime;
  if (!octal(h + 100, 8, &mode) || !octal(h + 108, 8, &uid) || !octal(h + 116, 8, &gid) || !octal(h + 124, 12, &size) ||
      !octal(h + 136, 12, &mtime))
    return 0;
  if (uid > MAX_ID || gid > MAX_ID) return 0;
  if (kind != KIND_FILE) size = 0; /* header-only types never have a body */
  if (size > max_file) return 0;
  size_t data = pos + BLOCK;
  size_t stop = data + (size_t)((size + BLOCK - 1) / BLOCK * BLOCK);
  if (stop > end) return 0;

  /* the name: PAX path, else prefix "/" name */
  uint8_t joined[PATH_MAX_ + 1];
  const uint8_t *name;
  size_t name_len;
  if (p.path != NULL) {
    name = p.path;
    name_len = p.path_len;
  } else {
    size_t nl = field_len(h, 100), pl = field_len(h + 345, 155);
    if (pl > 0) {
      memcpy(joined, h + 345, pl);
      joined[pl] = '/';
      memcpy(joined + pl + 1, h, nl);
      name = joined;
      name_len = pl + 1 + nl;
    } else {
      name = h;
      name_len = nl;
    }
  }
  size_t names_mark = o->names_len;
  int32_t key_len, base_off, depth;
  if (!clean_name(name, name_len, o, &key_len, &base_off, &depth)) return 0;
  o->names_len += (size_t)key_len;
  int32_t link_off = 0, link_len = 0;
  if (kind == KIND_SYMLINK) {
    const uint8_t *l = p.link != NULL ? p.link : h + 157;
    size_t ll = p.link != NULL ? p.link_len : field_len(h + 157, 100);
    if (ll == 0 || ll > PATH_MAX_ || memchr(l, 0, ll) != NULL || o->names_len + ll > o->names_cap) {
      o->names_len = names_mark;
      return 0;
    }
    link_off = (int32_t)o->names_len;
    link_len = (int32_t)ll;
    memcpy(o->names + o->names_len, l, ll);
    o->names_len += ll;
  } else if (p.link != NULL && (p.link_len > PATH_MAX_ || memchr(p.link, 0, p.link_len) != NULL)) {
    o->names_len = names_mark;
    return 0;
  }

  int32_t *in = o->info + (size_t)i * INFO_SLOTS;
  in[0] = kind;
  in[1] = (int32_t)names_mark;
  in[2] = key_len;
  in[3] = base_off;
  in[4] = link_off;
  in[5] = link_len;
  in[6] = (int32_t)entry;
  in[7] = (int32_t)data;
  in[8] = (int32_t)size;
  in[9] = (int32_t)stop;
  in[10] = (int32_t)(size > 0 ? (uint32_t)crc32_z(0, buf + data, (z_size_t)size) : 0);
  in[11] = depth;
  double *m = o->meta + (size_t)i * META_LEN;
  m[0] = (double)uid;
  m[1] = (double)gid;
  m[2] = (double)(mode & 07777);
  m[5] = p.has_mtime ? p.mtime_s : (double)mtime;
  m[6] = p.has_mtime ? p.mtime_ns : 0;
  m[3] = p.has_atime ? p.atime_s : m[5];
  m[4] = p.has_atime ? p.atime_ns : m[6];
  m[7] = 0;
  m[8] = 0;
  return stop;
}

static napi_value js_scan_plain(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 8, argv, NULL)) return NULL;
  const void *buf;
  size_t buf_len, info_len, meta_len, names_len;
  uint32_t start, end, max;
  int64_t max_file;
  void *info_data, *meta_data, *names_data;
  if (!cn_get_bytes(env, argv[0], "buf", &buf, &buf_len) || !cn_get_uint32(env, argv[1], "start", &start) ||
      !cn_get_uint32(env, argv[2], "end", &end) || !cn_get_uint32(env, argv[3], "max", &max) ||
      !cn_get_int64(env, argv[4], "maxFile", &max_file) ||
      !cn_get_typed(env, argv[5], napi_int32_array, 0, "info", &info_data, &info_len) ||
      !cn_get_typed(env, argv[6], napi_float64_array, 0, "meta", &meta_data, &meta_len) ||
      !cn_get_bytes(env, argv[7], "names", (const void **)&names_data, &names_len))
    return NULL;
  if (start > end || end > buf_len) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "start..end must lie in buf");
  if (buf_len > INT32_MAX) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "buf is too large");
  if (max_file < 0) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "maxFile must not be negative");
  if (info_len < (size_t)max * INFO_SLOTS || meta_len < (size_t)max * META_LEN)
    return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "info and meta must hold %u entries", max);
  struct out o = {info_data, meta_data, names_data, names_len, 0};
  size_t pos = start;
  uint32_t n = 0;
  while (n < max) {
    size_t next = scan_one(buf, pos, end, (uint64_t)max_file, &o, n);
    if (next == 0) break;
    pos = next;
    n++;
  }
  napi_value v;
  if (napi_create_uint32(env, n, &v) != napi_ok) return NULL;
  return v;
}

bool cn_register_scan(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "scanPlain", js_scan_plain);
}
