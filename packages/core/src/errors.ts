// Единый каталог ошибок (SPEC X-8). Код стабилен: однажды выпущенный код не меняет смысла и
// не используется повторно, даже если ошибка больше не возникает. Каждый код описан в docs/errors.md
// (это проверяет тест errors.test.ts).

interface ErrorDefinition {
  status: number;
  title: string;
}

export const errorCatalog = {
  // Общие
  INTERNAL_ERROR: { status: 500, title: 'Внутренняя ошибка сервера' },
  NOT_FOUND: { status: 404, title: 'Маршрут не найден' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Метод не поддерживается' },
  VALIDATION_FAILED: { status: 400, title: 'Запрос не прошёл проверку' },
  MALFORMED_JSON: { status: 400, title: 'Тело запроса — некорректный JSON' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Неподдерживаемый тип содержимого' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Тело запроса слишком велико' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Заголовки запроса слишком велики' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Сервис временно недоступен' },
  UPSTREAM_UNAVAILABLE: { status: 503, title: 'Зависимый сервис недоступен' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Зависимый сервис не ответил вовремя' },
  CIRCUIT_OPEN: { status: 503, title: 'Зависимый сервис отключён автоматом защиты' },
  CORS_ORIGIN_DENIED: { status: 403, title: 'Источник не разрешён политикой CORS' },
  RATE_LIMITED: { status: 429, title: 'Слишком много запросов' },
  CLIENT_BLOCKED: { status: 429, title: 'Клиент временно заблокирован за повторные превышения частоты запросов' },
  // Конфигурация
  CONFIG_INVALID: { status: 500, title: 'Некорректная конфигурация' },
  // Аутентификация и доступ
  AUTH_TOKEN_MISSING: { status: 401, title: 'Нужен токен доступа' },
  AUTH_TOKEN_INVALID: { status: 401, title: 'Токен доступа недействителен' },
  AUTH_TOKEN_EXPIRED: { status: 401, title: 'Срок действия токена истёк' },
  AUTH_INVALID_CREDENTIALS: { status: 401, title: 'Неверное имя пользователя или пароль' },
  AUTH_ACCOUNT_DISABLED: { status: 403, title: 'Учётная запись отключена' },
  AUTH_LOGIN_LOCKED: { status: 429, title: 'Слишком много неудачных попыток входа' },
  AUTH_REFRESH_INVALID: { status: 401, title: 'Refresh-токен недействителен' },
  PASSWORD_CHANGE_REQUIRED: { status: 403, title: 'Требуется смена пароля' },
  MFA_ENROLMENT_REQUIRED: { status: 403, title: 'Требуется подключить двухфакторную аутентификацию' },
  MFA_CODE_INVALID: { status: 401, title: 'Неверный код двухфакторной аутентификации' },
  MFA_CODE_REPLAYED: { status: 401, title: 'Код двухфакторной аутентификации уже использован' },
  MFA_CHALLENGE_INVALID: { status: 401, title: 'Вход по второму фактору недействителен или истёк' },
  MFA_ALREADY_ENABLED: { status: 409, title: 'Двухфакторная аутентификация уже подключена' },
  MFA_NOT_ENABLED: { status: 409, title: 'Двухфакторная аутентификация не подключена' },
  PASSWORD_POLICY_VIOLATION: { status: 400, title: 'Пароль не соответствует политике' },
  USER_NOT_FOUND: { status: 404, title: 'Пользователь не найден' },
  ADMIN_NETWORK_DENIED: { status: 403, title: 'Административные маршруты недоступны из этой сети' },
  USERNAME_TAKEN: { status: 409, title: 'Имя пользователя занято' },
  USER_CHANGE_NOT_FOUND: { status: 404, title: 'Ожидающее изменение не найдено' },
  USER_CHANGE_SELF_APPROVAL: { status: 409, title: 'Изменение одобряет другой администратор' },
  INTEGRATION_NOT_FOUND: { status: 404, title: 'Интеграция не найдена' },
  INTEGRATION_ROLE_FORBIDDEN: { status: 400, title: 'Интеграции нельзя дать роль admin' },
  FORBIDDEN: { status: 403, title: 'Недостаточно прав' },
  // Файлы и хранение
  FILE_NOT_FOUND: { status: 404, title: 'Файл не найден' },
  FILE_NAME_INVALID: { status: 400, title: 'Недопустимое имя файла' },
  FILE_ID_TAKEN: { status: 409, title: 'Файл с таким идентификатором уже есть' },
  TRANSFER_CHECKSUM_MISMATCH: { status: 422, title: 'Перенесённые байты не совпали с источником' },
  TRANSFER_NOT_PENDING: { status: 409, title: 'Файл на целевом SE не ждёт фиксации переноса' },
  TRANSFER_IN_PROGRESS: { status: 409, title: 'Файл уже переносится' },
  TRANSFER_SAME_ELEMENT: { status: 400, title: 'Файл уже на этом элементе хранения' },
  TRANSFER_ABORTED: { status: 502, title: 'Перенос не удался и отменён' },
  UPLOAD_EMPTY: { status: 400, title: 'В запросе нет файла' },
  UPLOAD_INCOMPLETE: { status: 400, title: 'Загрузка оборвалась до конца тела' },
  UPLOAD_LENGTH_MISMATCH: { status: 400, title: 'Размер тела не совпадает с заявленным' },
  CONTENT_ENCODING_BOMB: { status: 413, title: 'Распакованное тело несоразмерно сжатому (сжатая бомба)' },
  UNSUPPORTED_CONTENT_ENCODING: { status: 415, title: 'Кодирование тела запроса не поддерживается' },
  UPLOAD_SESSION_NOT_FOUND: { status: 404, title: 'Сессия возобновляемой загрузки не найдена' },
  UPLOAD_SESSION_EXPIRED: { status: 410, title: 'Срок сессии возобновляемой загрузки истёк' },
  UPLOAD_OFFSET_MISMATCH: { status: 409, title: 'Смещение куска не совпадает с принятым' },
  UPLOAD_CHECKSUM_MISMATCH: { status: 460, title: 'Контрольная сумма куска не совпадает' },
  UPLOAD_CHECKSUM_UNSUPPORTED: { status: 400, title: 'Алгоритм контрольной суммы не поддерживается' },
  UPLOAD_LENGTH_EXCEEDED: { status: 413, title: 'Кусок выходит за объявленную длину загрузки' },
  TUS_VERSION_UNSUPPORTED: { status: 412, title: 'Версия протокола tus не поддерживается' },
  NO_STORAGE_ELEMENT: { status: 503, title: 'Нет доступного элемента хранения' },
  INSUFFICIENT_STORAGE: { status: 507, title: 'Недостаточно места в хранилище' },
  MODE_FORBIDS_OPERATION: { status: 409, title: 'Режим элемента хранения запрещает операцию' },
  MODE_TRANSITION_FORBIDDEN: { status: 409, title: 'Такой переход режима элемента хранения запрещён' },
  FILE_ARCHIVED: { status: 409, title: 'Файл в архиве: байтов на элементе хранения нет' },
  ATTR_SIGNATURE_INVALID: { status: 409, title: 'Подпись записи о файле не сходится: запись повреждена или подделана' },
  RETENTION_ACTIVE: { status: 409, title: 'Срок хранения файла ещё не истёк' },
  STORAGE_WRITES_STOPPED: { status: 503, title: 'Элемент хранения прекратил приём записи после сбоя диска' },
  SE_NOT_MASTER: { status: 307, title: 'Запись принимает мастер элемента хранения' },
  SE_NO_MASTER: { status: 503, title: 'У элемента хранения сейчас нет мастера' },
  SE_WRITE_FENCED: { status: 503, title: 'Запись отвергнута: узел больше не мастер' },
  SE_NOT_REGISTERED: { status: 404, title: 'Элемент хранения не зарегистрирован' },
  SE_ALREADY_REGISTERED: { status: 409, title: 'Элемент хранения уже зарегистрирован' },
  SE_UNREACHABLE: { status: 422, title: 'Элемент хранения не отвечает по указанному адресу' },
  SE_ID_MISMATCH: { status: 422, title: 'По указанному адресу отвечает другой элемент хранения' },
  SE_MANAGED_BY_CONFIG: { status: 409, title: 'Элемент хранения объявлен в конфигурации' },
  BLOB_NOT_FOUND: { status: 404, title: 'Объект хранения не найден' },
  BLOB_KEY_INVALID: { status: 400, title: 'Недопустимый ключ объекта хранения' },
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'Запрошенный диапазон недостижим' },
  PRECONDITION_FAILED: { status: 412, title: 'Условие запроса не выполнено' },
  PRECONDITION_REQUIRED: { status: 428, title: 'Нужен заголовок If-Match с версией' },
  // Временные ссылки (SPEC QR-6)
  LINK_INVALID: { status: 401, title: 'Ссылка на скачивание недействительна' },
  LINK_EXPIRED: { status: 410, title: 'Срок ссылки на скачивание истёк' },
  LINK_USED: { status: 410, title: 'Одноразовая ссылка на скачивание уже использована' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorCatalog;

/** Базовый класс всех ошибок ArtStore: несёт стабильный code и HTTP-статус. */
export class ArtError extends Error {
  override readonly name = 'ArtError';
  readonly code: ErrorCode;
  readonly status: number;
  /** Дополнительные поля problem+json (например, цифры при 507). Не должны содержать секретов. */
  readonly extra: Record<string, unknown> | undefined;
  /** Заголовки ответа (например, Content-Range при 416). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options?: { cause?: unknown; extra?: Record<string, unknown>; headers?: Record<string, string> },
  ) {
    super(detail ?? errorCatalog[code].title, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = errorCatalog[code].status;
    this.extra = options?.extra;
    this.headers = options?.headers;
  }
}

export function isArtError(error: unknown, code?: ErrorCode): error is ArtError {
  return error instanceof ArtError && (code === undefined || error.code === code);
}

/** Тело RFC 9457 problem+json, которое видит клиент. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  request_id?: string;
  [key: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function problemFrom(error: ArtError, context: { instance?: string; requestId?: string } = {}): Problem {
  return {
    ...error.extra,
    type: `urn:artstore:error:${error.code}`,
    title: errorCatalog[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.message,
    ...(context.instance === undefined ? {} : { instance: context.instance }),
    ...(context.requestId === undefined ? {} : { request_id: context.requestId }),
  };
}
