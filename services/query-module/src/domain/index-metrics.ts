// Метрики отставания индекса (SPEC QR-1): по каждому SE — на сколько изменений и секунд индекс позади головы
// ленты, и счётчик применённых изменений (скорость — rate() от него).
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ElementIndexStatus {
  last_seq: number;
  head_seq: number;
  lag: number;
  lag_seconds: number;
}

/** statuses — состояние следования на момент съёма метрик (follower пересобирается при смене состава SE). */
export function createIndexMetrics(
  registry: Registry,
  statuses: () => ReadonlyMap<string, ElementIndexStatus>,
) {
  const registers = [registry];
  new Gauge({
    name: 'artstore_query_index_lag_changes',
    help: 'Изменений ленты SE, ещё не применённых к индексу (голова ленты − курсор)',
    labelNames: ['element_id'] as const,
    registers,
    collect() {
      this.reset();
      for (const [id, s] of statuses()) this.set({ element_id: id }, s.lag);
    },
  });
  new Gauge({
    name: 'artstore_query_index_lag_seconds',
    help: 'Сколько секунд индекс позади ленты SE: с момента, когда стало известно о первом неприменённом изменении',
    labelNames: ['element_id'] as const,
    registers,
    collect() {
      this.reset();
      for (const [id, s] of statuses()) this.set({ element_id: id }, s.lag_seconds);
    },
  });
  const applied = new Counter({
    name: 'artstore_query_index_applied_changes_total',
    help: 'Изменений лент SE, применённых к индексу (включая повторное применение при перестроении)',
    labelNames: ['element_id'] as const,
    registers,
  });
  return { applied };
}
export type IndexMetrics = ReturnType<typeof createIndexMetrics>;
