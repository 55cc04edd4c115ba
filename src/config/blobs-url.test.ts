import { describe, expect, it } from 'vitest';
import { resolveNodeConfig } from './node-config.js';
import { parseBlobsUrl, redact } from './blobs-url.js';

describe('--blobs', () => {
  it('defaults to local files', () => {
    expect(parseBlobsUrl(undefined, {})).toEqual({ kind: 'local' });
    expect(parseBlobsUrl('', {})).toEqual({ kind: 'local' });
  });

  it('reads bucket, prefix, endpoint, region and credentials from the URL', () => {
    expect(
      parseBlobsUrl(
        's3://ak%3Auser:s%2Fecret@photos/site-a?endpoint=http://127.0.0.1:8080&region=eu-west-1',
        {},
      ),
    ).toEqual({
      kind: 's3',
      bucket: 'photos',
      prefix: 'site-a/',
      endpoint: 'http://127.0.0.1:8080',
      region: 'eu-west-1',
      timeoutMs: 30_000,
      credentials: { accessKeyId: 'ak:user', secretAccessKey: 's/ecret' },
    });
  });

  it('takes how long a request may wait on the store in seconds (default 30)', () => {
    expect(parseBlobsUrl('s3://photos?timeout=2.5', {})).toMatchObject({ timeoutMs: 2500 });
    expect(parseBlobsUrl('s3://photos?timeout=600', {})).toMatchObject({ timeoutMs: 600_000 });
  });

  it('takes credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, both or neither', () => {
    const env = { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' };
    expect(parseBlobsUrl('s3://photos', env)).toMatchObject({
      prefix: '',
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
    expect(parseBlobsUrl('s3://photos', {})).not.toHaveProperty('credentials');
    expect(() => parseBlobsUrl('s3://photos', { AWS_ACCESS_KEY_ID: 'k' })).toThrow(/both/);
  });

  it.each([
    ['http://photos', /only s3/],
    ['s3://Ph', /bucket name/],
    ['s3://photos?endpoint=ftp://x', /http\(s\) URL/],
    ['s3://photos?endpoint=http://x&color=red', /unknown parameter "color"/],
    ['s3://photos/a%20b', /the prefix "a b"/],
    ['s3://key@photos', /both parts/],
    ['s3://photos:9000', /endpoint=/],
    ['s3://photos?timeout=0', /timeout is in seconds/],
    ['s3://photos?timeout=-1', /timeout is in seconds/],
    ['s3://photos?timeout=1e3', /timeout is in seconds/],
    ['s3://photos?timeout=3601', /timeout is in seconds/],
    ['not a url', /not a URL/],
  ])('refuses %s with a clear message', (value, message) => {
    expect(() => parseBlobsUrl(value, {})).toThrow(message);
  });

  it('is checked with the rest of the configuration, and its secret is never echoed', () => {
    expect(() => resolveNodeConfig({ dataDir: '/d', blobs: 's3://x' }, {})).toThrow(
      /blobs: .*bucket name/,
    );
    expect(resolveNodeConfig({ dataDir: '/d' }, { MOSAIC_BLOBS: 's3://photos' }).blobs).toBe(
      's3://photos',
    );
    expect(redact('s3://key:secret@photos?region=x')).toBe('s3://key:***@photos?region=x');
  });
});
