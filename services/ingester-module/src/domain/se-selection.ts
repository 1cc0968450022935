// Выбор SE для нового файла (SPEC IN-2) по документу обнаружения (AD-8): режим принимает новые файлы
// (матрица SE-7 из @artstore/contracts), автомат защиты не разомкнут, места хватает на заявленную длину,
// у вызывающего есть files:write на этот SE (AD-5). Порядок — priority по возрастанию, при равном —
// больше свободного места; SE, который по опросу down, — в конце списка.
//
// Документ — подсказка, а не истина: режим и здоровье в нём — по последнему опросу (до
// discovery.poll_interval назад), место — снимок на момент смены ступени заполнения. Последнее слово
// за самим SE: он отвечает 507 или MODE_FORBIDS_OPERATION, и uploader переходит к следующему кандидату
// (IN-7). Поэтому то, чего документ не знает (mode null, health unknown, capacity null — статическая
// конфигурация или ещё не опрошенный SE), SE не исключает. down тоже не исключает, а откладывает:
// здоровье, которое решает (SPEC IN-2: «healthy (circuit closed)»), — автомат защиты самого ingester, а
// down в документе часто устарел (SE поднялся после опроса — так при `artstore start all`). Попытка на
// действительно недоступном SE безопасна — отказ соединения до первого байта тела ведёт к следующему SE,
// а после серии отказов SE исключает уже автомат.
import { modeAllows } from '@artstore/contracts';
import { ArtError, formatSize, type DiscoveryElement, type ErrorCode, type SeMode } from '@artstore/core';

/** Почему SE не примет файл: по документу (permission … room) или по его ответу на попытку (unavailable). */
export type Refusal =
  | { reason: 'permission' }
  | { reason: 'mode'; mode: SeMode }
  | { reason: 'circuit' }
  | { reason: 'room'; available_bytes: number; required_bytes: number }
  | { reason: 'unavailable'; code: ErrorCode; detail: string };
export type RefusalReason = Refusal['reason'];

export interface SelectionContext<T extends DiscoveryElement = DiscoveryElement> {
  /** Сколько места нужно: заявленная длина; без неё — ingester.min_free, но не больше длины запроса. */
  requiredBytes: number;
  /** Право files:write на этот SE (SPEC AD-5). */
  mayWrite(id: string): boolean;
  /** Автомат защиты клиента SE разомкнут (SPEC IN-7). */
  circuitOpen(element: T): boolean;
}

/** Почему SE по документу не примет новый файл; undefined — примет (или документ этого не знает). */
export function stateRefusal(element: DiscoveryElement, requiredBytes: number): Refusal | undefined {
  if (element.mode !== null && !modeAllows(element.mode, 'create'))
    return { reason: 'mode', mode: element.mode };
  const available = element.capacity?.available_bytes;
  if (available !== undefined && available < requiredBytes) {
    return { reason: 'room', available_bytes: available, required_bytes: requiredBytes };
  }
  return undefined;
}

/**
 * Сначала не down; меньший priority предпочтительнее (SPEC AD-7); при равном — больше места, неизвестное
 * место — последним.
 */
function byPreference(a: DiscoveryElement, b: DiscoveryElement): number {
  const down = (e: DiscoveryElement) => (e.health === 'down' ? 1 : 0);
  const room = (e: DiscoveryElement) => e.capacity?.available_bytes ?? -1;
  return down(a) - down(b) || a.priority - b.priority || room(b) - room(a) || a.id.localeCompare(b.id);
}

export interface Ranking<T extends DiscoveryElement> {
  /** Кандидаты в порядке предпочтения. */
  candidates: T[];
  /** Исключённые SE и причина каждого. */
  refusals: Map<string, Refusal>;
}

