/**
 * Layer compression: magic-number detection and streaming gzip/zstd (de)compression with
 * a decompression-bomb limit.
 */
export { detectCompression, COMPRESSIONS, MAGIC_BYTES, type Compression } from './detect.js';
export { decompressStream, compressStream, DEFAULT_GZIP_LEVEL, gzipPieces, type DecompressOptions, type DecompressResult, type DecompressStats } from './stream.js';
export { zstdDecompress, zstdCompressStream } from './zstd.js';
