// Условные запросы и Range (RFC 9110 §13, §14; SPEC SE-11). Чистая функция: по заголовкам запроса и
// описанию представления решает, что отвечать. Несколько диапазонов отдаются целым телом (200) —
// это разрешено RFC 9110 §14.2 и исключает усиление ответа перекрывающимися диапазонами.

export interface Representation {
  /** Сильный ETag в кавычках: "sha256…". */
  etag: string;
  size: number;
  lastModified: Date;
}

export interface RequestHeaders {
  range?: string;
  ifRange?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export type Decision =
  | { status: 200 }
  | { status: 206; start: number; end: number }
  | { status: 304 }
  | { status: 412 }
  | { status: 416 };

function etagList(header: string, weak: boolean): string[] {
  return header.split(',').map((t) => (weak ? t.trim().replace(/^W\//, '') : t.trim()));
}

/**
 * If-Match сравнивает сильно (RFC 9110 §13.1.1): слабый тег не совпадает ни с чем, где бы в списке
 * он ни стоял. If-None-Match — слабо (§13.1.2): W/"x" совпадает с "x".
 */
function matches(header: string, etag: string, weak: boolean): boolean {
  return header.trim() === '*' || etagList(header, weak).includes(etag);
}

/** Секунды без долей: HTTP-даты точны до секунды. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export function decide(method: string, headers: RequestHeaders, rep: Representation): Decision {
  // RFC 9110 §13.2.2: порядок проверки предусловий.
  if (headers.ifMatch !== undefined) {
    if (!matches(headers.ifMatch, rep.etag, false)) return { status: 412 };
  } else {
    const unmodifiedSince = parseDate(headers.ifUnmodifiedSince);
    if (unmodifiedSince !== undefined && seconds(rep.lastModified) > unmodifiedSince) return { status: 412 };
  }
  const readOnly = method === 'GET' || method === 'HEAD';
  if (headers.ifNoneMatch !== undefined) {
    if (matches(headers.ifNoneMatch, rep.etag, true)) return readOnly ? { status: 304 } : { status: 412 };
  } else if (readOnly) {
    const modifiedSince = parseDate(headers.ifModifiedSince);
    if (modifiedSince !== undefined && seconds(rep.lastModified) <= modifiedSince) return { status: 304 };
  }
  if (method !== 'GET' || headers.range === undefined) return { status: 200 };
  if (headers.ifRange !== undefined) {
    const ifRange = headers.ifRange.trim();
    const fresh = ifRange.startsWith('"')
      ? ifRange === rep.etag
      : parseDate(ifRange) !== undefined && parseDate(ifRange) === seconds(rep.lastModified);
    if (!fresh) return { status: 200 };
  }
  return parseRange(headers.range, rep.size);
}

/** Один диапазон bytes=a-b | a- | -n. Другие единицы и несколько диапазонов — целое тело. */
function parseRange(header: string, size: number): Decision {
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match) return { status: 200 };
  const specs = match[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length !== 1) return { status: 200 };
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!spec || (spec[1] === '' && spec[2] === '')) return { status: 200 };
  if (spec[1] === '') {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return { status: 416 };
    return { status: 206, start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const end = spec[2] === '' ? size - 1 : Math.min(Number(spec[2]), size - 1);
  if (spec[2] !== '' && Number(spec[2]) < start) return { status: 200 };
  if (start >= size) return { status: 416 };
  return { status: 206, start, end };
}
