import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatContentDisposition, parseContentDispositionFilename } from './content-disposition.js';

/** Только печатные ASCII: иначе Node откажется ставить заголовок, а прокси исказят байты. */
function assertAsciiHeader(header: string): void {
  assert.match(
    header,
    /^[\x20-\x7e]*$/,
    `в заголовке не-ASCII или управляющие символы: ${JSON.stringify(header)}`,
  );
}

/** Значение filename="…" как quoted-string (RFC 9110 §5.6.4): без неэкранированных кавычек. */
function quotedFallback(header: string): string {
  const match = /filename="((?:[^"\\]|\\.)*)"(;|$)/.exec(header);
  assert.ok(match, `нет корректного filename="…": ${header}`);
  return match[1]!;
}

describe('formatContentDisposition (RFC 6266 / RFC 8187)', () => {
  it('кириллица: только ASCII в заголовке, filename* в UTF-8 и обратный разбор без потерь', () => {
    const name = 'Отчёт о проверке.pdf';
    const header = formatContentDisposition(name);
    assertAsciiHeader(header);
    assert.ok(header.startsWith('attachment; '));
    assert.ok(header.includes("filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20"), header);
    assert.equal(parseContentDispositionFilename(header), name);
  });

  it('запасное имя: кавычки и обратные косые черты не ломают quoted-string', () => {
    const name = 'say "hi"\\ back.txt';
    const header = formatContentDisposition(name);
    assertAsciiHeader(header);
    const fallback = quotedFallback(header);
    assert.doesNotMatch(fallback.replace(/\\./g, ''), /["\\]/);
    assert.equal(parseContentDispositionFilename(header), name, 'filename* несёт точное имя');
  });

  it('перевод строки и управляющие символы не попадают в заголовок (нет внедрения заголовков)', () => {
    const name = 'a\r\nSet-Cookie: x=1\u0000.txt';
    const header = formatContentDisposition(name);
    assertAsciiHeader(header);
    assert.doesNotMatch(header, /[\r\n\0]/);
    assert.equal(parseContentDispositionFilename(header), name);
  });

  it("символы вне attr-char ('()*;%, пробел) кодируются и возвращаются", () => {
    for (const name of ["it's (1) *draft*.txt", 'a;b=c.txt', '100%.txt', 'x%20y.txt', 'ё+ж.txt', '😀.png']) {
      const header = formatContentDisposition(name, 'inline');
      assertAsciiHeader(header);
      assert.ok(header.startsWith('inline; '));
      const ext = /filename\*=UTF-8''(.*)$/.exec(header)![1]!;
      assert.match(ext, /^[A-Za-z0-9!#$&+\-.^_`|~%]*$/, `filename* вне attr-char: ${ext}`);
      assert.equal(parseContentDispositionFilename(header), name, name);
    }
  });

  it('латиница с диакритикой в запасном имени — без диакритики', () => {
    const header = formatContentDisposition('Café résumé.txt');
    assert.equal(quotedFallback(header), 'Cafe resume.txt');
  });

  it('имя только из не-ASCII символов — запасное имя из подчёркиваний, пустое — file', () => {
    assert.equal(quotedFallback(formatContentDisposition('Отчёт')), '_____');
    assert.equal(quotedFallback(formatContentDisposition('')), 'file');
  });
});

describe('parseContentDispositionFilename', () => {
  it('filename* важнее filename, в каком бы порядке они ни стояли', () => {
    const utf = "filename*=UTF-8''%D0%90.txt";
    assert.equal(parseContentDispositionFilename(`attachment; filename="A.txt"; ${utf}`), 'А.txt');
    assert.equal(parseContentDispositionFilename(`attachment; ${utf}; filename="A.txt"`), 'А.txt');
  });

  it('кодировка без учёта регистра, языковой тег, ISO-8859-1', () => {
    assert.equal(parseContentDispositionFilename("attachment; filename*=utf-8'ru'%D0%AF.txt"), 'Я.txt');
    assert.equal(parseContentDispositionFilename("attachment; filename*=ISO-8859-1''caf%E9.txt"), 'café.txt');
  });

  it('неизвестная кодировка в filename* — берётся filename', () => {
    assert.equal(
      parseContentDispositionFilename('attachment; filename*=KOI8-R\'\'%F1.txt; filename="ya.txt"'),
      'ya.txt',
    );
  });

  it('quoted-string с экранированием и token без кавычек', () => {
    assert.equal(parseContentDispositionFilename('attachment; filename="a \\"b\\" c.txt"'), 'a "b" c.txt');
    assert.equal(parseContentDispositionFilename('attachment; filename=plain.txt; size=3'), 'plain.txt');
    assert.equal(parseContentDispositionFilename('form-data; name="file"; filename="x.bin"'), 'x.bin');
  });

  it('нет заголовка, нет имени, битое percent-кодирование — undefined', () => {
    assert.equal(parseContentDispositionFilename(undefined), undefined);
    assert.equal(parseContentDispositionFilename(''), undefined);
    assert.equal(parseContentDispositionFilename('attachment'), undefined);
    assert.equal(parseContentDispositionFilename("attachment; filename*=UTF-8''%D0%ZZ"), undefined);
  });
});
