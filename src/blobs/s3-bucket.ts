/**
 * One S3 bucket, spoken to through the AWS SDK: the protocol layer under the S3 blob store
 * (s3-blob-store.ts), which decides what the keys mean. Here: creating the bucket, HEAD, GET
 * (with a range), PUT (whole, or multipart for large bodies), server-side copy, delete and
 * listing by prefix, and "missing" told apart from other failures.
 *
 * Client settings every S3 server we meet accepts: path-style requests (Swift, MinIO and most
 * self-hosted stores want them), and checksums only when required (`WHEN_REQUIRED`: Swift's
 * s3api refuses the SDK's aws-chunked bodies).
 */
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UnavailableError } from '../core/errors.js';
import { isStoreOutage } from '../core/network-errors.js';
import type { ByteRange } from './blob-store.js';

export interface S3BucketOptions {
  readonly bucket: string;
  /** The store's URL (path-style requests are used). Default: AWS itself. */
  readonly endpoint?: string;
  readonly region: string;
  /** Default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles...). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** How long a request waits to connect, or for the next bytes of its answer. Default 30 s. */
  readonly timeoutMs?: number;
}

export interface ListedObject {
  readonly key: string;
  readonly lastModified: Date | undefined;
}

export class S3Bucket {
  readonly client: S3Client;
  readonly name: string;
  private readonly endpoint: string | undefined;

  constructor(options: S3BucketOptions) {
    this.name = options.bucket;
    this.endpoint = options.endpoint;
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Without these a store that stops answering (frozen, or cut off by a partition with
      // its sockets open) holds every request for ever; the SDK then retries (3 tries).
      // (`socketTimeout` counts silence, not the whole request: a large body may take longer.)
      requestHandler: {
        connectionTimeout: options.timeoutMs ?? 30_000,
        socketTimeout: options.timeoutMs ?? 30_000,
      },
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    });
    // A store that does not answer, or answers 5xx, after the SDK's retries: "unavailable"
    // (503, try again) for whoever asked, not an internal error. Whatever else it answers
    // (missing, refused) passes unchanged.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          if (!isStoreOutage(error)) throw error;
          throw Object.assign(
            new UnavailableError('The object store is not answering right now; try again shortly.'),
            { cause: error },
          );
        }
      },
      { step: 'initialize', name: 'mosaicOutage' },
    );
  }

  /** Creates the bucket when it does not exist; a clear error when the store cannot be used. */
  async ensure(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.name }));
    } catch (error) {
      if (!isMissing(error)) throw this.unreachable(error);
      await this.client.send(new CreateBucketCommand({ Bucket: this.name })).catch((e: unknown) => {
        // Another process of the site created it meanwhile (or the store's HEAD lagged
        // behind its creation: Swift's, seen in test/storage/scaled-site.test.ts).
        if ((e as { name?: string }).name === 'BucketAlreadyOwnedByYou') return;
        throw this.unreachable(e);
      });
    }
  }

  private unreachable(outcome: unknown): Error {
    const error = outcome instanceof UnavailableError ? outcome.cause : outcome;
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    // A HEAD's refusal has no body to name it: the SDK says "Unknown", "UnknownError".
    const named = e.name !== undefined && !/^(Unknown|Error|\d+)$/.test(e.name);
    const why =
      status === 401 || status === 403
        ? `the store refuses these credentials${named ? ` (${e.name})` : ''} (HTTP ${status}): ` +
          `check the access key and secret (KEY:SECRET@ in the URL, or AWS_ACCESS_KEY_ID and ` +
          `AWS_SECRET_ACCESS_KEY) and that they may use this bucket`
        : `${named ? `${e.name}: ` : ''}${status === undefined ? '' : `(HTTP ${status}) `}${e.message ?? ''}`;
    return new Error(
      `The blob store (bucket "${this.name}"${this.endpoint === undefined ? '' : ` at ${this.endpoint}`}) ` +
        `cannot be used: ${why}`,
      { cause: error },
    );
  }

  /** The object's size, or null when there is none. */
  async head(key: string): Promise<number | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return res.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** The object's bytes (or a range) and its length, or null when there is none. */
  async get(key: string, range?: ByteRange): Promise<{ body: Readable; length?: number } | null> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.name,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const body = res.Body as Readable;
      return res.ContentLength === undefined ? { body } : { body, length: res.ContentLength };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /**
   * One PUT. With `sha256` (hex) the signer uses it as `x-amz-content-sha256` instead of
   * hashing the body again, and the store checks the body against it (`BadDigest` otherwise).
   */
  async put(
    key: string,
    body: Buffer | Readable,
    options: { readonly sha256?: string; readonly size?: number } = {},
  ): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.name,
      Key: key,
      Body: body,
      ...(options.size === undefined ? {} : { ContentLength: options.size }),
    });
    const sha256 = options.sha256;
    if (sha256 !== undefined) {
      command.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers) request.headers['x-amz-content-sha256'] = sha256;
          return next(args);
        },
        { step: 'build', name: 'mosaicPayloadSha256' },
      );
    }
    await this.client.send(command);
  }

  /** A multipart upload in parts of `partSize`, two at a time; aborted (nothing kept) on error. */
  async putMultipart(key: string, body: Readable, partSize: number): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.name, Key: key, Body: body },
      partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  /** Server-side copy with new metadata; false when the source is not there. */
  async copy(from: string, to: string, metadata: Record<string, string>): Promise<boolean> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.name,
          Key: to,
          CopySource: `${this.name}/${from}`,
          MetadataDirective: 'REPLACE',
          Metadata: metadata,
        }),
      );
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
  }

  /** Every object whose key starts with `prefix`, a page (up to 1000) per request. */
  async *list(prefix: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.name,
          Prefix: prefix,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const entry of page.Contents ?? []) {
        if (entry.Key !== undefined) yield { key: entry.Key, lastModified: entry.LastModified };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Resolves when the bucket answers a HEAD; gives up when `signal` aborts. */
  async probe(signal?: AbortSignal): Promise<void> {
    await this.client.send(
      new HeadBucketCommand({ Bucket: this.name }),
      signal === undefined ? {} : { abortSignal: signal },
    );
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** Whether an SDK error says the object (or bucket) is not there. */
export function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'NotFound' ||
    e.name === 'NoSuchKey' ||
    e.name === 'NoSuchBucket' ||
    e.$metadata?.httpStatusCode === 404
  );
}
