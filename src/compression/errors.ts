/** The compression module's own error: compressed bytes that do not decompress. */
import { DataCorruptError } from '../errors.js';

/** Compressed bytes that do not decompress (corrupt, truncated, a bomb): the stream's fault, not its content's. */
export class CompressedDataError extends DataCorruptError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CompressedDataError';
  }
}
