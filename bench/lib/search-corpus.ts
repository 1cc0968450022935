// Правдоподобный корпус записей индекса для бенчмарка поиска (SPEC QR-2, QR-3): русские и английские
// имена и описания из словаря, теги, custom, разные content_type, размеры от килобайт до гигабайт,
// даты за несколько лет, несколько SE. Генератор детерминирован (свой ГПСЧ с фиксированным зерном):
// частоты терминов и запросы одинаковы от прогона к прогону.
import { createHash, randomUUID } from 'node:crypto';
import type { ChangeEntry, FileRecord } from '@artstore/contracts';

/** mulberry32: быстрый детерминированный ГПСЧ, равномерный на [0, 1). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rng: () => number, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

export const ELEMENTS = ['se-msk-1', 'se-spb-1', 'se-archive'] as const;

const DOC_TYPES_RU = [
  'Договор',
  'Счёт',
  'Акт сверки',
  'Приказ',
  'Протокол совещания',
  'Служебная записка',
  'Смета',
  'Накладная',
  'Заявление',
  'Техническое задание',
  'Презентация',
  'Фотография',
  'Чертёж',
  'Справка',
  'Доверенность',
];
const DOC_TYPES_EN = [
  'Contract',
  'Invoice',
  'Meeting notes',
  'Specification',
  'Presentation',
  'Photo',
  'Drawing',
  'Purchase order',
  'Timesheet',
  'Release notes',
  'Proposal',
  'Receipt',
];
const WORDS_RU = [
  'поставка',
  'оборудование',
  'проект',
  'строительство',
  'здание',
  'склад',
  'филиал',
  'сотрудник',
  'бухгалтерия',
  'согласование',
  'подпись',
  'печать',
  'оригинал',
  'копия',
  'приложение',
  'изменение',
  'дополнение',
  'расчёт',
  'оплата',
  'аванс',
  'гарантия',
  'ремонт',
  'обслуживание',
  'монтаж',
  'испытание',
  'проверка',
  'инвентаризация',
  'закупка',
  'тендер',
  'контрагент',
  'клиент',
  'заказчик',
  'подрядчик',
  'объект',
  'участок',
  'территория',
  'лицензия',
  'сертификат',
  'регламент',
  'инструкция',
  'безопасность',
  'охрана',
  'транспорт',
  'доставка',
  'маршрут',
  'график',
  'план',
  'бюджет',
  'прогноз',
  'итоги',
];
const WORDS_EN = [
  'delivery',
  'equipment',
  'building',
  'warehouse',
  'branch',
  'employee',
  'accounting',
  'approval',
  'signature',
  'original',
  'appendix',
  'amendment',
  'payment',
  'advance',
  'warranty',
  'repair',
  'maintenance',
  'installation',
  'testing',
  'inventory',
  'procurement',
  'tender',
  'customer',
  'contractor',
  'site',
  'license',
  'certificate',
  'policy',
  'manual',
  'safety',
  'transport',
  'shipping',
  'route',
  'schedule',
  'budget',
  'forecast',
  'summary',
];
/**
 * Частые термины: каждый попадает в описание записи с вероятностью FREQUENT_SHARE, независимо от языка
 * записи. В общем словаре их нет, поэтому доля совпадений — около FREQUENT_SHARE.
 */
export const FREQUENT_TERMS = [
  'отчёт',
  'квартал',
  'документ',
  'архив',
  'финансы',
  'report',
  'quarterly',
  'document',
  'archive',
  'finance',
];
export const FREQUENT_SHARE = 0.3;
const TAGS = [
  'срочно',
  'важное',
  'бухгалтерия',
  'юристы',
  'hr',
  'it',
  'продажи',
  'marketing',
  'legal',
  'draft',
  'final',
  'scan',
  'confidential',
  'public',
  '2fa-signed',
];
const DEPARTMENTS = [
  'Бухгалтерия',
  'Юридический отдел',
  'Отдел кадров',
  'IT',
  'Продажи',
  'Логистика',
  'Engineering',
  'Marketing',
];
const CONTENT_TYPES = [
  { type: 'application/pdf', ext: 'pdf', min: 30e3, max: 30e6 },
  {
    type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    ext: 'docx',
    min: 10e3,
    max: 5e6,
  },
  {
    type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    ext: 'xlsx',
    min: 8e3,
    max: 20e6,
  },
  { type: 'image/jpeg', ext: 'jpg', min: 50e3, max: 15e6 },
  { type: 'image/png', ext: 'png', min: 5e3, max: 8e6 },
  { type: 'text/plain', ext: 'txt', min: 100, max: 2e6 },
  { type: 'text/csv', ext: 'csv', min: 1e3, max: 200e6 },
  { type: 'video/mp4', ext: 'mp4', min: 5e6, max: 4e9 },
  { type: 'application/zip', ext: 'zip', min: 100e3, max: 2e9 },
] as const;
export const CONTENT_TYPE_NAMES = CONTENT_TYPES.map((c) => c.type);
const AUTHORS = [
  'Иванов',
  'Смирнова',
  'Кузнецов',
  'Попова',
  'Соколов',
  'Лебедева',
  'Smith',
  'Johnson',
  'Brown',
  'Taylor',
];
const USERS = ['ivanova', 'petrov', 'smirnov', 'kuznetsova', 'j.smith', 'a.brown', 'svc-ingest'];

