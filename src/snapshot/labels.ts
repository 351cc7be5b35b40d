/**
 * Checking snapshot labels (the rules containerd applies): a label's name is a non-empty
 * string, its value a string (empty to remove the label), neither holds a NUL byte, and name
 * and value together take at most 4,096 bytes of UTF-8.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Labels } from './types.js';

export const MAX_LABEL_BYTES = 4096;

/** `labels` as a plain copy, or InvalidArgumentError naming the first bad label. */
export function checkLabels(labels: unknown): Labels {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new InvalidArgumentError('snapshot labels must be an object of name → value strings');
  }
  const out: Labels = {};
  for (const [name, value] of Object.entries(labels)) {
    if (name.length === 0) throw new InvalidArgumentError('a snapshot label name must not be empty');
    if (typeof value !== 'string') throw new InvalidArgumentError(`snapshot label ${JSON.stringify(name)} has a ${typeof value} value: values are strings`);
    if (name.includes('\0') || value.includes('\0')) throw new InvalidArgumentError(`snapshot label ${JSON.stringify(name)} contains a NUL byte`);
    const size = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (size > MAX_LABEL_BYTES) {
      throw new InvalidArgumentError(`snapshot label ${JSON.stringify(name.slice(0, 64))} is ${size} bytes: name and value may take at most ${MAX_LABEL_BYTES}`);
    }
    out[name] = value;
  }
  return out;
}
