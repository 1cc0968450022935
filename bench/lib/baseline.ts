// Запуск эталонного сервера (bench/baseline-server.ts) отдельным процессом: голый node:http, тело
// потоком в файл + fsync, выдача потоком с диска. Общий для бенчмарков, которые считают отношения.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type CleanupStack } from '@artstore/core/testing';
import { stopChild } from '../../tests/e2e/harness.js';
import type { Target } from './http-client.js';

const BASELINE_SERVER = fileURLToPath(new URL('../baseline-server.ts', import.meta.url));

/**
 * Запускает эталон с каталогом данных `<workDir>/baseline` и ждёт GET /health. Остановка процесса
 * регистрируется в cleanup сразу после запуска — сервер не переживёт бенчмарк даже при ошибке старта.
 */
export async function startBaseline(workDir: string, cleanup: CleanupStack): Promise<{ target: Target; pid: number | undefined }> {
  const dataDir = join(workDir, 'baseline');
  await mkdir(dataDir);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', BASELINE_SERVER, String(port), dataDir], { stdio: ['ignore', 'inherit', 'inherit'] });
  cleanup.defer(() => stopChild(child, 10_000));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`эталонный сервер завершился с кодом ${child.exitCode}`);
    const ok = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('эталонный сервер не ответил за 30 с');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { target: { name: 'эталон', base, headers: {} }, pid: child.pid };
}