// Редкие слова — вымышленные фамилии и названия контрагентов из слогов: по одному в имени файла. Размер
// словаря — записей / RARE_PER_WORD, так что каждое слово встречается в среднем в RARE_PER_WORD записях.
// Слоги оканчиваются на согласную: русский стеммер не склеивает разные слова, отрезая окончание.
const RARE_PER_WORD = 40;
const SYLLABLES_RU = {
  a: [
    'Вал',
    'Дор',
    'Кир',
    'Лем',
    'Мар',
    'Нов',
    'Пет',
    'Рад',
    'Сол',
    'Тор',
    'Бур',
    'Гор',
    'Зел',
    'Кол',
    'Лис',
    'Мир',
    'Нар',
    'Ост',
    'Пол',
    'Рус',
  ],
  b: [
    'ан',
    'ен',
    'ил',
    'он',
    'ур',
    'ер',
    'ам',
    'ор',
    'ек',
    'ис',
    'ат',
    'уш',
    'от',
    'ез',
    'им',
    'ал',
    'ок',
    'ир',
    'ун',
    'ет',
  ],
  c: [
    'цкий',
    'берг',
    'штейн',
    'мант',
    'ворт',
    'ницк',
    'ганц',
    'дарс',
    'хольм',
    'бранд',
    'ст',
    'рт',
    'нц',
    'льт',
    'ск',
    'рд',
    'шт',
    'мп',
    'нк',
    'лд',
  ],
};
const SYLLABLES_EN = {
  a: [
    'Bar',
    'Cal',
    'Dun',
    'Fen',
    'Gal',
    'Hal',
    'Kel',
    'Lam',
    'Mor',
    'Nor',
    'Pem',
    'Quin',
    'Ros',
    'Sal',
    'Tam',
    'Ver',
    'Wal',
    'Yor',
    'Zan',
    'Ash',
  ],
  b: [
    'ab',
    'ed',
    'ig',
    'om',
    'ul',
    'ar',
    'en',
    'is',
    'ot',
    'uk',
    'ast',
    'eld',
    'ind',
    'orn',
    'und',
    'alt',
    'erk',
    'imb',
    'osk',
    'urn',
  ],
  c: [
    'ford',
    'field',
    'worth',
    'brook',
    'stone',
    'wick',
    'ton',
    'ham',
    'ley',
    'dale',
    'croft',
    'more',
    'gate',
    'hurst',
    'land',
    'marsh',
    'well',
    'wood',
    'by',
    'burn',
  ],
};

function syllableWord(index: number, syllables: { a: string[]; b: string[]; c: string[] }): string {
  const { a, b, c } = syllables;
  return `${a[index % a.length]}${b[Math.floor(index / a.length) % b.length]}${c[Math.floor(index / (a.length * b.length)) % c.length]}`;
}

/** Редкое слово № index: чётные — русские, нечётные — английские; все различны до 16 000 слов. */
export function rareWord(index: number): string {
  return index % 2 === 0
    ? syllableWord(index / 2, SYLLABLES_RU)
    : syllableWord((index - 1) / 2, SYLLABLES_EN);
}

export function rareWordCount(records: number): number {
  return Math.max(200, Math.min(16_000, Math.round(records / RARE_PER_WORD)));
}

const YEARS_FROM = Date.UTC(2021, 0, 1);
const YEARS_TO = Date.UTC(2026, 10, 1);
export const DATE_RANGE = { from: YEARS_FROM, to: YEARS_TO } as const;

