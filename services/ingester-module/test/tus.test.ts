// Соответствие tus 1.0 (SPEC IN-1, §9 `/api/uploads…`): core protocol и расширения creation,
// termination, checksum, expiration — через настоящий ingester и настоящий SE.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { captureAuditEvents, type CapturedAuditEvents } from '@artstore/core/testing';
import { parseUploadMetadata } from '../src/domain/tus-uploads.js';
import { ELEMENT_ID, expectProblem, fetchFromSe, startIngesterStack, type IngesterStack } from './harness.js';

const TUS = { 'tus-resumable': '1.0.0' };
const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Client {
  url: string;
  token: string;
}

async function create(
  client: Client,
  length: number,
  metadata = `filename ${b64('кадр.bin')},filetype ${b64('image/x-test')}`,
): Promise<string> {
  const response = await fetch(`${client.url}/api/uploads`, {
    method: 'POST',
    headers: {
      ...TUS,
      authorization: `Bearer ${client.token}`,
      'upload-length': String(length),
      'upload-metadata': metadata,
    },
  });
  assert.equal(response.status, 201, await response.text());
  assert.equal(response.headers.get('tus-resumable'), '1.0.0');
  assert.ok(!Number.isNaN(Date.parse(response.headers.get('upload-expires') ?? '')));
  const location = response.headers.get('location')!;
  assert.match(location, /^\/api\/uploads\/[A-Za-z0-9_-]+$/);
  return `${client.url}${location}`;
}

function patch(
  client: Client,
  url: string,
  offset: number,
  body: Buffer,
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'PATCH',
    headers: {
      ...TUS,
      authorization: `Bearer ${client.token}`,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      ...extra,
    },
    body,
  });
}

async function head(client: Client, url: string): Promise<Response> {
  return fetch(url, { method: 'HEAD', headers: { ...TUS, authorization: `Bearer ${client.token}` } });
}

async function offsetOf(client: Client, url: string): Promise<number> {
  const response = await head(client, url);
  assert.equal(response.status, 200);
  return Number(response.headers.get('upload-offset'));
}

/** Сырой HTTP-запрос: заголовок с переводом строки не отправить через fetch. */
function rawRequest(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(text));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

describe('tus 1.0: разбор Upload-Metadata', () => {
  it('пары ключ–base64; CR/LF, неверный base64, повтор ключа — 400', () => {
    assert.deepEqual(
      [...parseUploadMetadata(`filename ${b64('отчёт.pdf')},is_confidential`)],
      [
        ['filename', 'отчёт.pdf'],
        ['is_confidential', ''],
      ],
    );
    for (const bad of [
      `filename ${b64('a')}\r\nx`,
      `filename ${b64('a')}\n`,
      'filename @@@',
      'filename YWJ',
      `a ${b64('1')},a ${b64('2')}`,
      ' ',
    ]) {
      assert.throws(() => parseUploadMetadata(bad), { code: 'VALIDATION_FAILED' }, JSON.stringify(bad));
    }
  });
});

