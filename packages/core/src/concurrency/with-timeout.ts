// Ожидание с пределом: зависшая зависимость (проверка готовности, хранилище ограничения частоты)
// превращается в отказ через ms, а не в зависший запрос. Сам промис не отменяется.
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: нет ответа за ${ms} мс`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
