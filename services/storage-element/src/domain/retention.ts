// Срок хранения (SPEC SE-9): дата, до которой файл нельзя удалить, считается от даты загрузки.
// Годы — календарные (29 февраля + 1 год = 1 марта), в UTC.
export function retentionUntil(policy: string, from: Date): string | null {
  if (policy === 'permanent') return null;
  const match = /^(\d{1,4})([dy])$/.exec(policy);
  if (!match) throw new Error(`Неизвестный срок хранения «${policy}»`);
  const amount = Number(match[1]);
  const until = new Date(from.getTime());
  if (match[2] === 'y') until.setUTCFullYear(until.getUTCFullYear() + amount);
  else until.setUTCDate(until.getUTCDate() + amount);
  return until.toISOString();
}
