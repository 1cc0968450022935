// Длительности в конфигурации (интервалы обслуживания SE, SPEC SE-6, BY-7): `500ms`, `30s`, `15m`,
// `6h`, `7d` или целое число миллисекунд. Календарные сроки (`5y` хранения) — не здесь: год не
// равен фиксированному числу миллисекунд, их считает retention.

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Разбирает '30s', '6h', '1500' в миллисекунды; null — если строка не длительность. */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match) return null;
  const ms = Math.round(Number(match[1]) * units[(match[2] ?? 'ms').toLowerCase()]!);
  return Number.isSafeInteger(ms) ? ms : null;
}
