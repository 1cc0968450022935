import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type Decision, type RequestHeaders } from './conditional-range.js';

// Файл из 11 байт («hello world»), изменён 2026-01-15 12:00:00.500 UTC — доли секунды HTTP-даты не видят.
const ETAG = '"5eb63bbbe01eeed093cb22bb8f5acdc3"';
const OTHER_ETAG = '"0000000000000000000000000000000"';
const MODIFIED = new Date('2026-01-15T12:00:00.500Z');
const rep = { etag: ETAG, size: 11, lastModified: MODIFIED };
const httpDate = (iso: string) => new Date(iso).toUTCString();
const AT_MODIFIED = httpDate('2026-01-15T12:00:00Z');
const BEFORE = httpDate('2026-01-15T11:59:59Z');
const AFTER = httpDate('2026-01-15T12:00:01Z');

function get(headers: RequestHeaders, method = 'GET'): Decision {
  return decide(method, headers, rep);
}

describe('decide: Range (RFC 9110 §14)', () => {
  const cases: [string, Decision][] = [
    ['bytes=0-4', { status: 206, start: 0, end: 4 }],
    ['bytes=-7', { status: 206, start: 4, end: 10 }],
    ['bytes=5-', { status: 206, start: 5, end: 10 }],
    ['bytes=0-0', { status: 206, start: 0, end: 0 }],
    ['bytes=10-10', { status: 206, start: 10, end: 10 }],
    ['bytes=3-100', { status: 206, start: 3, end: 10 }],
    ['bytes=-100', { status: 206, start: 0, end: 10 }],
    ['BYTES=0-4', { status: 206, start: 0, end: 4 }],
    ['bytes=0-4,', { status: 206, start: 0, end: 4 }],
    ['bytes=11-', { status: 416 }],
    ['bytes=11-20', { status: 416 }],
    ['bytes=-0', { status: 416 }],
    // Несколько и перекрывающиеся диапазоны — целое тело (§14.2 разрешает игнорировать Range).
    ['bytes=0-1,3-4', { status: 200 }],
    ['bytes=0-4,0-4,0-4', { status: 200 }],
    ['bytes=0-,-1', { status: 200 }],
    // Синтаксически неверное — игнорируется.
    ['bytes=4-2', { status: 200 }],
    ['bytes=-', { status: 200 }],
    ['bytes=a-b', { status: 200 }],
    ['bytes 0-4', { status: 200 }],
    ['items=0-4', { status: 200 }],
    ['bytes=0-4-5', { status: 200 }],
    ['', { status: 200 }],
  ];
  for (const [range, expected] of cases) {
    it(`${JSON.stringify(range)} → ${expected.status}`, () => {
      assert.deepEqual(get({ range }), expected);
    });
  }

  it('без Range — 200; Range у HEAD и POST не применяется', () => {
    assert.deepEqual(get({}), { status: 200 });
    assert.deepEqual(get({ range: 'bytes=0-4' }, 'HEAD'), { status: 200 });
    assert.deepEqual(get({ range: 'bytes=0-4' }, 'POST'), { status: 200 });
  });

  it('пустой файл: любой диапазон — 416', () => {
    const empty = { etag: ETAG, size: 0, lastModified: MODIFIED };
    assert.deepEqual(decide('GET', { range: 'bytes=0-' }, empty), { status: 416 });
    assert.deepEqual(decide('GET', { range: 'bytes=-5' }, empty), { status: 416 });
  });
});

describe('decide: If-Range', () => {
  it('текущий ETag — 206, устаревший или слабый — 200 (целое тело)', () => {
    assert.deepEqual(get({ range: 'bytes=0-4', ifRange: ETAG }), { status: 206, start: 0, end: 4 });
    assert.deepEqual(get({ range: 'bytes=0-4', ifRange: OTHER_ETAG }), { status: 200 });
    assert.deepEqual(get({ range: 'bytes=0-4', ifRange: `W/${ETAG}` }), { status: 200 });
  });

  it('дата: совпадает с Last-Modified — 206, иначе или мусор — 200', () => {
    assert.deepEqual(get({ range: 'bytes=0-4', ifRange: AT_MODIFIED }), { status: 206, start: 0, end: 4 });
    assert.deepEqual(get({ range: 'bytes=0-4', ifRange: BEFORE }), { status: 200 });
    assert.deepEqual(get({ range: 'bytes=0-4', ifRange: AFTER }), { status: 200 });
    assert.deepEqual(get({ range: 'bytes=0-4', ifRange: 'garbage' }), { status: 200 });
  });

  it('If-Range при недостижимом диапазоне и устаревшем теге — 200, а не 416', () => {
    assert.deepEqual(get({ range: 'bytes=50-', ifRange: OTHER_ETAG }), { status: 200 });
    assert.deepEqual(get({ range: 'bytes=50-', ifRange: ETAG }), { status: 416 });
  });
});

