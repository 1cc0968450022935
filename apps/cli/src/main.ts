// Команда artstore (SPEC X-10).
import { Argument, Command, Option } from 'commander';
import { isArtError, readClientEnv } from '@artstore/core';
import { CliError, connect, type ApiClient } from './client.js';
import { downloadFile, searchFiles, uploadFiles } from './commands/files.js';
import { runAuditExport, runAuditPublicKey, runAuditVerify, type AuditCommandOptions, type AuditVerifyCommandOptions } from './commands/audit.js';
import { reindexQuery } from './commands/query.js';
import { runSeRebuild } from './commands/se.js';
import { runStart, STARTABLE, type Startable } from './commands/start.js';

const program = new Command('artstore').description('ArtStore — хранилище документов для долгого хранения').showHelpAfterError();

program
  .command('start')
  .description('Запустить сервис или всю систему (all — встроенный режим в одном процессе)')
  .addArgument(new Argument('[service]', 'что запустить').choices(STARTABLE).default('all'))
  .option('-c, --config <file>', 'YAML-файл конфигурации (иначе ARTSTORE_CONFIG)')
  .action(async (service: Startable, options: { config?: string }) => runStart(service, options));

const se = program.command('se').description('Обслуживание элемента хранения');
se.command('rebuild')
  .description('Перестроить кеш SE из attr-файлов (SE остановлен); --dry-run — только показать разницу')
  .option('-c, --config <file>', 'YAML-файл конфигурации SE')
  .option('--data-dir <dir>', 'каталог данных (перекрывает data_dir)')
  .option('--dry-run', 'ничего не менять, показать разницу')
  .addOption(new Option('--started-as <target>', 'как запускался SE: от этого зависит каталог встроенной БД').choices(['all', 'storage-element']).default('all'))
  .action(async (options: { config?: string; dataDir?: string; dryRun?: boolean; startedAs: 'all' | 'storage-element' }) => runSeRebuild(options));

const audit = program.command('audit').description('Журнал аудита admin-module (прямо по его БД)');
const auditSource = (command: Command) =>
  command
    .option('-c, --config <file>', 'YAML-файл конфигурации admin-module')
    .option('--data-dir <dir>', 'каталог данных (перекрывает data_dir)')
    .addOption(new Option('--started-as <target>', 'как запускался admin-module: от этого зависит каталог встроенной БД').choices(['all', 'admin-module']).default('all'));
auditSource(audit.command('verify').description('Проверить цепочку хешей и подписанные контрольные точки; подделка или обрезка — код выхода 2 и номер записи'))
  .option('--checkpoint <json|file>', 'контрольная точка, хранимая вне БД (GET /api/audit/checkpoints/latest)')
  .option('--expect-head <seq:hash>', 'голова журнала «номер:хеш», хранимая вне БД')
  .option('--public-key <json|file>', 'открытые ключи, хранимые вне БД (artstore audit public-key); иначе — из БД')
  .action(async (options: AuditVerifyCommandOptions) => runAuditVerify(options));
auditSource(audit.command('public-key').description('Открытые ключи подписи контрольных точек (JSON) — сохранить вне системы')).action(
  async (options: AuditCommandOptions) => runAuditPublicKey(options),
);
auditSource(audit.command('export').description('Выгрузить журнал: JSON lines или CSV'))
  .addOption(new Option('--format <format>', 'формат').choices(['jsonl', 'csv']).default('jsonl'))
  .option('-o, --out <file>', 'файл (не перезаписывается); иначе stdout')
  .action(async (options: AuditCommandOptions & { format: 'jsonl' | 'csv'; out?: string }) => runAuditExport(options));

function withConnection(command: Command): Command {
  const env = readClientEnv();
  return command
    .addOption(new Option('--url <url>', 'адрес точки входа').default(env.url ?? 'http://127.0.0.1:4200'))
    .addOption(new Option('--token <token>', 'access-токен').default(env.token))
    .addOption(new Option('-u, --username <name>', 'имя пользователя').default(env.username))
    .addOption(new Option('-p, --password <password>', 'пароль').default(env.password))
    .addOption(new Option('--otp <code>', 'код TOTP (или резервный), если подключена двухфакторная аутентификация').default(env.otp));
}

interface ConnectionOptions {
  url: string;
  token?: string;
  username?: string;
  password?: string;
  otp?: string;
}

async function withClient<T>(options: ConnectionOptions, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = await connect(options);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

withConnection(program.command('upload'))
  .description('Загрузить файлы (потоком, с индикатором передачи)')
  .argument('<files...>', 'пути к файлам')
  .option('-d, --description <text>', 'описание')
  .option('-t, --tags <list>', 'теги через запятую')
  .option('--storage-element <id>', 'явный выбор элемента хранения')
  .option('--content-type <type>', 'тип содержимого')
  .action(async (files: string[], options: ConnectionOptions & { description?: string; tags?: string; storageElement?: string; contentType?: string }) => {
    const uploaded = await withClient(options, (client) => uploadFiles(client, files, options));
    process.stdout.write(`${JSON.stringify({ files: uploaded }, null, 2)}\n`);
  });

withConnection(program.command('search'))
  .description('Найти файлы')
  .argument('[query]', 'запрос', '')
  .option('-n, --limit <n>', 'сколько показать', '20')
  .option('--json', 'вывести JSON')
  .action(async (query: string, options: ConnectionOptions & { limit: string; json?: boolean }) => {
    const result = await withClient(options, (client) => searchFiles(client, query, Number(options.limit)));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    for (const item of result.items) {
      process.stdout.write(`${item.id}  ${String(item.size).padStart(12)}  ${item.created_at}  ${item.name}\n`);
    }
    process.stdout.write(`Найдено: ${result.total}\n`);
  });

const query = program.command('query').description('Глобальный индекс query-module');
withConnection(query.command('reindex'))
  .description('Перестроить индекс с нуля из лент SE (поиск отвечает всё время; право storage:manage)')
  .option('--wait', 'дождаться окончания перестроения')
  .option('--timeout <ms>', 'сколько ждать с --wait', '600000')
  .action(async (options: ConnectionOptions & { wait?: boolean; timeout: string }) => {
    const result = await withClient(options, (client) =>
      reindexQuery(client, { wait: options.wait, timeoutMs: Number(options.timeout) }, (status) => {
        const left = Object.entries(status.elements).filter(([, e]) => e.rebuilding);
        if (left.length > 0) process.stderr.write(`перестраивается: ${left.map(([id, e]) => `${id} ${e.last_seq}/${e.head_seq}`).join(', ')}\n`);
      }),
    );
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  });

withConnection(program.command('download'))
  .description('Скачать файл по id (с проверкой sha256)')
  .argument('<id>', 'идентификатор файла')
  .option('-o, --output <path>', 'куда сохранить (по умолчанию — исходное имя в текущем каталоге)')
  .action(async (id: string, options: ConnectionOptions & { output?: string }) => {
    const { path } = await withClient(options, (client) => downloadFile(client, id, options.output));
    process.stdout.write(`${path}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof CliError || isArtError(error) ? error.message : (error as Error).stack ?? String(error);
  process.stderr.write(`artstore: ${message}\n`);
  process.exit(1);
}
