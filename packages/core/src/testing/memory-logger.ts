// Журнал сервисов в памяти: stdout процесса теста занят отчётом node:test, а текст журнала нужен
// для диагностики упавшего теста.
import { Writable } from 'node:stream';
import type { LevelWithSilent } from 'pino';
import { createLogger, type Logger } from '../logger.js';

export interface MemoryLogger {
  logger: Logger;
  /** Всё, что записано в журнал, — строки JSON подряд. */
  text: () => string;
}

export function createMemoryLogger(level: LevelWithSilent = 'warn'): MemoryLogger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger({ level, destination }), text: () => lines.join('') };
}
