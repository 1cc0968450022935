// Структурные JSON-логи (SPEC X-4). Секреты вырезаются до записи: пароли, токены, заголовок Authorization.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

const REDACT = [
  'password',
  '*.password',
  'new_password',
  '*.new_password',
  'client_secret',
  '*.client_secret',
  'access_token',
  'refresh_token',
  '*.access_token',
  '*.refresh_token',
  'token',
  '*.token',
  // Ключ S3 (storage.s3, SPEC SE-10): и как ключ конфигурации, и как опция адаптера — на любой глубине до секции.
  'secret_access_key',
  '*.secret_access_key',
  '*.*.secret_access_key',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

/** Без service — для процесса, где живут несколько сервисов: каждый добавляет своё поле service в дочернем журнале. */
export function createLogger(options: { service?: string; level: LevelWithSilent; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      base: options.service === undefined ? { pid: process.pid } : { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      redact: { paths: REDACT, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? process.stdout,
  );
}