describe('decide: If-None-Match / If-Modified-Since', () => {
  it('текущий ETag — 304 для GET и HEAD, 412 для остальных методов', () => {
    assert.deepEqual(get({ ifNoneMatch: ETAG }), { status: 304 });
    assert.deepEqual(get({ ifNoneMatch: ETAG }, 'HEAD'), { status: 304 });
    assert.deepEqual(get({ ifNoneMatch: ETAG }, 'DELETE'), { status: 412 });
    assert.deepEqual(get({ ifNoneMatch: '*' }), { status: 304 });
  });

  it('слабое сравнение и списки', () => {
    assert.deepEqual(get({ ifNoneMatch: `W/${ETAG}` }), { status: 304 });
    assert.deepEqual(get({ ifNoneMatch: `${OTHER_ETAG}, ${ETAG}` }), { status: 304 });
    assert.deepEqual(get({ ifNoneMatch: OTHER_ETAG }), { status: 200 });
    assert.deepEqual(
      get({ ifNoneMatch: ETAG.slice(1, -1) }),
      { status: 200 },
      'тег без кавычек — не тот тег',
    );
  });

  it('304 раньше Range', () => {
    assert.deepEqual(get({ ifNoneMatch: ETAG, range: 'bytes=0-4' }), { status: 304 });
  });

  it('If-Modified-Since: не изменён — 304, изменён после — 200, мусор игнорируется', () => {
    assert.deepEqual(
      get({ ifModifiedSince: AT_MODIFIED }),
      { status: 304 },
      'доли секунды Last-Modified не считаются',
    );
    assert.deepEqual(get({ ifModifiedSince: AFTER }), { status: 304 });
    assert.deepEqual(get({ ifModifiedSince: BEFORE }), { status: 200 });
    assert.deepEqual(get({ ifModifiedSince: 'not a date' }), { status: 200 });
    assert.deepEqual(get({ ifModifiedSince: AT_MODIFIED }, 'POST'), { status: 200 }, 'только GET/HEAD');
  });

  it('при If-None-Match заголовок If-Modified-Since не учитывается (§13.1.3)', () => {
    assert.deepEqual(get({ ifNoneMatch: OTHER_ETAG, ifModifiedSince: AFTER }), { status: 200 });
  });
});

describe('decide: If-Match / If-Unmodified-Since', () => {
  it('чужой тег — 412, текущий или * — условие выполнено', () => {
    assert.deepEqual(get({ ifMatch: OTHER_ETAG }), { status: 412 });
    assert.deepEqual(get({ ifMatch: '"bogus"' }), { status: 412 });
    assert.deepEqual(get({ ifMatch: ETAG }), { status: 200 });
    assert.deepEqual(get({ ifMatch: '*' }), { status: 200 });
    assert.deepEqual(get({ ifMatch: '*', range: 'bytes=0-4' }), { status: 206, start: 0, end: 4 });
    assert.deepEqual(get({ ifMatch: `${OTHER_ETAG}, ${ETAG}` }), { status: 200 });
  });

  it('сильное сравнение: слабый тег не совпадает нигде в списке', () => {
    assert.deepEqual(get({ ifMatch: `W/${ETAG}` }), { status: 412 });
    assert.deepEqual(get({ ifMatch: `${OTHER_ETAG}, W/${ETAG}` }), { status: 412 });
  });

  it('412 раньше 304 и Range', () => {
    assert.deepEqual(get({ ifMatch: OTHER_ETAG, ifNoneMatch: ETAG, range: 'bytes=0-4' }), { status: 412 });
  });

  it('If-Unmodified-Since: изменён позже — 412, иначе дальше; мусор игнорируется', () => {
    assert.deepEqual(get({ ifUnmodifiedSince: BEFORE }), { status: 412 });
    assert.deepEqual(get({ ifUnmodifiedSince: AT_MODIFIED }), { status: 200 });
    assert.deepEqual(get({ ifUnmodifiedSince: AFTER }), { status: 200 });
    assert.deepEqual(get({ ifUnmodifiedSince: 'yesterday' }), { status: 200 });
  });

  it('при If-Match заголовок If-Unmodified-Since не учитывается (§13.1.4)', () => {
    assert.deepEqual(get({ ifMatch: ETAG, ifUnmodifiedSince: BEFORE }), { status: 200 });
  });
});
