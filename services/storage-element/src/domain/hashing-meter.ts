import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Пропускает байты насквозь, попутно считая sha256 и размер — без второго чтения файла.
 * admit(total) — необязательная проверка перед пропуском очередного куска (рост резерва места):
 * её отказ разрушает поток с этой ошибкой.
 */
export class HashingMeter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly admit?: (total: number) => Promise<void>) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.admit === undefined) {
      callback(null, chunk);
      return;
    }
    this.admit(this.bytes).then(
      () => callback(null, chunk),
      (error: unknown) => callback(error as Error),
    );
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
