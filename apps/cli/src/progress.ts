// Индикатор передачи (SPEC X-10): поток-счётчик байтов; полоса рисуется в stderr, только если это терминал.
import { Transform, type TransformCallback } from 'node:stream';
import { SingleBar, Presets } from 'cli-progress';

export function progressMeter(label: string, total: number | undefined): Transform & { finish(): void } {
  const bar = process.stderr.isTTY
    ? new SingleBar(
        { format: `${label} [{bar}] {percentage}% | {value}/{total} байт | {speed}`, hideCursor: true, stream: process.stderr },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(total ?? 0, 0, { speed: '' });
  const started = performance.now();
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      bytes += chunk.length;
      const seconds = (performance.now() - started) / 1000;
      bar?.update(bytes, { speed: seconds > 0 ? `${(bytes / 2 ** 20 / seconds).toFixed(1)} МиБ/с` : '' });
      callback(null, chunk);
    },
  });
  return Object.assign(meter, {
    finish() {
      if (total === undefined) bar?.setTotal(bytes);
      bar?.stop();
    },
  });
}
