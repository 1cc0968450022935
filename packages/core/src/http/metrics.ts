// Метрики Prometheus (SPEC X-3). У каждого сервиса свой реестр: во встроенном режиме четыре
// сервиса живут в одном процессе, и их метрики не должны смешиваться.
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'artstore_' });
  const httpDuration = new Histogram({
    name: 'artstore_http_request_duration_seconds',
    help: 'Длительность обработки HTTP-запросов',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  return { registry, httpDuration };
}