/** Автоматический выбор: кандидаты по порядку и причины, по которым остальные исключены. */
export function rankCandidates<T extends DiscoveryElement>(
  elements: readonly T[],
  context: SelectionContext<T>,
): Ranking<T> {
  const candidates: T[] = [];
  const refusals = new Map<string, Refusal>();
  for (const element of elements) {
    const refusal: Refusal | undefined = !context.mayWrite(element.id)
      ? { reason: 'permission' }
      : (stateRefusal(element, context.requiredBytes) ??
        (context.circuitOpen(element) ? { reason: 'circuit' } : undefined));
    if (refusal === undefined) candidates.push(element);
    else refusals.set(element.id, refusal);
  }
  return { candidates: candidates.sort(byPreference), refusals };
}

/** SE, названный вызывающим: его запись в документе или VALIDATION_FAILED. */
export function findElement<T extends DiscoveryElement>(elements: readonly T[], id: string): T {
  const element = elements.find((e) => e.id === id);
  if (element === undefined) throw new ArtError('VALIDATION_FAILED', `Элемент хранения ${id} неизвестен`);
  return element;
}

/**
 * Явно названный SE файл не примет: ошибка называет причину, а не молча выбирает другой SE. Режим —
 * тот же MODE_FORBIDS_OPERATION, что ответил бы сам SE; место — как при автоматическом выборе.
 */
export function explicitRefusalError(id: string, refusal: Refusal): ArtError {
  if (refusal.reason === 'mode') {
    return new ArtError(
      'MODE_FORBIDS_OPERATION',
      `Элемент хранения ${id} в режиме ${refusal.mode} не принимает новые файлы`,
      {
        extra: { element_id: id, mode: refusal.mode, operation: 'create' },
      },
    );
  }
  return noCandidateError(new Map([[id, refusal]]));
}

function describe(refusal: Refusal): string {
  switch (refusal.reason) {
    case 'permission':
      return 'нет права files:write';
    case 'mode':
      return `режим ${refusal.mode} не принимает новые файлы`;
    case 'circuit':
      return 'автомат защиты разомкнут после серии отказов';
    case 'room':
      return `свободно ${formatSize(refusal.available_bytes)}, нужно ${formatSize(refusal.required_bytes)}`;
    case 'unavailable':
      return `${refusal.code}: ${refusal.detail}`;
  }
}

/** Причины, которые не пройдут сами: при них и нехватке места у остальных хранилище для вызывающего полно. */
const LASTING: ReadonlySet<RefusalReason> = new Set(['room', 'mode', 'permission']);

/**
 * Файл принять некому. Если хоть одному SE не хватает места, а остальные исключены надолго (режим, нет
 * права) — 507 INSUFFICIENT_STORAGE с цифрами самого свободного SE; иначе 503 NO_STORAGE_ELEMENT. В обоих
 * случаях `reasons` — причина по каждому SE, чтобы оператор видел, почему.
 */
export function noCandidateError(refusals: ReadonlyMap<string, Refusal>): ArtError {
  const reasons = Object.fromEntries(refusals);
  if (refusals.size === 0) {
    return new ArtError('NO_STORAGE_ELEMENT', 'Элементы хранения не настроены', { extra: { reasons } });
  }
  const list = [...refusals].map(([id, refusal]) => `${id} — ${describe(refusal)}`).join('; ');
  let roomiest: [string, { available_bytes: number; required_bytes: number }] | undefined;
  for (const [id, refusal] of refusals) {
    if (
      refusal.reason === 'room' &&
      (roomiest === undefined || refusal.available_bytes > roomiest[1].available_bytes)
    ) {
      roomiest = [id, refusal];
    }
  }
  if (roomiest !== undefined && [...refusals.values()].every((r) => LASTING.has(r.reason))) {
    const [id, { available_bytes, required_bytes }] = roomiest;
    return new ArtError(
      'INSUFFICIENT_STORAGE',
      `Ни на одном элементе хранения нет места: больше всего свободно на ${id} — ${formatSize(available_bytes)}, ` +
        `нужно ${formatSize(required_bytes)} (${list})`,
      { extra: { required_bytes, available_bytes, storage_element: id, reasons } },
    );
  }
  return new ArtError('NO_STORAGE_ELEMENT', `Нет элемента хранения, готового принять файл: ${list}`, {
    extra: { reasons },
  });
}