describe('tus 1.0 через ingester', () => {
  let stack: IngesterStack;
  let alice: Client;
  let bob: Client;
  let admin: Client;
  let audit: CapturedAuditEvents;

  before(async () => {
    stack = await startIngesterStack();
    audit = captureAuditEvents(stack.jobs);
    const url = stack.ingesterUrl;
    alice = { url, token: await stack.issuer.mint({ name: 'alice', roles: ['uploader'] }) };
    bob = { url, token: await stack.issuer.mint({ name: 'bob', roles: ['uploader'] }) };
    admin = { url, token: stack.adminToken };
  });
  after(async () => {
    await audit.close();
    await stack.close();
  });

  it('OPTIONS — версия, расширения, алгоритмы контрольных сумм', async () => {
    const response = await fetch(`${stack.ingesterUrl}/api/uploads`, { method: 'OPTIONS' });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('tus-version'), '1.0.0');
    assert.equal(response.headers.get('tus-resumable'), '1.0.0');
    assert.equal(response.headers.get('tus-extension'), 'creation,termination,checksum,expiration');
    assert.equal(response.headers.get('tus-checksum-algorithm'), 'sha256,sha1,md5');
  });

  it('без Tus-Resumable 1.0.0 — 412 с Tus-Version, запрос не выполнен', async () => {
    const url = await create(alice, 10);
    for (const version of [undefined, '0.2.2']) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${alice.token}`,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': '0',
      };
      if (version !== undefined) headers['tus-resumable'] = version;
      const response = await fetch(url, { method: 'PATCH', headers, body: Buffer.from('abc') });
      assert.equal(response.headers.get('tus-version'), '1.0.0');
      await expectProblem(response, 412, 'TUS_VERSION_UNSUPPORTED');
    }
    assert.equal(await offsetOf(alice, url), 0);
    const before = (
      (await (
        await fetch(`${stack.seUrl}/api/uploads`, { headers: { authorization: `Bearer ${admin.token}` } })
      ).json()) as { sessions: unknown[] }
    ).sessions.length;
    const refused = await fetch(`${stack.ingesterUrl}/api/uploads`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice.token}`,
        'upload-length': '5',
        'upload-metadata': `filename ${b64('x')}`,
      },
    });
    await expectProblem(refused, 412, 'TUS_VERSION_UNSUPPORTED');
    const afterCount = (
      (await (
        await fetch(`${stack.seUrl}/api/uploads`, { headers: { authorization: `Bearer ${admin.token}` } })
      ).json()) as { sessions: unknown[] }
    ).sessions.length;
    assert.equal(afterCount, before, 'сессия не создана');
  });

  it('создание, HEAD, куски; последний кусок — Artstore-File-Id, GET — file_id, байты на SE, аудит', async () => {
    const bytes = randomBytes(700_000);
    const url = await create(alice, bytes.length);
    const first = await head(alice, url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('upload-offset'), '0');
    assert.equal(first.headers.get('upload-length'), String(bytes.length));
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.equal(first.headers.get('tus-resumable'), '1.0.0');
    const part = await patch(alice, url, 0, bytes.subarray(0, 300_000));
    assert.equal(part.status, 204, await part.text());
    assert.equal(part.headers.get('upload-offset'), '300000');
    assert.ok(
      !Number.isNaN(Date.parse(part.headers.get('upload-expires') ?? '')),
      'Upload-Expires в ответе PATCH',
    );
    assert.equal(part.headers.get('artstore-file-id'), null);
    const state = (await (
      await fetch(url, { headers: { ...TUS, authorization: `Bearer ${alice.token}` } })
    ).json()) as Record<string, unknown>;
    assert.deepEqual(
      { ...state, expires_at: undefined },
      { offset: 300_000, length: bytes.length, expires_at: undefined, file_id: null },
    );
    assert.ok(
      Math.abs(Date.parse(String(state.expires_at)) - Date.parse(part.headers.get('upload-expires')!)) < 1000,
    );
    const last = await patch(alice, url, 300_000, bytes.subarray(300_000), {
      'upload-checksum': `sha256 ${createHash('sha256').update(bytes.subarray(300_000)).digest('base64')}`,
    });
    assert.equal(last.status, 204, await last.text());
    assert.equal(last.headers.get('upload-offset'), String(bytes.length));
    const fileId = last.headers.get('artstore-file-id');
    assert.ok(fileId);
    const status = (await (
      await fetch(url, { headers: { ...TUS, authorization: `Bearer ${alice.token}` } })
    ).json()) as { file_id: string };
    assert.equal(status.file_id, fileId);
    const stored = await fetchFromSe(stack, fileId);
    assert.equal(stored.record.sha256, sha256(bytes));
    assert.equal(stored.record.name, 'кадр.bin');
    assert.equal(stored.record.content_type, 'image/x-test');
    const event = await audit.waitFor(
      'file.upload от ingester',
      (e) => e.service === 'ingester-module' && e.target === fileId,
    );
    assert.equal(event.action, 'file.upload');
    assert.equal(event.actor.username, 'alice');
    assert.equal(event.details.storage_element, ELEMENT_ID);
  });

  it('неверный Upload-Offset — 409, смещение прежнее', async () => {
    const url = await create(alice, 100);
    assert.equal((await patch(alice, url, 0, Buffer.from('0123456789'))).status, 204);
    await expectProblem(await patch(alice, url, 5, Buffer.from('xx')), 409, 'UPLOAD_OFFSET_MISMATCH');
    await expectProblem(await patch(alice, url, 11, Buffer.from('xx')), 409, 'UPLOAD_OFFSET_MISMATCH');
    assert.equal(await offsetOf(alice, url), 10);
  });

  it('PATCH не с application/offset+octet-stream — 415', async () => {
    const url = await create(alice, 10);
    const response = await patch(alice, url, 0, Buffer.from('abc'), {
      'content-type': 'application/octet-stream',
    });
    await expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(await offsetOf(alice, url), 0);
  });

  it('неверная контрольная сумма — 460, неизвестный алгоритм — 400; смещение прежнее в обоих случаях', async () => {
    const url = await create(alice, 10);
    const sum = createHash('sha1').update('other').digest('base64');
    await expectProblem(
      await patch(alice, url, 0, Buffer.from('abcde'), { 'upload-checksum': `sha1 ${sum}` }),
      460,
      'UPLOAD_CHECKSUM_MISMATCH',
    );
    await expectProblem(
      await patch(alice, url, 0, Buffer.from('abcde'), { 'upload-checksum': 'crc32 AAAAAA==' }),
      400,
      'UPLOAD_CHECKSUM_UNSUPPORTED',
    );
    assert.equal(await offsetOf(alice, url), 0);
    const ok = createHash('md5').update('abcde').digest('base64');
    assert.equal(
      (await patch(alice, url, 0, Buffer.from('abcde'), { 'upload-checksum': `md5 ${ok}` })).status,
      204,
    );
    assert.equal(await offsetOf(alice, url), 5);
  });

  it('DELETE — 204, затем 404', async () => {
    const url = await create(alice, 10);
    const deleted = await fetch(url, {
      method: 'DELETE',
      headers: { ...TUS, authorization: `Bearer ${alice.token}` },
    });
    assert.equal(deleted.status, 204);
    assert.equal((await head(alice, url)).status, 404);
    await expectProblem(await patch(alice, url, 0, Buffer.from('a')), 404, 'UPLOAD_SESSION_NOT_FOUND');
  });

  it('два PATCH с одним смещением одновременно: ровно один принят, байты не перемешаны', async () => {
    const size = 3 * 1024 * 1024;
    const a = Buffer.alloc(size, 0x61);
    const b = Buffer.alloc(size, 0x62);
    const tail = randomBytes(1000);
    const url = await create(alice, size + tail.length);
    const [ra, rb] = await Promise.all([patch(alice, url, 0, a), patch(alice, url, 0, b)]);
    assert.deepEqual([ra.status, rb.status].sort(), [204, 409], `${await ra.text()} ${await rb.text()}`);
    assert.equal(await offsetOf(alice, url), size);
    const last = await patch(alice, url, size, tail);
    assert.equal(last.status, 204);
    const { bytes } = await fetchFromSe(stack, last.headers.get('artstore-file-id')!);
    assert.equal(sha256(bytes), sha256(Buffer.concat([ra.status === 204 ? a : b, tail])));
  });

  it('Upload-Metadata с неверным base64, повтором ключа или переводом строки — 400; Upload-Defer-Length — 400', async () => {
    for (const metadata of ['filename !!!', `filename ${b64('a')},filename ${b64('b')}`]) {
      const response = await fetch(`${stack.ingesterUrl}/api/uploads`, {
        method: 'POST',
        headers: {
          ...TUS,
          authorization: `Bearer ${alice.token}`,
          'upload-length': '5',
          'upload-metadata': metadata,
        },
      });
      await expectProblem(response, 400, 'VALIDATION_FAILED');
    }
    const crlf = await rawRequest(
      stack.ingesterUrl,
      `POST /api/uploads HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer ${alice.token}\r\nUpload-Length: 5\r\n` +
        `Upload-Metadata: filename ${b64('a')}\rfiletype ${b64('b')}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    assert.match(crlf, /^HTTP\/1\.1 400 /);
    const deferred = await fetch(`${stack.ingesterUrl}/api/uploads`, {
      method: 'POST',
      headers: {
        ...TUS,
        authorization: `Bearer ${alice.token}`,
        'upload-defer-length': '1',
        'upload-metadata': `filename ${b64('a')}`,
      },
    });
    await expectProblem(deferred, 400, 'VALIDATION_FAILED');
  });

  it('чужая загрузка — 404; администратор видит все загрузки и прерывает любую', async () => {
    const url = await create(alice, 50);
    assert.equal((await head(bob, url)).status, 404);
    await expectProblem(await patch(bob, url, 0, Buffer.from('a')), 404, 'UPLOAD_SESSION_NOT_FOUND');
    await expectProblem(
      await fetch(`${stack.ingesterUrl}/api/uploads`, {
        headers: { ...TUS, authorization: `Bearer ${alice.token}` },
      }),
      403,
      'FORBIDDEN',
    );
    const list = (await (
      await fetch(`${stack.ingesterUrl}/api/uploads`, {
        headers: { ...TUS, authorization: `Bearer ${admin.token}` },
      })
    ).json()) as {
      storage_elements: {
        storage_element: string;
        available: boolean;
        uploads: { token: string; owner: string }[];
      }[];
    };
    const token = url.split('/').at(-1);
    const se = list.storage_elements.find((e) => e.storage_element === ELEMENT_ID)!;
    assert.equal(se.available, true);
    assert.ok(se.uploads.some((u) => u.token === token && u.owner === 'alice'));
    assert.equal(
      (await fetch(url, { method: 'DELETE', headers: { ...TUS, authorization: `Bearer ${admin.token}` } }))
        .status,
      204,
    );
    assert.equal((await head(alice, url)).status, 404);
    await expectProblem(
      await fetch(`${stack.ingesterUrl}/api/uploads/bm90LWEtdG9rZW4`, {
        headers: { ...TUS, authorization: `Bearer ${alice.token}` },
      }),
      404,
      'UPLOAD_SESSION_NOT_FOUND',
    );
  });
});

describe('tus 1.0: истечение', () => {
  let stack: IngesterStack;
  before(async () => {
    stack = await startIngesterStack({ storage: { uploads: { expiration: 1500, sweep_interval: '1h' } } });
  });
  after(() => stack.close());

  it('истёкшая загрузка — 410 на HEAD и PATCH', async () => {
    const alice = {
      url: stack.ingesterUrl,
      token: await stack.issuer.mint({ name: 'alice', roles: ['uploader'] }),
    };
    const url = await create(alice, 10);
    const part = await patch(alice, url, 0, Buffer.from('abc'));
    assert.equal(part.status, 204);
    const expiresAt = Date.parse(part.headers.get('upload-expires')!);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 1100));
    assert.equal((await head(alice, url)).status, 410);
    await expectProblem(await patch(alice, url, 3, Buffer.from('d')), 410, 'UPLOAD_SESSION_EXPIRED');
  });
});
