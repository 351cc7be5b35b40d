/**
 * Internal to src/oci: how error messages name a JSON value they did not expect
 * (`got number 3`, `got an array`, `got string "x"`). Not re-exported from index.ts.
 */
/** A short description of a JSON value's type for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return `string ${truncate(JSON.stringify(v), 80)}`;
    case 'number':
      return `number ${String(v)}`;
    case 'boolean':
      return `boolean ${String(v)}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
