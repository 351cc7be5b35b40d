/**
 * dockerfile/ is pure (docs/ARCHITECTURE.md): its non-test sources import no module that
 * reaches the file system, processes, the network or the host, and read neither the
 * environment nor the working directory. Callers read files and hand over text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FORBIDDEN_MODULES = ['fs', 'fs/promises', 'child_process', 'net', 'os'];

/** The side-effecting uses in one source text, as `what` strings (empty when pure). */
function impurities(source: string): string[] {
  const found: string[] = [];
  const specifiers = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(specifiers)) {
    const spec = (m[1] as string).replace(/^node:/, '');
    if (FORBIDDEN_MODULES.includes(spec)) found.push(`imports ${m[1] as string}`);
  }
  for (const m of source.matchAll(/\bprocess\s*\.\s*(env|cwd)\b/g)) found.push(`uses process.${m[1] as string}`);
  return found;
}

function sourceDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'src'))) return path.join(dir, 'src', 'dockerfile');
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root (package.json) not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

test('the purity check recognises each forbidden import form and process.env/cwd', () => {
  assert.deepEqual(impurities("import { readFile } from 'node:fs/promises';"), ['imports node:fs/promises']);
  assert.deepEqual(impurities("import * as os from 'os';\nimport 'node:net';"), ['imports os', 'imports node:net']);
  assert.deepEqual(impurities("const cp = await import('node:child_process');"), ['imports node:child_process']);
  assert.deepEqual(impurities("const fs = require('fs');"), ['imports fs']);
  assert.deepEqual(impurities('const home = process.env.HOME ?? process.cwd();'), ['uses process.env', 'uses process.cwd']);
  assert.deepEqual(impurities("import * as path from 'node:path';\nimport { parse } from './parser.js';"), []);
});

test('src/dockerfile/*.ts (non-test) does no I/O and reads no environment', () => {
  const dir = sourceDir();
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(files.includes('plan.ts') && files.includes('parser.ts'), `unexpected listing of ${dir}: ${files.join(', ')}`);
  const bad: string[] = [];
  for (const f of files) for (const what of impurities(readFileSync(path.join(dir, f), 'utf8'))) bad.push(`${f} ${what}`);
  assert.deepEqual(bad, []);
});
