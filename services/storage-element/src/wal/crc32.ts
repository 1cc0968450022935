// CRC-32 (IEEE 802.3, полином 0xEDB88320 в отражённой форме) для кадров WAL (SPEC SE-3).
// zlib.crc32 есть только с Node 20.15 / 22.2, а engines допускает и 22.0–22.1; своя таблица на 256
// элементов проще, чем два пути кода, и для коротких записей WAL по скорости её достаточно.

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 байтов (строка берётся в UTF-8). Результат — беззнаковое 32-битное число. */
export function crc32(data: Uint8Array | string): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
