// Текст README в корне SE (SPEC BY-1): как устроены данные и как их восстановить без ArtStore.
export function layoutReadme(elementId: string): string {
  return `# Элемент хранения ArtStore «${elementId}»

Этот каталог — полная копия данных элемента хранения. Базы данных ArtStore — только кеши: всё,
что нужно, чтобы понять и восстановить файлы, лежит здесь.

## Раскладка

- \`YYYY/MM/DD/HH/<имя>_<id><.расширение>\` — байты файла (UTC-время загрузки; id — UUIDv7).
- \`<тот же путь>.attr.json\` — метаданные файла, единственный источник истины: исходное имя,
  тип содержимого, размер и sha256 исходных байтов, кодирование хранения, даты, авторы, срок
  хранения, статус (active / deleted / transferred), метаданные пользователя, версия, векторные часы.
- \`artstore_layout.json\` — формат раскладки, схема attr и открытые ключи подписи attr.
- \`0=artstore_se_1.0\` — маркер формата.
- \`.artstore/\` — служебное состояние (журнал WAL, временные файлы, \`uploads/\` — части незавершённых
  возобновляемых загрузок); для восстановления не нужно.

## Проверка подлинности attr

Поле \`integrity\` — подпись Ed25519 (\`alg\`, \`key_id\`, \`signature\` в base64url) над каноническим
JSON всех остальных полей attr (ключи по возрастанию, без пробелов, RFC 8785). Открытый ключ с тем
же \`key_id\` — в \`artstore_layout.json\` (\`signing_keys\`, SPKI PEM). Проверка, например:

    node -e "…crypto.verify(null, canonical, publicKey, Buffer.from(signature, 'base64url'))"

Контрольная сумма байтов — поле \`sha256\` (или \`stored.sha256\` для хранимого кодирования).

---

# ArtStore storage element «${elementId}» (English)

Data files live under \`YYYY/MM/DD/HH/\`; each has a sidecar \`<file>.attr.json\` that is the single
source of truth for its metadata (schema \`artstore.attr/v1\`), signed with Ed25519 over canonical JSON
(RFC 8785) of all fields except \`integrity\`; public keys are in \`artstore_layout.json\`. Databases
are caches rebuilt from these files.
`;
}
