// Единый HTTP-клиент бенчмарка: один и тот же код, агент и параллельность для эталона и для
// ArtStore — отношение тогда измеряет только серверную сторону. node:http с keep-alive, тело
// запроса и ответа идут потоком; ответ на выдачу не копится, а хешируется на лету.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Сервер под замером: эталон, шлюз ArtStore или сам элемент хранения. */
export interface Target {
  name: string;
  base: string;
  headers: Record<string, string>;
  /**
   * Протокол загрузки. `gateway` (по умолчанию; так же отвечает эталон): `POST /api/files?name=…`,
   * ответ `{ files: [Uploaded] }`. `storage-element` — внутренний протокол SE (ingester → SE):
   * имя в заголовке `artstore-name` (percent-encoded), ответ — сама запись о файле.
   */
  protocol?: 'gateway' | 'storage-element';
  /**
   * Дождаться, пока загруженное станет доступно для выдачи (вне замера). ArtStore отдаёт файл
   * через индекс query-module, который догоняет ленту SE асинхронно (SPEC QR-4).
   */
  settle?(files: Uploaded[]): Promise<void>;
}

/** Запись о принятом файле: `{ files: [Uploaded] }` у шлюза и эталона, сама запись у SE. */
export interface Uploaded {
  id: string;
  size: number;
  sha256?: string;
  consistency_token?: string;
}

export interface Received {
  size: number;
  sha256: string;
}

const REQUEST_TIMEOUT_MS = 180_000;

export class BenchClient {
  private readonly agent: http.Agent;

  constructor(maxSockets: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  close(): void {
    this.agent.destroy();
  }

  /** Сырая загрузка (POST /api/files, тело — байты файла, Content-Length известен). */
  async upload(target: Target, name: string, body: Readable | Buffer, size: number): Promise<Uploaded> {
    const se = target.protocol === 'storage-element';
    const url = new URL(se ? '/api/files' : `/api/files?name=${encodeURIComponent(name)}`, target.base);
    const headers: Record<string, string> = { ...target.headers, 'content-type': 'application/octet-stream', 'content-length': String(size) };
    if (se) headers['artstore-name'] = encodeURIComponent(name);
    const response = await this.send(url, 'POST', headers, body);
    const text = await readText(response);
    if (response.statusCode !== 201) throw new Error(`${target.name}: загрузка ${name}: HTTP ${response.statusCode} ${text.slice(0, 500)}`);
    const file = se ? (JSON.parse(text) as Uploaded) : (JSON.parse(text) as { files: Uploaded[] }).files[0];
    if (!file || file.size !== size) throw new Error(`${target.name}: загрузка ${name}: сервер принял ${file?.size} байт вместо ${size}`);
    return file;
  }

  /** GET /api/files/{id}/content: тело хешируется потоком, в памяти не копится. */
  async download(target: Target, id: string): Promise<Received> {
    const url = new URL(`/api/files/${encodeURIComponent(id)}/content`, target.base);
    const response = await this.send(url, 'GET', target.headers);
    if (response.statusCode !== 200) {
      throw new Error(`${target.name}: выдача ${id}: HTTP ${response.statusCode} ${(await readText(response)).slice(0, 500)}`);
    }
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    return { size, sha256: hash.digest('hex') };
  }

  private send(url: URL, method: string, headers: Record<string, string>, body?: Readable | Buffer): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const request = http.request(url, { method, headers, agent: this.agent }, resolve);
      request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error(`${method} ${url.pathname}: нет ответа за ${REQUEST_TIMEOUT_MS} мс`)));
      request.once('error', reject);
      if (body === undefined) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else pipeline(body, request).catch(reject);
    });
  }
}

async function readText(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `count` задач, не больше `concurrency` одновременно; результаты в порядке индексов. */
export async function runPool<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Процентиль методом ближайшего ранга. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Раунд мелких файлов: загрузка всех с параллельностью concurrency, задержка каждой и сверка sha256
 * из ответа сервера (если он его сообщает). Общая часть бенчмарков transfer и se.
 */
export async function uploadSmallRound(
  client: BenchClient,
  target: Target,
  small: readonly { name: string; bytes: Buffer; sha256: string }[],
  round: number,
  concurrency: number,
): Promise<{ uploaded: Uploaded[]; latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const uploaded = await runPool(small.length, concurrency, async (i) => {
    const file = small[i]!;
    const t0 = performance.now();
    const result = await client.upload(target, `${file.name}-r${round}`, file.bytes, file.bytes.length);
    latencies.push(performance.now() - t0);
    if (result.sha256 !== undefined && result.sha256 !== file.sha256) throw new Error(`${target.name}: sha256 ${file.name} на сервере не совпал`);
    return result;
  });
  return { uploaded, latencies, seconds: (performance.now() - started) / 1000 };
}
