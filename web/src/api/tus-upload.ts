/**
 * Resumable uploads (the tus protocol, `POST /api/uploads/tus`) through tus-js-client: the file
 * goes in one PATCH (or more after a cut); when the network drops the client retries with
 * back-off and asks the node how much arrived, so it resumes there instead of starting over.
 * It also remembers unfinished uploads in localStorage: the same file picked again after a
 * reload resumes. The handle answers like sendMultipart, so the queue judges both alike: 201 a
 * new picture, 200 one that existed, else the server's error.
 */
import { DetailedError, Upload } from 'tus-js-client';
import type { UploadHandle, UploadResponse } from './upload';

export const TUS_ENDPOINT = '/api/uploads/tus';
/**
 * Bytes per PATCH: what a cut loses at most, and under the body limits of common reverse
 * proxies (Cloudflare's 100 MB, nginx's configurable one).
 */
const CHUNK_BYTES = 5 * 1024 * 1024;
/** Waits between attempts after a failure (ms): about a minute of trying, then it gives up. */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10_000, 20_000, 30_000];

export interface TusFields {
  readonly title: string;
  readonly category: string;
  readonly desc: string;
}

export function sendTus(
  file: File,
  fields: TusFields,
  onProgress: (fraction: number) => void,
): UploadHandle {
  const box: { upload: Upload | null; aborted: boolean } = { upload: null, aborted: false };
  const promise = new Promise<UploadResponse>((resolve, reject) => {
    const upload = new Upload(file, {
      endpoint: TUS_ENDPOINT,
      retryDelays: RETRY_DELAYS,
      chunkSize: CHUNK_BYTES,
      removeFingerprintOnSuccess: true,
      metadata: {
        filename: file.name,
        filetype: file.type,
        title: fields.title,
        category: fields.category,
        desc: fields.desc,
      },
      onProgress: (sent, total) => {
        if (total > 0) onProgress(sent / total);
      },
      onSuccess: ({ lastResponse }) => {
        onProgress(1);
        const id = lastResponse.getHeader('Mosaic-Picture-Id') ?? null;
        const created = lastResponse.getHeader('Mosaic-Picture-Created') !== 'false';
        resolve({ status: created ? 201 : 200, body: id === null ? null : { id } });
      },
      onError: (error) => {
        const response = error instanceof DetailedError ? error.originalResponse : null;
        if (!response) {
          reject(new Error('The server could not be reached.'));
          return;
        }
        let body: unknown = null;
        try {
          body = JSON.parse(response.getBody());
        } catch {
          body = null;
        }
        resolve({ status: response.getStatus(), body });
      },
    });
    box.upload = upload;
    void upload
      .findPreviousUploads()
      .then((previous) => {
        const last = previous[0];
        if (last) upload.resumeFromPreviousUpload(last);
      })
      .catch(() => undefined)
      .finally(() => {
        if (!box.aborted) upload.start(); // cancelled while the earlier uploads were looked up
      });
  });
  return {
    promise,
    // Cancelled: the request in flight stops and the node is told to drop the upload (the
    // termination extension, a DELETE); the promise then never settles.
    abort: () => {
      box.aborted = true;
      void box.upload?.abort(true).catch(() => undefined); // offline: the node sweeps it later
    },
  };
}
