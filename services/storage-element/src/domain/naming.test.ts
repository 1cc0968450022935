import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ATTR_SUFFIX, safeExtension, safeStem, storedPath } from './naming.js';

const ID = '01890a5d-ac96-774b-bcce-b302099a8057';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Основа — один безопасный сегмент пути: без разделителей, не «.»/«..», не скрытый файл, печатная. */
function assertSafeSegment(stem: string): void {
  assert.ok(stem.length > 0);
  assert.doesNotMatch(stem, /[/\\]/, `разделитель пути в ${JSON.stringify(stem)}`);
  assert.ok(!stem.startsWith('.'), `основа начинается с точки: ${JSON.stringify(stem)}`);
  assert.match(stem, /^[\p{L}\p{N}\-_. ]+$/u, `недопустимый символ в ${JSON.stringify(stem)}`);
  assert.ok(bytes(stem) <= 120, `длиннее 120 байт: ${bytes(stem)}`);
  assert.equal(Buffer.from(stem, 'utf8').toString('utf8'), stem, 'разорванная суррогатная пара');
}

describe('safeStem (SPEC SE-1)', () => {
  it('кириллица, цифры и «-_. » сохраняются', () => {
    assert.equal(safeStem('Отчёт о проверке-2026_v1.2.pdf'), 'Отчёт о проверке-2026_v1.2');
    assert.equal(safeStem('東京 ٣٤.txt'), '東京 ٣٤');
  });

  it('NFD приводится к NFC', () => {
    const nfd = 'Ёлка'.normalize('NFD');
    assert.notEqual(nfd, 'Ёлка');
    const stem = safeStem(`${nfd}.txt`);
    assert.equal(stem, 'Ёлка');
    assert.equal(stem, stem.normalize('NFC'));
  });

  it('обход каталогов: ../../etc/passwd остаётся одним сегментом без «/» и ведущих «..»', () => {
    for (const name of [
      '../../etc/passwd',
      '..\\..\\windows\\win.ini',
      '/etc/passwd',
      '..',
      '.',
      '...',
      './.hidden',
      ' ../x',
    ]) {
      const stem = safeStem(name);
      assertSafeSegment(stem);
      const path = storedPath(name, ID, new Date('2026-01-01T00:00:00Z'));
      assert.equal(path.split('/').length, 5, `лишний сегмент пути: ${path}`);
      assert.ok(!path.split('/').some((segment) => segment === '..' || segment === '.'), path);
    }
    assert.equal(safeStem('../../etc/passwd'), '__.._etc_passwd');
  });

  it('NUL, управляющие символы, RTL- и невидимые метки заменяются на «_»', () => {
    assert.equal(safeStem('a\u0000b\u0001c\u007fd\te\nf.txt'), 'a_b_c_d_e_f');
    assert.equal(safeStem('invoice\u202Efdp.exe'), 'invoice_fdp', 'RLO не переворачивает расширение');
    assert.equal(safeStem('a\u200Fb\u200Bc\uFEFFd'), 'a_b_c_d');
    assert.equal(safeStem('a:b*c?d"e<f>g|h'), 'a_b_c_d_e_f_g_h');
  });

  it('300 байт обрезаются до ≤ 120 байт по границе символа', () => {
    const cyr = 'ж'.repeat(150); // 300 байт
    assert.equal(safeStem(`${cyr}.txt`), 'ж'.repeat(60));
    const cjk = 'a' + '字'.repeat(100); // 1 + 300 байт: после «a» по 3 байта, 121-й байт не влезает
    assert.equal(safeStem(cjk), 'a' + '字'.repeat(39));
    // Буква вне BMP (4 байта, суррогатная пара в JS) не разрывается.
    const astral = 'ab' + '𝐀'.repeat(75);
    const stem = safeStem(astral);
    assertSafeSegment(stem);
    assert.equal(stem, 'ab' + '𝐀'.repeat(29));
    assert.equal(bytes(stem), 118);
  });

  it('ровно 120 байт не обрезаются', () => {
    assert.equal(safeStem('я'.repeat(60)), 'я'.repeat(60));
    assert.equal(safeStem('x'.repeat(121)), 'x'.repeat(120));
  });

  it('пустая основа — file', () => {
    for (const name of ['', '   ', '.txt', '///', '???.pdf', '\u0000', '. . .']) {
      assert.equal(safeStem(name), 'file', JSON.stringify(name));
    }
  });

  it('концевые пробелы убираются, ведущие точки и пробелы заменяются', () => {
    assert.equal(safeStem('name   .txt'), 'name');
    assert.equal(safeStem('.env.local'), '_env');
    assert.equal(safeStem('  lead.txt'), '_lead');
  });
});

describe('safeExtension', () => {
  it('латинское расширение до 16 символов, в нижнем регистре', () => {
    assert.equal(safeExtension('Отчёт.PDF'), '.pdf');
    assert.equal(safeExtension('archive.tar.gz'), '.gz');
    assert.equal(safeStem('archive.tar.gz'), 'archive.tar');
    assert.equal(safeExtension('a.mp4'), '.mp4');
    assert.equal(safeExtension('x.abcdefghijklmnop'), '.abcdefghijklmnop');
  });

  it('нет расширения: нет точки, длиннее 16, не латиница, точка в конце, разделитель', () => {
    assert.equal(safeExtension('README'), '');
    assert.equal(safeExtension('x.abcdefghijklmnopq'), '');
    assert.equal(safeStem('x.abcdefghijklmnopq'), 'x.abcdefghijklmnopq');
    assert.equal(safeExtension('файл.док'), '');
    assert.equal(safeExtension('name.'), '');
    assert.equal(safeExtension('a.b/c'), '');
    assert.equal(safeExtension('a.p-f'), '');
    assert.equal(safeExtension('evil.\u202Etxt'), '');
  });
});

describe('storedPath', () => {
  it('каталог YYYY/MM/DD/HH в UTC, имя <основа>_<id><.ext>', () => {
    // 2026-03-01 01:30 в UTC+3 — это ещё 28 февраля 22:30 UTC.
    const at = new Date('2026-03-01T01:30:00+03:00');
    assert.equal(storedPath('Отчёт.PDF', ID, at), `2026/02/28/22/Отчёт_${ID}.pdf`);
    assert.equal(storedPath('', ID, at), `2026/02/28/22/file_${ID}`);
  });

  it('суффикс attr-файла', () => {
    assert.equal(ATTR_SUFFIX, '.attr.json');
  });
});
