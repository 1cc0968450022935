// docs/errors.md обязан описывать ровно те коды, что есть в каталоге, с теми же HTTP-статусами
// (CONVENTIONS: «A test that fails when an error code is missing from docs/errors.md»).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ArtError, errorCatalog, problemFrom, type ErrorCode } from './errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const),
);

describe('каталог ошибок', () => {
  it('каждый код описан в docs/errors.md с тем же статусом', () => {
    for (const [code, definition] of Object.entries(errorCatalog)) {
      assert.equal(documented.get(code), definition.status, `${code} отсутствует в docs/errors.md или статус другой`);
    }
  });

  it('в docs/errors.md нет кодов, которых нет в каталоге', () => {
    const unknown = [...documented.keys()].filter((code) => !(code in errorCatalog));
    assert.deepEqual(unknown, []);
  });

  it('problem+json несёт код, статус и не несёт стека', () => {
    const error = new ArtError('INSUFFICIENT_STORAGE', 'нет места', { extra: { required_bytes: 10 } });
    const problem = problemFrom(error, { instance: '/api/files', requestId: 'r1' });
    assert.deepEqual(problem, {
      required_bytes: 10,
      type: 'urn:artstore:error:INSUFFICIENT_STORAGE',
      title: errorCatalog.INSUFFICIENT_STORAGE.title,
      status: 507,
      code: 'INSUFFICIENT_STORAGE',
      detail: 'нет места',
      instance: '/api/files',
      request_id: 'r1',
    });
  });

  it('extra не может подменить базовые поля', () => {
    const error = new ArtError('FILE_NOT_FOUND', 'x', { extra: { status: 200, code: 'OK' } });
    const problem = problemFrom(error);
    assert.equal(problem.status, 404);
    assert.equal(problem.code, 'FILE_NOT_FOUND' satisfies ErrorCode);
  });
});
