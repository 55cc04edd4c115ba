/** Node's error codes for a request the network did not carry: the other end is down, gone or unreachable. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether a Node error says the network did not carry a request: one of the codes above, or
 * any failure of `connect` itself. The kernel answers a connect along a blackhole route with
 * EINVAL and along a prohibit route with EACCES: codes that mean something else elsewhere, but
 * from `connect` they only say the other end cannot be reached from here.
 */
export function isNetworkError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return false;
  return NETWORK_ERROR_CODES.has(code) || syscall === 'connect';
}

/**
 * Whether an error from a store's client (the AWS SDK, or a library over it such as
 * `@tus/s3-store`) says the store is out of reach or failing rather than refusing the request:
 * a network error (here or as its cause), the SDK's timeout, or an answer in 5xx.
 */
export function isStoreOutage(error: unknown): boolean {
  const e = error as {
    name?: string;
    cause?: unknown;
    $metadata?: { httpStatusCode?: number };
  } | null;
  if (typeof e !== 'object' || e === null) return false;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  return e.name === 'TimeoutError' || isNetworkError(error) || isNetworkError(e.cause);
}
