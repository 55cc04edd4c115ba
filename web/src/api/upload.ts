/**
 * Multipart uploads through XMLHttpRequest, the one browser API that reports upload progress.
 * The promise resolves with whatever the server answered (the caller decides what a status
 * means) and rejects only when no answer came (network failure or abort).
 */

export interface UploadResponse {
  readonly status: number;
  /** Parsed JSON, or null when the body is not JSON. */
  readonly body: unknown;
}

export interface UploadHandle {
  readonly promise: Promise<UploadResponse>;
  abort(): void;
}

/** The part of XMLHttpRequest used here (tests pass a fake). */
export type XhrLike = Pick<
  XMLHttpRequest,
  | 'open'
  | 'send'
  | 'abort'
  | 'status'
  | 'responseText'
  | 'withCredentials'
  | 'onload'
  | 'onerror'
  | 'onabort'
> & { readonly upload: Pick<XMLHttpRequestUpload, 'onprogress'> };

export function sendMultipart(
  url: string,
  form: FormData,
  onProgress: (fraction: number) => void,
  makeXhr: () => XhrLike = () => new XMLHttpRequest(),
): UploadHandle {
  const xhr = makeXhr();
  const promise = new Promise<UploadResponse>((resolve, reject) => {
    xhr.open('POST', url);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) onProgress(1);
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => {
      reject(new Error('The server could not be reached.'));
    };
    xhr.onabort = () => {
      reject(new Error('Cancelled.'));
    };
    xhr.send(form);
  });
  return {
    promise,
    abort: () => {
      xhr.abort();
    },
  };
}
