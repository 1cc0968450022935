// Проверка ответа-ошибки в тестах: problem+json (RFC 9457, SPEC §9) с ожидаемым статусом и кодом.
import assert from 'node:assert/strict';

/** Тело problem+json, как его видит тест: гарантированы только проверенные поля. */
export interface ReceivedProblem {
  type: string;
  status: number;
  code: string;
  detail?: string;
  [key: string]: unknown;
}

/** Необязательные проверки — какие включить, решает набор тестов (поведение прежних помощников сохранено). */
export interface ProblemChecks {
  /** type равен urn:artstore:error:<code>. */
  type?: boolean;
  /** detail — строка. */
  detail?: boolean;
}

/**
 * Ответ — problem+json с этим статусом и кодом (или одним из кодов), без стека в теле. Всегда
 * проверяются статус ответа, content-type, code, поле status и отсутствие стека; type и detail — по checks.
 */
export async function expectProblem(
  response: Response,
  status: number,
  code: string | readonly string[],
  checks: ProblemChecks = {},
): Promise<ReceivedProblem> {
  const text = await response.text();
  const codes: readonly string[] = typeof code === 'string' ? [code] : code;
  assert.equal(response.status, status, `ожидался ${status} ${codes.join('|')}, получено ${response.status}: ${text}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = JSON.parse(text) as ReceivedProblem;
  if (typeof code === 'string') assert.equal(problem.code, code, text);
  else assert.ok(codes.includes(problem.code), text);
  assert.equal(problem.status, status);
  if (checks.type) assert.equal(problem.type, `urn:artstore:error:${problem.code}`);
  if (checks.detail) assert.equal(typeof problem.detail, 'string');
  assert.ok(!text.includes('    at '), 'в ответе не должно быть стека');
  return problem;
}

/** expectProblem с постоянным набором проверок — для помощников одного набора тестов. */
export function expectProblemWith(
  checks: ProblemChecks,
): (response: Response, status: number, code: string | readonly string[]) => Promise<ReceivedProblem> {
  return (response, status, code) => expectProblem(response, status, code, checks);
}
