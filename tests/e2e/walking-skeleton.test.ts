// E2E: система запускается как настоящие процессы — встроенный режим одним процессом и четыре
// сервиса плюс шлюз отдельными процессами на PostgreSQL и Redis (доказательство разделимости).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { badInput, loginAndChangePassword, uploadSearchDownload, type Session } from './flow.js';
import { startSystem, type RunningSystem } from './harness.js';

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

for (const mode of ['embedded', 'separate'] as const) {
  describe(`walking skeleton: ${mode}`, () => {
    let system: RunningSystem;
    let session: Session;

    before(async () => {
      system = await startSystem(mode, mode);
    });

    after(async () => {
      const codes = await system.stop();
      assert.ok(codes.every((c) => c === 0), `процессы завершились с кодами ${codes.join(',')}\n${system.output()}`);
    });

    it('вход, обязательная смена пароля, загрузка, поиск, выдача побайтно', async () => {
      session = await loginAndChangePassword(system.gateway, mode === 'embedded' ? 'admin123' : 'Первый-пароль-2026');
      await uploadSearchDownload(system.gateway, session);
    });

    it('плохой ввод получает problem+json со стабильным кодом, вне data_dir ничего не пишется', async () => {
      const before = await listTree(system.workDir);
      await badInput(system.gateway, session);
      const afterFiles = (await listTree(system.workDir)).filter((f) => !before.includes(f));
      const outside = afterFiles.filter((f) => !f.startsWith(system.dataDir));
      assert.deepEqual(outside, []);
      const stray = afterFiles.filter((f) => /passwd|evil/.test(f));
      assert.deepEqual(stray, []);
    });

    it('каждый сервис отдаёт health, metrics и openapi', async () => {
      for (const [name, url] of Object.entries(system.urls)) {
        const live = await fetch(`${url}/health/live`);
        assert.equal(live.status, 200, name);
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.match(metrics, /artstore_http_request_duration_seconds_bucket/, name);
        assert.match(metrics, /artstore_process_resident_memory_bytes/, name);
        const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string };
        assert.equal(openapi.openapi, '3.1.0', name);
      }
    });

    if (mode === 'embedded') {
      it('CLI: upload, search, query reindex, download против работающей системы', () => {
        const env = { ...process.env, ARTSTORE_URL: system.gateway, ARTSTORE_TOKEN: session.token };
        const cli = (args: string[]) => {
          const result = spawnSync(process.execPath, [join(import.meta.dirname, '../../apps/cli/bin/artstore.mjs'), ...args], {
            env,
            cwd: system.workDir,
            encoding: 'utf8',
          });
          assert.equal(result.status, 0, `artstore ${args.join(' ')}: ${result.stderr}`);
          return result.stdout;
        };
        const source = join(system.workDir, 'data', 'secrets.json');
        const uploaded = JSON.parse(cli(['upload', source, '--tags', 'cli'])) as { files: { id: string; name: string }[] };
        const id = uploaded.files[0]!.id;
        assert.match(cli(['search', 'secrets']), new RegExp(id));
        // Перестроение индекса с нуля через точку входа (SPEC QR-1): после него файл по-прежнему находится.
        const reindexed = JSON.parse(cli(['query', 'reindex', '--wait', '--timeout', '60000'])) as {
          status: { elements: Record<string, { rebuilding: boolean }> };
        };
        assert.ok(Object.values(reindexed.status.elements).every((e) => !e.rebuilding), JSON.stringify(reindexed));
        assert.match(cli(['search', 'secrets']), new RegExp(id));
        const target = join(system.workDir, 'downloaded.json');
        assert.equal(cli(['download', id, '-o', target]).trim(), target);
        assert.equal(spawnSync('cmp', [source, target]).status, 0);
      });
    }
  });
}
