#!/usr/bin/env node
// Запуск всех тестов одной командой (npm test) на любой ОС: находит *.test.ts и отдаёт их
// встроенному node:test через tsx. Аргументы: --only unit|e2e, или пути/подстроки для фильтра.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = ['packages', 'services', 'apps', 'tests'];
const skip = new Set(['node_modules', '.data', 'dist', 'admin-ui']);

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith('.test.ts')) yield relative(root, full).split(sep).join('/');
  }
}

const args = process.argv.slice(2);
let only;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--only') only = args[++i];
  else filters.push(args[i]);
}

let files = roots.flatMap((r) => [...walk(join(root, r))]).sort();
if (only === 'unit') files = files.filter((f) => !f.startsWith('tests/'));
if (only === 'e2e') files = files.filter((f) => f.startsWith('tests/'));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('Не найдено ни одного теста');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, ARTSTORE_TEST_RUN: process.env.ARTSTORE_TEST_RUN ?? `r${Date.now().toString(36)}` } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
