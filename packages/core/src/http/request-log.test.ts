import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loggablePath } from './request-log.js';

describe('loggablePath: путь запроса для журнала', () => {
  it('строка запроса отбрасывается', () => {
    assert.equal(loggablePath('/api/search?q=secret&cursor=abc'), '/api/search');
  });

  it('токен временной ссылки маскируется, в том числе со строкой запроса', () => {
    assert.equal(loggablePath('/api/links/eyJhbGc.c2lnbmF0dXJl'), '/api/links/***');
    assert.equal(loggablePath('/api/links/eyJhbGc.c2lnbmF0dXJl?download=1'), '/api/links/***');
  });

  it('остальные пути — как есть', () => {
    assert.equal(loggablePath('/api/links'), '/api/links');
    assert.equal(
      loggablePath('/api/files/0192f7e2-8f5a-7c3e-9b1a-2f4d5e6a7b8c/content'),
      '/api/files/0192f7e2-8f5a-7c3e-9b1a-2f4d5e6a7b8c/content',
    );
  });
});
