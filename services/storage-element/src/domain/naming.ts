// Имена на диске (SPEC SE-1): <safe-stem>_<id><.ext> в каталоге YYYY/MM/DD/HH (UTC времени загрузки).
// Исходное имя любого вида сохраняется только в attr-файле; на диск попадает безопасная основа,
// поэтому никакое имя не выводит запись за пределы корня SE.

const MAX_STEM_BYTES = 120;
const EXTENSION = /\.([A-Za-z0-9]{1,16})$/;

/** Буквы Unicode (и кириллица), цифры, «-_. »; остальное — «_». NFC, не длиннее 120 байт UTF-8. */
export function safeStem(originalName: string): string {
  const nfc = originalName.normalize('NFC');
  const withoutExt = nfc.replace(EXTENSION, '');
  let stem = withoutExt.replace(/[^\p{L}\p{N}\-_. ]/gu, '_').replace(/^[. ]+/, '_').trimEnd();
  if (stem === '' || /^_+$/.test(stem)) stem = 'file';
  while (Buffer.byteLength(stem, 'utf8') > MAX_STEM_BYTES) stem = [...stem].slice(0, -1).join('');
  return stem;
}

export function safeExtension(originalName: string): string {
  const match = EXTENSION.exec(originalName.normalize('NFC'));
  return match ? `.${match[1]!.toLowerCase()}` : '';
}

/** Относительный путь данных: 2026/11/30/10/Отчёт о проверке_<id>.pdf */
export function storedPath(originalName: string, id: string, uploadedAt: Date): string {
  const iso = uploadedAt.toISOString();
  const dir = `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}`;
  return `${dir}/${safeStem(originalName)}_${id}${safeExtension(originalName)}`;
}

export const ATTR_SUFFIX = '.attr.json';
