// Метрики элемента хранения (SPEC X-3): место, файлы, режим, WAL (fsync и пачки группового
// коммита), восстановление, сверка кеша и scrub, остановка записи. Имена — artstore_se_*.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Mode } from './modes.js';

/** Текущее состояние SE, которое читается в момент сбора метрик. */
export interface SeSnapshot {
  usedBytes: number;
  reservedBytes: number;
  capacityBytes: number;
  walBytes: number;
  writesStopped: boolean;
  mode: Mode;
  /** Уровень тревоги заполнения: 0 или пройденный порог, % (SPEC SE-9, BY-5). */
  capacityAlarmLevel: number;
  /** Свободно на ФС по последнему statfs; null — statfs нет (S3). */
  diskFreeBytes: number | null;
}

export function createSeMetrics(registry: Registry, snapshot: () => SeSnapshot) {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (s: SeSnapshot) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(snapshot()));
      },
    });
  return {
    usedBytes: gauge('artstore_se_used_bytes', 'Занято байт активными файлами', (s) => s.usedBytes),
    capacityBytes: gauge('artstore_se_capacity_bytes', 'Предел места storage.max_size', (s) => s.capacityBytes),
    reservedBytes: gauge('artstore_se_reserved_bytes', 'Зарезервировано идущими загрузками', (s) => s.reservedBytes),
    walBytes: gauge('artstore_se_wal_bytes', 'Размер живых сегментов WAL', (s) => s.walBytes),
    writesStopped: gauge('artstore_se_writes_stopped', '1 — запись остановлена после сбоя fsync', (s) => (s.writesStopped ? 1 : 0)),
    capacityAlarmLevel: gauge('artstore_se_capacity_alarm_level', 'Тревога заполнения: 0 или пройденный порог (80/90/95), %', (s) => s.capacityAlarmLevel),
    diskFreeBytes: gauge('artstore_se_disk_free_bytes', 'Свободно на ФС хранилища (statfs); NaN — statfs нет (S3)', (s) => s.diskFreeBytes ?? Number.NaN),
    retentionExpiring: new Gauge({
      name: 'artstore_se_retention_expiring_files',
      help: 'Активные файлы, чей срок хранения истекает в пределах упреждения within',
      labelNames: ['within'] as const,
      registers,
    }),
    files: new Gauge({
      name: 'artstore_se_files',
      help: 'Файлы в кеше SE по статусу (active, deleted, …); обновляется периодической проверкой места',
      labelNames: ['status'] as const,
      registers,
    }),
    retentionExpired: new Gauge({ name: 'artstore_se_retention_expired_files', help: 'Активные файлы с истёкшим сроком хранения (на рассмотрение)', registers }),
    mode: new Gauge({
      name: 'artstore_se_mode',
      help: 'Режим SE: 1 у действующего',
      labelNames: ['mode'] as const,
      registers,
      collect() {
        const current = snapshot().mode;
        for (const m of ['edit', 'rw', 'ro', 'ar'] as const) this.set({ mode: m }, m === current ? 1 : 0);
      },
    }),
    uploads: new Counter({ name: 'artstore_se_uploads_total', help: 'Сохранённые файлы', registers }),
    uploadedBytes: new Counter({ name: 'artstore_se_uploaded_bytes_total', help: 'Сохранённые байты', registers }),
    reconcile: new Gauge({
      name: 'artstore_se_reconcile_items',
      help: 'Итог последней сверки кеша с attr-файлами по видам расхождения',
      labelNames: ['kind'] as const,
      registers,
    }),
    reconcileRepaired: new Counter({
      name: 'artstore_se_reconcile_repaired_total',
      help: 'Строки кеша, исправленные сверкой, по виду расхождения',
      labelNames: ['kind'] as const,
      registers,
    }),
    reconcileLastRun: new Gauge({ name: 'artstore_se_reconcile_last_run_timestamp_seconds', help: 'Конец последней сверки кеша', registers }),
    scrubBytes: new Counter({ name: 'artstore_se_scrub_bytes_total', help: 'Байт, перечитанных scrub', registers }),
    scrubFiles: new Counter({
      name: 'artstore_se_scrub_files_total',
      help: 'Файлы, проверенные scrub, по итогу (mismatch и missing — повреждение)',
      labelNames: ['verdict'] as const,
      registers,
    }),
    scrubLastPass: new Gauge({ name: 'artstore_se_scrub_last_pass_timestamp_seconds', help: 'Конец последнего полного прохода scrub', registers }),
  };
}
export type SeMetrics = ReturnType<typeof createSeMetrics>;

/** Метрики журнала и восстановления: нужны до сборки остального SE (WAL открывается первым). */
export function createWalMetrics(registry: Registry) {
  const registers = [registry];
  return {
    walFsync: new Histogram({
      name: 'artstore_se_wal_fsync_seconds',
      help: 'Длительность fsync журнала WAL',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    walBatch: new Histogram({
      name: 'artstore_se_wal_fsync_records',
      help: 'Записей WAL за один fsync (групповой коммит)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    recovery: new Gauge({
      name: 'artstore_se_wal_recovery_transactions',
      help: 'Транзакции WAL при последнем старте по исходу',
      labelNames: ['outcome'] as const,
      registers,
    }),
    recoverySeconds: new Gauge({ name: 'artstore_se_wal_recovery_seconds', help: 'Длительность восстановления при старте', registers }),
  };
}
export type WalMetrics = ReturnType<typeof createWalMetrics>;
