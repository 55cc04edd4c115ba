/**
 * Where a node keeps its bytes, from `--blobs` (env MOSAIC_BLOBS):
 *
 *   (not given)                                     the local file system under --data (default)
 *   s3://BUCKET[/PREFIX]?endpoint=URL&region=R      an S3-compatible object store
 *   s3://KEY:SECRET@BUCKET?...                      with credentials in the URL (percent-encoded)
 *   ...&timeout=SECONDS                             how long a request may wait on the store
 *
 * Without credentials in the URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are used (both or
 * neither; neither leaves it to the AWS SDK's usual chain). Without `endpoint`, AWS itself.
 */
import { timeoutParam } from './timeout-param.js';

export interface S3BlobsConfig {
  readonly kind: 's3';
  readonly bucket: string;
  /** Prepended to every key ("" or ending in "/"). */
  readonly prefix: string;
  readonly endpoint?: string;
  readonly region: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * How long a request may wait on the store, to connect or for the next bytes of an answer,
   * before it fails (and is retried, then answered 503): a store that stops answering must not
   * hold uploads and reads for ever.
   */
  readonly timeoutMs: number;
}

export type BlobsConfig = { readonly kind: 'local' } | S3BlobsConfig;

const USAGE = 'Give --blobs as s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION';
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9._/-]*$/;
const REGION = /^[a-z0-9-]{1,40}$/;
const KNOWN_PARAMS = new Set(['endpoint', 'region', 'timeout']);

/** Parses and checks a `--blobs` value; throws an Error whose message says what is wrong. */
export function parseBlobsUrl(value: string | undefined, env: NodeJS.ProcessEnv): BlobsConfig {
  if (value === undefined || value === '' || value === 'local') return { kind: 'local' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${USAGE} (not a URL: ${JSON.stringify(redact(value))}).`);
  }
  if (url.protocol !== 's3:') {
    throw new Error(`${USAGE}: only s3:// is supported, not ${url.protocol}//.`);
  }
  const bucket = url.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new Error(
      `${USAGE}: "${bucket}" is not a bucket name (3 to 63 lower-case letters, digits, "." and "-").`,
    );
  }
  if (url.port !== '')
    throw new Error(`${USAGE}: put the store's address in endpoint=, not in the bucket.`);
  const rawPrefix = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  if (!PREFIX.test(rawPrefix) || rawPrefix.split('/').some((p) => p === '..' || p === '.')) {
    throw new Error(
      `${USAGE}: the prefix "${rawPrefix}" may use letters, digits, ".", "_", "-" and "/".`,
    );
  }
  const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  for (const key of url.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(key)) throw new Error(`${USAGE}: unknown parameter "${key}".`);
  }
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(endpoint);
    } catch {
      // reported below
    }
    if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new Error(`${USAGE}: endpoint must be an http(s) URL, e.g. http://127.0.0.1:8080.`);
    }
  }
  const region = url.searchParams.get('region') ?? env['AWS_REGION'] ?? 'us-east-1';
  if (!REGION.test(region)) throw new Error(`${USAGE}: "${region}" is not a region name.`);
  const timeoutMs = timeoutParam(url.searchParams.get('timeout'), USAGE);

  let credentials: S3BlobsConfig['credentials'];
  if (url.username !== '' || url.password !== '') {
    if (url.username === '' || url.password === '') {
      throw new Error(`${USAGE}: credentials in the URL are KEY:SECRET@, both parts.`);
    }
    credentials = {
      accessKeyId: decodeURIComponent(url.username),
      secretAccessKey: decodeURIComponent(url.password),
    };
  } else {
    const accessKeyId = env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      throw new Error('Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither.');
    }
    if (accessKeyId !== undefined && secretAccessKey !== undefined) {
      credentials = { accessKeyId, secretAccessKey };
    }
  }
  return {
    kind: 's3',
    bucket,
    prefix,
    region,
    timeoutMs,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  };
}

/** The URL without its secret, for messages and logs. */
export function redact(value: string): string {
  return value.replace(/^(s3:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}
