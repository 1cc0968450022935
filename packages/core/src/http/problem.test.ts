import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArtError, problemFrom } from '../errors.js';
import { toArtError } from './problem.js';

describe('toArtError', () => {
  it('ArtError возвращается как есть', () => {
    const error = new ArtError('FORBIDDEN');
    assert.equal(toArtError(error), error);
  });

  it('коды fastify переводятся в каталог с сохранением сообщения', () => {
    const cases: [string, string, number][] = [
      ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'UNSUPPORTED_MEDIA_TYPE', 415],
      ['FST_ERR_CTP_BODY_TOO_LARGE', 'PAYLOAD_TOO_LARGE', 413],
      ['FST_ERR_CTP_INVALID_JSON_BODY', 'MALFORMED_JSON', 400],
      ['FST_ERR_CTP_EMPTY_JSON_BODY', 'MALFORMED_JSON', 400],
      ['FST_ERR_BAD_URL', 'VALIDATION_FAILED', 400],
      ['FST_ERR_MAX_PARAM_LENGTH', 'VALIDATION_FAILED', 400],
      ['FST_REQ_FILE_TOO_LARGE', 'PAYLOAD_TOO_LARGE', 413],
    ];
    for (const [fastifyCode, code, status] of cases) {
      const art = toArtError(Object.assign(new Error(`msg ${fastifyCode}`), { code: fastifyCode }));
      assert.equal(art.code, code, fastifyCode);
      assert.equal(art.status, status);
      assert.equal(art.message, `msg ${fastifyCode}`);
    }
  });

  it('ошибка проверки схемы → VALIDATION_FAILED с перечнем в extra', () => {
    const validation = [{ instancePath: '/name', message: 'must be string' }];
    const art = toArtError(
      Object.assign(new Error('body/name must be string'), { validation, code: 'FST_ERR_VALIDATION' }),
    );
    assert.equal(art.code, 'VALIDATION_FAILED');
    assert.deepEqual(problemFrom(art).errors, validation);
  });

  it('SyntaxError со статусом 400 (разбор тела) → MALFORMED_JSON; без статуса — внутренняя', () => {
    assert.equal(
      toArtError(Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 })).code,
      'MALFORMED_JSON',
    );
    assert.equal(toArtError(new SyntaxError('Unexpected token')).code, 'INTERNAL_ERROR');
  });

  it('всё прочее — INTERNAL_ERROR без подробностей; исходная ошибка — в cause', () => {
    for (const thrown of [
      new Error('password=hunter2'),
      'hunter2',
      null,
      undefined,
      42,
      { code: 'ECONNREFUSED', message: 'hunter2' },
    ]) {
      const art = toArtError(thrown);
      assert.equal(art.code, 'INTERNAL_ERROR');
      assert.equal(art.status, 500);
      assert.doesNotMatch(JSON.stringify(problemFrom(art)), /hunter2/);
      assert.equal(art.cause, thrown);
    }
  });
});
