/**
 * Canonical JSON for the documents cairn writes (manifests, indexes, configs, oci-layout,
 * docker-archive manifest.json). The bytes are what Go's encoding/json.Marshal produces for
 * the same structure, so documents cairn writes look like the ones Docker writes:
 * - no whitespace;
 * - plain object keys in insertion order: cairn constructs documents field by field in the
 *   order of Go's struct declarations, so insertion order plays the role of struct order
 *   (beware: JavaScript puts integer-like keys such as "1" first in ascending order);
 * - a `Map` is written as an object with its keys sorted by UTF-8 bytes, which is how Go
 *   writes maps (Labels, annotations, ExposedPorts, Volumes); pass a Map (or insert keys in
 *   sorted order) where Docker's bytes would come from a Go map;
 * - properties whose value is `undefined` are left out (like Go's omitempty on nil);
 * - strings escaped like Go: `<`, `>`, `&` as \u003c \u003e \u0026 (Go's HTML-safe escaping),
 *   U+2028/U+2029 as \u2028/\u2029, other control characters as \b \f \n \r \t or \u00XX, lone
 *   surrogates replaced by U+FFFD (Go never sees them: it works on UTF-8);
 * - Uint8Array/Buffer as a base64 string (Go's []byte);
 * - numbers must be finite; integers print exactly (the documents hold only integers).
 * No trailing newline. Docker pushes schema 2 manifests indented (distribution's MarshalIndent);
 * cairn writes them compact, which is equally valid since only the digest of the bytes matters.
 */

const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function quote(s: string): string {
  return JSON.stringify(s.replace(LONE_SURROGATE_RE, '\ufffd')).replace(/[<>&\u2028\u2029]/g, (c) =>
    `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function write(v: unknown, out: string[], path: string): void {
  if (v === null) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'string':
      out.push(quote(v));
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`canonicalJson: ${path || 'value'}: ${v} has no JSON form`);
      out.push(JSON.stringify(v));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalJson: ${path || 'value'}: cannot encode a ${typeof v}`);
  }
  if (v instanceof Uint8Array) {
    out.push(`"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`);
    return;
  }
  if (Array.isArray(v)) {
    out.push('[');
    v.forEach((e, i) => {
      if (i > 0) out.push(',');
      if (e === undefined) throw new TypeError(`canonicalJson: ${path}[${i}]: undefined in an array`);
      write(e, out, `${path}[${i}]`);
    });
    out.push(']');
    return;
  }
  const entries: [string, unknown][] =
    v instanceof Map
      ? [...v.entries()].map(([k, e]): [string, unknown] => {
          if (typeof k !== 'string') throw new TypeError(`canonicalJson: ${path}: Map keys must be strings`);
          return [k, e];
        }).sort((a, b) => byUtf8(a[0], b[0]))
      : Object.entries(v as Record<string, unknown>);
  out.push('{');
  let first = true;
  for (const [k, e] of entries) {
    if (e === undefined) continue;
    if (!first) out.push(',');
    first = false;
    out.push(quote(k), ':');
    write(e, out, path ? `${path}.${k}` : k);
  }
  out.push('}');
}

/** Encode `value` as Go's json.Marshal would (see the module comment); returns UTF-8 bytes. */
export function canonicalJson(value: unknown): Buffer {
  const out: string[] = [];
  write(value, out, '');
  return Buffer.from(out.join(''), 'utf8');
}

/**
 * A copy of `record` with keys inserted in Go's map order (sorted by UTF-8 bytes), for building
 * Labels/annotations that canonicalJson writes as Docker would. Integer-like keys still come
 * first in JavaScript objects; use a Map if such keys are possible.
 */
export function sortedRecord<V>(record: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(record).sort(byUtf8)) out[k] = record[k]!;
  return out;
}
