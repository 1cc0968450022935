// Разбор строки поиска (SPEC QR-2): синтаксис websearch и безопасное превращение слов в лексемы tsquery.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_QUERY_TERMS, parseSearchQuery, prefixLexeme } from './search-sql.js';

describe('parseSearchQuery', () => {
  it('слова — AND, OR делит на группы, «-» исключает, кавычки — фраза', () => {
    assert.deepEqual(parseSearchQuery('архив отчёт'), [
      [
        { words: ['архив'], negated: false },
        { words: ['отчёт'], negated: false },
      ],
    ]);
    assert.deepEqual(parseSearchQuery('a or b -c "annual report" -"x y"'), [
      [{ words: ['a'], negated: false }],
      [
        { words: ['b'], negated: false },
        { words: ['c'], negated: true },
        { words: ['annual', 'report'], negated: false },
        { words: ['x', 'y'], negated: true },
      ],
    ]);
  });

  it('OR в начале, в конце и подряд ничего не значит; незакрытая кавычка — фраза до конца', () => {
    assert.deepEqual(parseSearchQuery('OR a OR OR b OR'), [
      [{ words: ['a'], negated: false }],
      [{ words: ['b'], negated: false }],
    ]);
    assert.deepEqual(parseSearchQuery('"незакрытая фраза'), [
      [{ words: ['незакрытая', 'фраза'], negated: false }],
    ]);
    assert.deepEqual(parseSearchQuery('"" OR'), []);
    assert.deepEqual(parseSearchQuery('-'), [[{ words: ['-'], negated: false }]]);
  });

  it(`не больше ${MAX_QUERY_TERMS} терминов`, () => {
    const parsed = parseSearchQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '));
    assert.equal(parsed.flat().length, MAX_QUERY_TERMS);
  });
});

describe('prefixLexeme', () => {
  it('кавычки и обратная косая черта удваиваются, слово — префикс', () => {
    assert.equal(prefixLexeme('архив'), "'архив':*");
    assert.equal(prefixLexeme("it's\\"), "'it''s\\\\':*");
    assert.equal(prefixLexeme("!(&|)':*"), "'!(&|)'':*':*");
  });
});
