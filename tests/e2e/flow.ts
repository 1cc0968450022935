// Сквозной сценарий (issue «Foundation», п. 6): вход → смена пароля → загрузка «Отчёт о проверке.pdf»
// → поиск → выдача → побайтовое сравнение; плюс плохой ввод — ясный problem+json со стабильным кодом.
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { expectProblemWith } from '@artstore/core/testing';
import { generate } from 'otplib';

export interface Session {
  token: string;
}

export const FILE_NAME = 'Отчёт о проверке.pdf';

export async function api(base: string, path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  return fetch(`${base}${path}`, { ...init, headers });
}

/** Ответы системы через шлюз — problem+json со строковым detail; type здесь не проверяется. */
const expectProblem = expectProblemWith({ detail: true });

/**
 * Вход первого администратора, обязательная смена пароля и подключение двухфакторной аутентификации
 * (роль admin требует её, SPEC AD-6). Возвращает рабочий токен.
 */
export async function loginAndChangePassword(base: string, initialPassword: string): Promise<Session> {
  const login = await api(base, '/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: initialPassword }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const first = (await login.json()) as { access_token: string; password_change_required: boolean };
  assert.equal(first.password_change_required, true);

  // До смены пароля всё прочее запрещено (SPEC §9).
  await expectProblem(await api(base, '/api/search?q=x', { token: first.access_token }), 403, 'PASSWORD_CHANGE_REQUIRED');

  const weak = await api(base, '/api/users/me/password', {
    method: 'POST',
    token: first.access_token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ current_password: initialPassword, new_password: 'short' }),
  });
  await expectProblem(weak, 400, 'PASSWORD_POLICY_VIOLATION');

  const changed = await api(base, '/api/users/me/password', {
    method: 'POST',
    token: first.access_token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ current_password: initialPassword, new_password: 'Надёжный пароль 2026!' }),
  });
  assert.equal(changed.status, 200, await changed.clone().text());
  const second = (await changed.json()) as { access_token: string; password_change_required: boolean; mfa_enrolment_required: boolean };
  assert.equal(second.password_change_required, false);
  assert.equal(second.mfa_enrolment_required, true);

  // До подключения MFA всё прочее запрещено — в любом сервисе, не только в admin-module.
  await expectProblem(await api(base, '/api/search?q=x', { token: second.access_token }), 403, 'MFA_ENROLMENT_REQUIRED');
  const enrol = await api(base, '/api/auth/mfa/enrol', { method: 'POST', token: second.access_token });
  assert.equal(enrol.status, 200, await enrol.clone().text());
  const { secret } = (await enrol.json()) as { secret: string };
  const confirmed = await api(base, '/api/auth/mfa/confirm', {
    method: 'POST',
    token: second.access_token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: await generate({ secret }) }),
  });
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  const third = (await confirmed.json()) as { access_token: string; mfa_enrolment_required: boolean; recovery_codes: string[] };
  assert.equal(third.mfa_enrolment_required, false);
  assert.equal(third.recovery_codes.length, 10);
  return { token: third.access_token };
}

export async function uploadSearchDownload(base: string, session: Session): Promise<{ id: string; bytes: Buffer }> {
  const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3 * 1024 * 1024 + 17)]);
  const form = new FormData();
  form.append('description', 'Архивные документы предприятия');
  form.append('tags', 'проверка,2026');
  form.append('file', new Blob([bytes], { type: 'application/pdf' }), FILE_NAME);
  const upload = await api(base, '/api/files', { method: 'POST', token: session.token, body: form });
  assert.equal(upload.status, 201, await upload.clone().text());
  const { files } = (await upload.json()) as { files: { id: string; name: string; sha256: string; size: number; consistency_token: string; metadata: { tags: string[] } }[] };
  assert.equal(files.length, 1);
  const [file] = files as [(typeof files)[number]];
  assert.equal(file.name, FILE_NAME);
  assert.equal(file.size, bytes.length);
  assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.deepEqual(file.metadata.tags, ['проверка', '2026']);

  const search = await api(base, `/api/search?q=${encodeURIComponent('Отчёт')}&consistency_token=${encodeURIComponent(file.consistency_token)}`, {
    token: session.token,
  });
  assert.equal(search.status, 200, await search.clone().text());
  const found = (await search.json()) as { items: { id: string }[]; total: number };
  assert.ok(found.items.some((item) => item.id === file.id), `поиск не нашёл файл: ${JSON.stringify(found)}`);

  const download = await api(base, `/api/files/${file.id}/content`, { token: session.token });
  assert.equal(download.status, 200);
  assert.equal(download.headers.get('etag'), `"${file.sha256}"`);
  const disposition = download.headers.get('content-disposition') ?? '';
  assert.ok(disposition.includes(`filename*=UTF-8''${encodeURIComponent(FILE_NAME)}`), disposition);
  const received = Buffer.from(await download.arrayBuffer());
  assert.ok(received.equals(bytes), 'скачанные байты отличаются от загруженных');

  const range = await api(base, `/api/files/${file.id}/content`, { token: session.token, headers: { range: 'bytes=0-8' } });
  assert.equal(range.status, 206);
  assert.equal(await range.text(), '%PDF-1.7\n');
  return { id: file.id, bytes };
}

/** Плохой ввод: каждый случай — ясный problem+json со стабильным кодом, ничего не записано. */
export async function badInput(base: string, session: Session): Promise<void> {
  await expectProblem(await api(base, '/api/no-such-route'), 404, 'NOT_FOUND');
  await expectProblem(
    await api(base, '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username": "admin",' }),
    400,
    'MALFORMED_JSON',
  );
  await expectProblem(await api(base, '/api/search?q=x'), 401, 'AUTH_TOKEN_MISSING');
  const [header, payload] = session.token.split('.');
  const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), roles: ['admin', 'x'] })).toString('base64url');
  await expectProblem(await api(base, '/api/search?q=x', { token: `${header}.${forgedPayload}.${session.token.split('.')[2]}` }), 401, 'AUTH_TOKEN_INVALID');
  const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'x' })).toString('base64url');
  await expectProblem(await api(base, '/api/search?q=x', { token: `${noneHeader}.${payload}.` }), 401, 'AUTH_TOKEN_INVALID');
  await expectProblem(await api(base, '/api/search?q=x', { headers: { 'x-big': 'a'.repeat(64 * 1024) } }), 431, 'HEADERS_TOO_LARGE');
  await expectProblem(
    await api(base, `/api/files?name=${encodeURIComponent('../../etc/passwd')}`, { method: 'POST', token: session.token, body: 'x' }),
    400,
    'FILE_NAME_INVALID',
  );
  const form = new FormData();
  form.append('file', new Blob(['x']), '..\\..\\evil.txt');
  await expectProblem(await api(base, '/api/files', { method: 'POST', token: session.token, body: form }), 400, 'FILE_NAME_INVALID');
  await expectProblem(await api(base, '/api/files/not-a-uuid', { token: session.token }), 400, 'VALIDATION_FAILED');
  await expectProblem(await api(base, '/api/files/0190a1b2-0000-7000-8000-000000000000', { token: session.token }), 404, 'FILE_NOT_FOUND');
}
