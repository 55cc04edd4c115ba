import { Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import Fastify from 'fastify';
import { describe, expect, it, test } from 'vitest';
import { installErrorHandler, isMalformedMultipart, validationMessage } from './error-handler.js';

/** Runs the multipart parser Fastify uses over a body; resolves to its error, if any. */
function parse(contentType: string, body: string): Promise<Error | null> {
  return new Promise((resolve) => {
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = new Busboy({ headers: { 'content-type': contentType } });
    } catch (error) {
      resolve(error as Error);
      return;
    }
    parser.on('file', (_field: string, file: Readable) => {
      file.on('error', resolve);
      file.resume();
    });
    parser.on('error', resolve);
    parser.on('finish', () => {
      resolve(null);
    });
    Readable.from([Buffer.from(body)]).pipe(parser);
  });
}

describe('busboy errors are recognised as mistakes of the sender', () => {
  test.each([
    ['no boundary', 'multipart/form-data', 'xx'],
    ['a boundary over 256 characters', `multipart/form-data; boundary=${'b'.repeat(300)}`, 'x'],
    [
      'a body cut inside a part',
      'multipart/form-data; boundary=b0',
      '--b0\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nxxxx',
    ],
  ])('%s', async (_name, contentType, body) => {
    const error = await parse(contentType, body);
    expect(error).toBeInstanceOf(Error);
    expect(isMalformedMultipart(error as Error)).toBe(true);
  });

  test('other errors are not', () => {
    expect(isMalformedMultipart(new Error('disk full'))).toBe(false);
    const coded = Object.assign(new Error('Multipart: Boundary not found'), { code: 'EIO' });
    expect(isMalformedMultipart(coded)).toBe(false);
  });
});

describe('validationMessage', () => {
  it('shows our own sentences as they are, without internals', () => {
    expect(validationMessage([{ instancePath: '/title', message: 'A title is required.' }])).toBe(
      'A title is required.',
    );
  });

  it('names the field of a generic validator message', () => {
    expect(
      validationMessage([{ instancePath: '/votingSeconds', message: 'Too small: expected >=1' }]),
    ).toBe('The field "votingSeconds" is not valid: Too small: expected >=1.');
  });

  it('says each thing once', () => {
    const twice = { instancePath: '/name', message: 'A name is required.' };
    expect(validationMessage([twice, twice])).toBe('A name is required.');
  });
});

describe('a write refused for lack of space', () => {
  test.each([
    [
      'the file system',
      Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }),
    ],
    ['SQLite', Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })],
    ['PostgreSQL', Object.assign(new Error('could not extend file'), { code: '53100' })],
    [
      'an error it caused',
      new Error('upload failed', { cause: Object.assign(new Error('x'), { code: 'ENOSPC' }) }),
    ],
  ])('by %s is a 507 that says so', async (_name, error) => {
    const app = Fastify({ logger: false });
    installErrorHandler(app);
    app.post('/write', () => {
      throw error;
    });
    const res = await app.inject({ method: 'POST', url: '/write' });
    expect(res.statusCode).toBe(507);
    expect(res.json()).toEqual({
      error: {
        code: 'insufficient_storage',
        message: 'This node is out of storage space. Try again once space is freed.',
      },
    });
    await app.close();
  });

  test('other failures stay an internal error', async () => {
    const app = Fastify({ logger: false });
    installErrorHandler(app);
    app.post('/write', () => {
      throw Object.assign(new Error('I/O error'), { code: 'EIO' });
    });
    const res = await app.inject({ method: 'POST', url: '/write' });
    expect(res.statusCode).toBe(500);
    await app.close();
  });
});
