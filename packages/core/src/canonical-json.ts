// Каноническая сериализация JSON для подписей и хешей (attr SE — SPEC SE-2, цепочка аудита — AD-9):
// ключи объектов по возрастанию кодовых единиц UTF-16, без пробелов. Для наших данных (строки, целые
// числа, null, массивы, объекты) совпадает с RFC 8785 (JCS); дробных чисел там нет.
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('Каноническому JSON не подходит ' + String(value));
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
