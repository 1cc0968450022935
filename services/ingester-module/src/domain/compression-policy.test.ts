import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@artstore/core';
import { DEFAULT_ENCODING_LEVELS as DEFAULT_LEVELS } from '@artstore/contracts';
import { createCompressionPolicy } from './compression-policy.js';

function policy(compression: Record<string, unknown> = {}) {
  return createCompressionPolicy(
    loadConfig({ env: {}, overrides: { ingester: { compression } } }).ingester.compression,
  );
}

const BR = { encoding: 'br', level: DEFAULT_LEVELS.br };

describe('политика сжатия (SPEC IN-3)', () => {
  it('по умолчанию сжимает текст, JSON, XML, SVG, BMP и старые форматы Office', () => {
    const p = policy();
    for (const type of [
      'text/plain',
      'Text/CSV; charset=UTF-8',
      'text/html',
      'application/json',
      'application/ld+json',
      'application/vnd.api+json',
      'application/xml',
      'application/atom+xml',
      'image/svg+xml',
      'image/bmp',
      'application/javascript',
      'application/x-ndjson',
      'application/rtf',
      'application/msword',
      'application/vnd.ms-excel',
      'application/vnd.ms-powerpoint',
    ]) {
      assert.deepEqual(p.choose(type, 10_000), BR, type);
    }
  });

  it('никогда не сжимает уже сжатое, OOXML/ODF (это zip), PDF, медиа и octet-stream', () => {
    const p = policy();
    for (const type of [
      'application/zip',
      'application/gzip',
      'application/x-bzip2',
      'application/x-xz',
      'application/zstd',
      'application/x-7z-compressed',
      'application/vnd.rar',
      'application/epub+zip',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'application/vnd.oasis.opendocument.text',
      'application/pdf',
      'image/jpeg',
      'image/png',
      'image/gif',
      'image/webp',
      'image/avif',
      'image/heic',
      'audio/mpeg',
      'video/mp4',
      'application/octet-stream',
      'application/x-unknown-thing',
      'not a media type',
      '',
    ]) {
      assert.equal(p.choose(type, 10_000), undefined, type);
    }
  });

  it('never сильнее compress: тип из обоих списков не сжимается', () => {
    const p = policy({ compress: ['text/*', 'application/*'], never: ['application/pdf'] });
    assert.deepEqual(p.choose('application/x-custom', 5000), BR);
    assert.equal(p.choose('application/pdf', 5000), undefined);
  });

  it('меньше min_size по заявленной длине — как есть; длина неизвестна — решает тип', () => {
    const p = policy({ min_size: '4KiB' });
    assert.equal(p.choose('text/plain', 4095), undefined);
    assert.deepEqual(p.choose('text/plain', 4096), BR);
    assert.deepEqual(p.choose('text/plain', undefined), BR);
  });

  it('алгоритм и уровень из настроек; выключено — всё как есть', () => {
    assert.deepEqual(policy({ algorithm: 'gzip' }).choose('text/plain', 5000), {
      encoding: 'gzip',
      level: DEFAULT_LEVELS.gzip,
    });
    assert.deepEqual(policy({ algorithm: 'br', level: 9 }).choose('text/plain', 5000), {
      encoding: 'br',
      level: 9,
    });
    assert.equal(policy({ enabled: false }).choose('text/plain', 5000), undefined);
  });

  it('уровень вне диапазона gzip и неизвестный алгоритм — ошибка конфигурации', () => {
    assert.throws(() => policy({ algorithm: 'gzip', level: 11 }), /level/);
    assert.throws(() => policy({ algorithm: 'zstd' }));
  });
});
