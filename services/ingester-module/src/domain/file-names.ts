// Проверка имени, которое прислал клиент (SPEC §9): имя файла — не путь. Имена с разделителями
// каталогов, «..», NUL и управляющими символами отклоняются ясной ошибкой, а не «чинятся» молча.
import { ArtError } from '@artstore/core';

const MAX_NAME_BYTES = 1024;

export function assertClientFileName(name: string | undefined): string {
  if (name === undefined || name.trim() === '') throw new ArtError('FILE_NAME_INVALID', 'Не задано имя файла');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw new ArtError('FILE_NAME_INVALID', `Имя файла длиннее ${MAX_NAME_BYTES} байт`);
  }
  // Управляющие символы — вся категория Unicode Cc: C0, DEL и C1 (U+0080–U+009F, среди них NEL U+0085 —
  // перевод строки для многих терминалов и журналов).
  if (/\p{Cc}/u.test(name)) throw new ArtError('FILE_NAME_INVALID', 'Имя файла содержит управляющие символы');
  if (/[/\\]/.test(name) || name === '.' || name === '..') {
    throw new ArtError('FILE_NAME_INVALID', 'Имя файла не может содержать «/», «\\» или быть «.»/«..»');
  }
  return name.normalize('NFC');
}
