// Настоящий Redis Cluster для тестов (SPEC HA-5: 3 мастера + 3 реплики; CONVENTIONS «Real dependencies
// in tests»): шесть redis-server на свободных портах loopback, nodes.conf и журналы — во временном
// каталоге. stop() завершает процессы и удаляет каталог; то же делается, если старт не удался, и при
// выходе тестового процесса, не дошедшего до stop().
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '@artstore/core/testing';

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface TestRedisCluster {
  /** Все шесть узлов — стартовый список для ioredis Cluster, как redis.cluster в конфигурации. */
  nodes: RedisNodeAddress[];
  /**
   * Плановый failover шарда, которому принадлежит ключ или канал (CLUSTER FAILOVER на его реплике):
   * реплика становится мастером без ожидания cluster-node-timeout. Возвращает адрес нового мастера,
   * когда его видят все узлы.
   */
  failover(key: string): Promise<RedisNodeAddress>;
  /** Завершает процессы и удаляет каталог; повторный вызов ждёт ту же остановку. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const NODES = 6;
const REPLICAS = 1;
/** Верх диапазона HA-4 (2–5 с): на общей машине с двумя ядрами меньший срок рискует ложным failover. */
const NODE_TIMEOUT_MS = 5000;
const FAILOVER_TIMEOUT_MS = 15_000;

const execFileAsync = promisify(execFile);

/** Ошибка несёт code (ENOENT или код выхода), stdout и stderr. */
const run = (command: string, args: string[], timeoutMs: number) =>
  execFileAsync(command, args, { timeout: Math.max(1, Math.round(timeoutMs)), encoding: 'utf8' });

/** Без Redis 7 тест не пропускается молча, а падает с понятной причиной. */
async function requireRedis7(binary: 'redis-server' | 'redis-cli'): Promise<void> {
  let output: { stdout: string };
  try {
    output = await run(binary, ['--version'], 5000);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      `startTestRedisCluster: ${binary} ${missing ? 'не найден в PATH' : 'не запускается'} — тестам Redis Cluster (SPEC HA-5) нужен Redis 7`,
      { cause: error },
    );
  }
  // redis-server: «Redis server v=7.0.15 …», redis-cli: «redis-cli 7.0.15».
  const major = Number(/(?:v=|redis-cli )(\d+)\./.exec(output.stdout)?.[1]);
  // --cluster-port и сегментированный pub/sub появились в Redis 7.0.
  if (!(major >= 7))
    throw new Error(`startTestRedisCluster: нужен Redis 7+, ${binary} сообщает: ${output.stdout.trim()}`);
}

/** Разные порты для клиентов и шины кластера: шина по умолчанию — port + 10000, а он может выйти за 65535. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Без сохранения на диск (--save '') SIGTERM завершает сервер сразу.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Срок операции: remaining() — сколько осталось, или ошибка с тем, чего не дождались. */
function deadline(timeoutMs: number, operation: string): (what: string) => number {
  const end = performance.now() + timeoutMs;
  return (what) => {
    const left = end - performance.now();
    if (left <= 0) throw new Error(`${operation}: не уложились в ${timeoutMs} мс (${what})`);
    return left;
  };
}

/** Строка CLUSTER NODES: id, адрес, флаги, id мастера, …, диапазоны слотов с девятого поля. */
interface NodeLine {
  id: string;
  flags: string[];
  masterId: string;
  slots: string[];
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', , flags = '', masterId = '', , , , , ...slots] = line.trim().split(' ');
      return { id, flags: flags.split(','), masterId, slots };
    });
}

const ownsSlot = (line: NodeLine, slot: number): boolean =>
  line.slots.some((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return from !== undefined && to !== undefined && slot >= from && slot <= to;
  });

