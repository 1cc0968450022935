// Content-Disposition по RFC 6266 с именем в UTF-8 по RFC 8187 (filename*=UTF-8''…) и ASCII-запасным
// filename="…": в заголовке только байты ASCII, кириллица доходит до клиента целой (SPEC SE-11).

/** RFC 8187 attr-char: всё прочее кодируется %XX. */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function asciiFallback(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '_')
    .replace(/["\\]/g, '_');
  return ascii.trim() === '' ? 'file' : ascii;
}

export function formatContentDisposition(name: string, type: 'attachment' | 'inline' = 'attachment'): string {
  return `${type}; filename="${asciiFallback(name)}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

/** Имя файла из Content-Disposition запроса: filename* (RFC 8187) важнее filename. */
export function parseContentDispositionFilename(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const extended = /filename\*\s*=\s*([\w!#$%&+.^`|~-]+)'[^']*'([^;\s]+)/i.exec(header);
  if (extended) {
    const charset = extended[1]!.toLowerCase();
    try {
      if (charset === 'utf-8') return decodeURIComponent(extended[2]!);
      if (charset === 'iso-8859-1') return unescape(extended[2]!);
    } catch {
      return undefined;
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const token = /filename\s*=\s*([^;\s]+)/i.exec(header);
  return token?.[1];
}
