#!/usr/bin/env node
// Запуск бенчмарков (npm run bench) на любой ОС, без bash: каждый бенчмарк — отдельный процесс
// `node --import tsx bench/<имя>.ts`. Использование:
//   npm run bench                          — все бенчмарки по очереди
//   npm run bench -- transfer              — один
//   npm run bench -- transfer --big-mib 64 — параметры после имени уходят бенчмарку
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const BENCHMARKS = ['transfer', 'se', 'ingest', 'compression', 'auth', 'audit', 'search', 'query'];

const args = process.argv.slice(2);
if (args[0] === '--help' || args[0] === '-h') {
  console.log(`npm run bench [-- <${BENCHMARKS.join('|')}> [параметры бенчмарка]]`);
  process.exit(0);
}
const named = args[0] !== undefined && !args[0].startsWith('-');
const selected = named ? [args[0]] : BENCHMARKS;
const rest = named ? args.slice(1) : args;
const unknown = selected.filter((name) => !BENCHMARKS.includes(name));
if (unknown.length > 0) {
  console.error(`Неизвестный бенчмарк: ${unknown.join(', ')}. Есть: ${BENCHMARKS.join(', ')}`);
  process.exit(2);
}

// Точная команда прогона — для bench/RESULTS.md. Не ARTSTORE_*: такие переменные читает конфиг ArtStore.
const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`
    : `node scripts/bench.mjs${args.length > 0 ? ` ${args.join(' ')}` : ''}`;

let current;
// SIGINT из терминала получает вся группа процессов; SIGTERM передаём бенчмарку сами,
// чтобы он успел остановить свои серверы.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (current && current.exitCode === null) current.kill(signal);
  });
}

let failed = 0;
for (const name of selected) {
  const code = await new Promise((resolve) => {
    current = spawn(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...rest], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, BENCH_INVOCATION: command },
    });
    current.on('error', (error) => {
      console.error(`bench ${name}: не удалось запустить — ${error.message}`);
      resolve(1);
    });
    current.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  if (code !== 0) {
    failed++;
    console.error(`bench ${name}: завершился с кодом ${code}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
