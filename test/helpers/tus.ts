/**
 * The tus protocol (1.0.0) spoken by hand over HTTP, as a client would, for the resumable
 * upload tests: create an upload, ask its offset, send bytes from an offset, or start a PATCH
 * that sends only part of the body and keeps the connection open (to cut it off).
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import type { Api } from './node-process.js';

export const TUS = { 'Tus-Resumable': '1.0.0' };

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** POST: a new upload of `length` bytes with metadata (filename, title, category…). */
export function createUpload(
  client: Api,
  length: number,
  meta: Record<string, string>,
): Promise<Response> {
  return client.fetch('/api/uploads/tus', {
    method: 'POST',
    headers: {
      ...TUS,
      'Upload-Length': String(length),
      'Upload-Metadata': Object.entries(meta)
        .map(([k, v]) => `${k} ${b64(v)}`)
        .join(','),
    },
  });
}

/** HEAD: the upload's offset, or undefined when the node does not answer 200. */
export async function uploadOffset(client: Api, location: string): Promise<number | undefined> {
  const res = await client.fetch(location, { method: 'HEAD', headers: TUS });
  return res.status === 200 ? Number(res.headers.get('upload-offset')) : undefined;
}

/** PATCH: `body` from `offset`. */
export function patchUpload(
  client: Api,
  location: string,
  offset: number,
  body: Uint8Array,
): Promise<Response> {
  return client.fetch(location, {
    method: 'PATCH',
    headers: {
      ...TUS,
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body,
  });
}

/**
 * A PATCH from offset 0 announcing `total` bytes that sends only `bytes` for now: the
 * connection stays open until the caller destroys it (a phone losing the network).
 */
export function openPatch(
  nodeUrl: string,
  location: string,
  cookie: string,
  total: number,
  bytes: Buffer,
): ClientRequest {
  const req = httpRequest(new URL(location, nodeUrl), {
    method: 'PATCH',
    headers: {
      ...TUS,
      cookie,
      'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(total),
    },
  });
  req.on('error', () => undefined);
  req.write(bytes);
  return req;
}
