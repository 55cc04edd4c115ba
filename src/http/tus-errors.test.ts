/**
 * What a resumable upload's failures look like to the client (`inErrorShape`): tus's own
 * refusals and the data store's failures, in the API's error shape.
 */
import { ERRORS } from '@tus/server';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../core/errors.js';
import { inErrorShape } from './tus-errors.js';

const parsed = (mapped: { status_code: number; body: string }) => ({
  status: mapped.status_code,
  ...(JSON.parse(mapped.body) as object),
});

describe('a resumable upload that fails', () => {
  it('for lack of space while a chunk is written is a 507 that says so', () => {
    const error = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
    });
    expect(parsed(inErrorShape(error, 1000))).toEqual({
      status: 507,
      error: {
        code: 'insufficient_storage',
        message: 'This node is out of storage space. Try again once space is freed.',
      },
    });
  });

  it('over the size limit names the limit', () => {
    const mapped = parsed(inErrorShape({ status_code: 413, body: 'Too large' }, 1000));
    expect(mapped).toMatchObject({ status: 413, error: { code: 'payload_too_large' } });
  });

  it("because the bucket is out of reach (the tus data store's S3 client) is a 503", () => {
    // As @tus/s3-store passes it on: the SDK's error for a refused connection.
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:8080'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    const failing = Object.assign(new Error('Service Unavailable'), {
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    const timedOut = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    for (const error of [refused, failing, timedOut]) {
      expect(parsed(inErrorShape(error, 1000))).toMatchObject({
        status: 503,
        error: { code: 'unavailable' },
      });
    }
  });

  it('because the database is out of reach (the upload lock) is the 503 it was', () => {
    const mapped = parsed(inErrorShape(new UnavailableError('The database is not answering.'), 1));
    expect(mapped).toEqual({
      status: 503,
      error: { code: 'unavailable', message: 'The database is not answering.' },
    });
  });

  it('because another request held the upload too long (tus lock timeout) is a 503, not a 500', () => {
    // tus answers 500; it is only a busy upload (a HEAD that waited for the last PATCH's
    // picture), which the client asks about again.
    expect(parsed(inErrorShape(ERRORS.ERR_LOCK_TIMEOUT, 1000))).toMatchObject({
      status: 503,
      error: { code: 'unavailable' },
    });
  });

  it('because the bucket refused our credentials is still an internal error', () => {
    const denied = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    expect(parsed(inErrorShape(denied, 1000)).status).toBe(500);
  });

  it('for any other reason is an internal error without internals', () => {
    const error = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    expect(parsed(inErrorShape(error, 1000))).toEqual({
      status: 500,
      error: { code: 'internal', message: 'The upload failed; try again.' },
    });
  });
});
