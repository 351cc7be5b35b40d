/**
 * cairn's own streaming tar codec: `readTar`/`TarReader` (streaming reader) and
 * `TarWriter` (deterministic writer), over the shared data model in types.ts.
 */
export * from './types.js';
export { readTar, TarReader, TarBody, type TarEntry, type TarReadOptions, type TarSummary, type TarTap, type PlainLane, type PlainTaken, type PlainRun } from './reader.js';
export { TarWriter, createTarWriter, encodeHeader, type TarWriteHeader, type TarWriterOptions, type TarBodyInput } from './writer.js';
export { ByteSource, FileSpanBytes, isFileSpanBytes, type ByteInput, type ByteTap, type FileSpan, type SpanTap } from './source.js';
