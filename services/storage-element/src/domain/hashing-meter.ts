import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Пропускает байты насквозь, попутно считая sha256 и размер — без второго чтения файла. */
export class HashingMeter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
