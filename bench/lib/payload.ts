// Полезная нагрузка бенчмарка. Большой файл порождается потоком (в памяти не держится):
// AES-256-CTR от нулей с фиксированным ключом — детерминированно (хеш считается заранее, вне
// замера) и несжимаемо, так что будущее сжатие на SE не исказит цифры.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK = 1024 * 1024;
const KEY = Buffer.alloc(32, 0x5a);
const IV = Buffer.alloc(16, 0x17);

/** Поток из `size` псевдослучайных байтов; каждый вызов даёт одни и те же байты. */
export function payloadStream(size: number): Readable {
  const cipher = createCipheriv('aes-256-ctr', KEY, IV);
  const zeros = Buffer.alloc(CHUNK);
  let left = size;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK, left);
      left -= n;
      this.push(cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)));
    },
  });
}

/** sha256 того же потока — один проход до замера. */
export async function payloadSha256(size: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of payloadStream(size)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface SmallFile {
  name: string;
  bytes: Buffer;
  sha256: string;
}

/** Мелкие файлы: случайные байты в памяти (2 000 × 4 KiB = 8 MiB — это допустимо). */
export function smallFiles(count: number, size: number, prefix: string): SmallFile[] {
  return Array.from({ length: count }, (_, i) => {
    const bytes = randomBytes(size);
    return { name: `${prefix}-${String(i).padStart(5, '0')}.bin`, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  });
}
