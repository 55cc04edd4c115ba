/**
 * What a resumable upload's failures look like to the client (`inErrorShape`): tus's own
 * refusals and the data store's failures, in the API's error shape.
 */
import { describe, expect, it } from 'vitest';
import { inErrorShape } from './tus-uploads.js';

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

  it('for any other reason is an internal error without internals', () => {
    const error = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    expect(parsed(inErrorShape(error, 1000))).toEqual({
      status: 500,
      error: { code: 'internal', message: 'The upload failed; try again.' },
    });
  });
});