export async function startTestRedisCluster(options: { timeoutMs?: number } = {}): Promise<TestRedisCluster> {
  const remaining = deadline(options.timeoutMs ?? 30_000, 'startTestRedisCluster');
  await Promise.all([requireRedis7('redis-server'), requireRedis7('redis-cli')]);
  const ports = await distinctFreePorts(NODES * 2);
  const nodes = ports.slice(0, NODES).map((port) => ({ host: HOST, port }));
  const busPorts = ports.slice(NODES);

  const directory = await mkdtemp(path.join(tmpdir(), 'artstore-redis-cluster-'));
  const processes: ChildProcess[] = [];
  // Процесс теста может завершиться, не дойдя до stop() (исключение, SIGTERM от раннера по таймауту):
  // серверы не должны его пережить. Сигнал после уборки повторяется — с действием по умолчанию.
  const killNow = (): void => {
    for (const child of processes) child.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    killNow();
    process.kill(process.pid, signal);
  };
  process.once('exit', killNow);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      process.removeListener('exit', killNow);
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      await Promise.all(processes.map(terminate));
      await rm(directory, { recursive: true, force: true });
    })());

  const logOf = (port: number): string => path.join(directory, `redis-${port}.log`);

  const cli = async (node: RedisNodeAddress, args: string[], timeoutMs: number): Promise<string> => {
    const child = processes[nodes.indexOf(node)];
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      const log = await readFile(logOf(node.port), 'utf8').catch(() => '');
      throw new Error(`redis-server на порту ${node.port} завершился:\n${log.slice(-2000)}`);
    }
    return (await run('redis-cli', ['-h', node.host, '-p', String(node.port), ...args], timeoutMs)).stdout;
  };
  // Ждать, пока каждый узел не ответит как нужно; отказ соединения — «ещё не готов», упавший сервер — ошибка.
  const untilEvery = async (
    left: (what: string) => number,
    what: string,
    args: string[],
    ready: (reply: string) => boolean,
  ): Promise<void> => {
    for (const node of nodes) {
      for (;;) {
        const reply = await cli(node, args, left(what)).catch((error: unknown) => {
          if ((error as { code?: unknown }).code === undefined) throw error;
          return '';
        });
        if (ready(reply)) break;
        left(`${what}, узел ${node.port}`);
        await sleep(50);
      }
    }
  };
  const clusterOk = (reply: string): boolean =>
    reply.includes('cluster_state:ok') && reply.includes(`cluster_known_nodes:${NODES}`);

  async function failover(key: string): Promise<RedisNodeAddress> {
    const left = deadline(FAILOVER_TIMEOUT_MS, `failover(${key})`);
    const slot = Number(await cli(nodes[0]!, ['cluster', 'keyslot', key], left('CLUSTER KEYSLOT')));
    // Каждый узел о себе (флаг myself) — его собственное знание, а не слухи по шине кластера.
    const selves = await Promise.all(
      nodes.map(async (node) => {
        const lines = parseNodes(await cli(node, ['cluster', 'nodes'], left('CLUSTER NODES')));
        return { node, self: lines.find((line) => line.flags.includes('myself'))! };
      }),
    );
    const master = selves.find(({ self }) => self.flags.includes('master') && ownsSlot(self, slot));
    const replica = selves.find(({ self }) => master !== undefined && self.masterId === master.self.id);
    if (master === undefined || replica === undefined)
      throw new Error(`failover(${key}): не найдены мастер слота ${slot} и его реплика`);
    const reply = await cli(replica.node, ['cluster', 'failover'], left('CLUSTER FAILOVER'));
    if (reply.trim() !== 'OK') throw new Error(`failover(${key}): CLUSTER FAILOVER ответил ${reply.trim()}`);
    await untilEvery(left, 'новый мастер виден всем', ['cluster', 'nodes'], (text) =>
      parseNodes(text).some((line) => line.id === replica.self.id && line.flags.includes('master')),
    );
    await untilEvery(left, 'cluster_state:ok после failover', ['cluster', 'info'], clusterOk);
    return replica.node;
  }

  try {
    for (const [i, { port }] of nodes.entries()) {
      const config: Record<string, string> = {
        port: String(port),
        'cluster-port': String(busPorts[i]),
        bind: HOST,
        'cluster-enabled': 'yes',
        'cluster-config-file': path.join(directory, `nodes-${port}.conf`),
        'cluster-node-timeout': String(NODE_TIMEOUT_MS),
        save: '',
        appendonly: 'no',
        // По умолчанию мастер ждёт 5 с других реплик перед первой синхронизацией — здесь реплика одна.
        'repl-diskless-sync-delay': '0',
        dir: directory,
        // Вывод сервера — в журнал, хвост которого попадает в текст ошибки, если сервер упал.
        logfile: logOf(port),
      };
      const args = Object.entries(config).flatMap(([name, value]) => [`--${name}`, value]);
      processes.push(spawn('redis-server', args, { stdio: 'ignore' }));
    }
    await untilEvery(remaining, 'PING', ['ping'], (reply) => reply.trim() === 'PONG');
    const addresses = nodes.map((n) => `${n.host}:${n.port}`);
    try {
      await run(
        'redis-cli',
        ['--cluster', 'create', ...addresses, '--cluster-replicas', String(REPLICAS), '--cluster-yes'],
        remaining('cluster create'),
      );
    } catch (error) {
      // redis-cli пишет причину отказа ([ERR] …) в stdout.
      const { stdout = '' } = error as { stdout?: string };
      throw new Error(`startTestRedisCluster: redis-cli --cluster create не удался:\n${stdout}`, {
        cause: error,
      });
    }
    // Слоты покрыты и каждый узел знает все шесть — иначе клиент получит неполную карту слотов.
    await untilEvery(remaining, 'cluster_state:ok', ['cluster', 'info'], clusterOk);
    // Реплики закончили первую синхронизацию: до неё данные не реплицируются и failover невозможен.
    await untilEvery(
      remaining,
      'синхронизация реплик',
      ['info', 'replication'],
      (reply) => reply.includes('role:master') || reply.includes('master_link_status:up'),
    );
    return { nodes, failover, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