/** Запись № index корпуса из records; rng — общий поток генератора (записи генерируются по порядку). */
export function makeRecord(rng: () => number, records: number, elementId: string): FileRecord {
  const russian = rng() < 0.65;
  const content = pick(rng, CONTENT_TYPES);
  const created = new Date(YEARS_FROM + Math.floor(rng() * (YEARS_TO - YEARS_FROM)));
  const stamp = created.toISOString();
  const rare = rareWord(Math.floor(rng() * rareWordCount(records)));
  const period = `${created.getUTCFullYear()}-${String(created.getUTCMonth() + 1).padStart(2, '0')}`;
  const name = `${pick(rng, russian ? DOC_TYPES_RU : DOC_TYPES_EN)} ${rare} ${period}.${content.ext}`;
  const words = Array.from({ length: 4 + Math.floor(rng() * 8) }, () =>
    pick(rng, russian ? WORDS_RU : WORDS_EN),
  );
  for (const term of FREQUENT_TERMS)
    if (rng() < FREQUENT_SHARE) words.splice(Math.floor(rng() * words.length), 0, term);
  const tags = [...new Set(Array.from({ length: 1 + Math.floor(rng() * 3) }, () => pick(rng, TAGS)))];
  const size = Math.round(content.min * (content.max / content.min) ** rng());
  const id = randomUUID();
  const retention =
    rng() < 0.3
      ? new Date(created.getTime() + (1 + Math.floor(rng() * 10)) * 365 * 86_400_000).toISOString()
      : null;
  return {
    id,
    name,
    content_type: content.type,
    size,
    sha256: createHash('sha256').update(id).digest('hex'),
    storage_element: elementId,
    path: `${stamp.slice(0, 4)}/${stamp.slice(5, 7)}/${stamp.slice(8, 10)}/${stamp.slice(11, 13)}/${id}`,
    created_at: stamp,
    created_by: pick(rng, USERS),
    updated_at: stamp,
    retention_until: retention,
    status: rng() < 0.02 ? 'deleted' : 'active',
    metadata: {
      description: words.join(' '),
      tags,
      custom: {
        department: pick(rng, DEPARTMENTS),
        project: `PRJ-${1000 + Math.floor(rng() * 900)}`,
        author: pick(rng, AUTHORS),
      },
    },
    version: 1,
  };
}

/** Пачка изменений одного SE: seq идут подряд с firstSeq. */
export function makeBatch(
  rng: () => number,
  records: number,
  elementId: string,
  firstSeq: number,
  count: number,
): ChangeEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: firstSeq + i,
    record: makeRecord(rng, records, elementId),
  }));
}

/** Запросы сценариев поиска: разные термины, детерминированно. */
export function searchQueries(records: number, count: number, seed: number) {
  const rng = createRng(seed);
  const rare = rareWordCount(records);
  const day = 86_400_000;
  return {
    /** (а) селективный термин — редкое слово из имени, ~RARE_PER_WORD записей. */
    selective: Array.from({ length: count }, (_, i) => rareWord((i * 7919) % rare)),
    /** (б) частый термин (~30 % записей). */
    frequent: Array.from({ length: count }, (_, i) => FREQUENT_TERMS[i % FREQUENT_TERMS.length]!),
    /** (в) только фильтры: content_type, диапазон размеров, диапазон дат. */
    filters: Array.from({ length: count }, () => {
      const from = YEARS_FROM + Math.floor(rng() * (YEARS_TO - YEARS_FROM - 90 * day));
      const min = Math.round(10 ** (3 + rng() * 5));
      return {
        content_type: pick(rng, CONTENT_TYPE_NAMES),
        size_min: min,
        size_max: min * (2 + Math.floor(rng() * 20)),
        created_from: new Date(from).toISOString(),
        created_to: new Date(from + (7 + Math.floor(rng() * 180)) * day).toISOString(),
      };
    }),
    /** (г) подсказка: 3–4 первые буквы слова из имён. */
    suggest: Array.from({ length: count }, (_, i) => {
      const word =
        i % 3 === 0 ? pick(rng, [...DOC_TYPES_RU, ...DOC_TYPES_EN]) : rareWord(Math.floor(rng() * rare));
      return word.slice(0, 3 + (i % 2)).toLowerCase();
    }),
  };
}
