// Размеры в конфигурации (SPEC SE-8: `1Gb`, `500GB`, `2TiB`). Правило как у Kubernetes:
// суффикс с «i» — двоичный (KiB = 1024), без «i» — десятичный (KB = 1000). Регистр и «b/B» не важны.

const units: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  p: 1e15,
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
  pi: 2 ** 50,
};

/** Разбирает '500GB', '2TiB', '1024' в байты; null — если строка не размер. */
export function parseSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]i?)?b?\s*$/i.exec(text);
  if (!match) return null;
  const multiplier = units[(match[2] ?? '').toLowerCase()];
  if (multiplier === undefined) return null;
  const bytes = Math.floor(Number(match[1]) * multiplier);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** Человекочитаемый размер для сообщений: 1.5 GiB. */
export function formatSize(bytes: number): string {
  const steps = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let step = 0;
  while (value >= 1024 && step < steps.length - 1) {
    value /= 1024;
    step++;
  }
  return `${step === 0 ? value : value.toFixed(1)} ${steps[step]}`;
}
