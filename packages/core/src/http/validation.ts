// Проверка запросов по JSON-схемам маршрутов. Тело проверяется строго: лишние поля — ошибка
// (additionalProperties: false действительно отклоняет, а не молча выбрасывает), типы не приводятся
// (password: 42 — не строка). Строка запроса, параметры пути и заголовки приходят строками,
// поэтому для них приведение типов включено (limit=20 → 20).
import { Ajv, type Options } from 'ajv';
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';

const common: Options = { allErrors: false, strict: false, useDefaults: true, removeAdditional: false };
const strictBody = new Ajv({ ...common, coerceTypes: false });
const coercing = new Ajv({ ...common, coerceTypes: 'array' });

export const validatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strictBody : coercing).compile(schema as object);
