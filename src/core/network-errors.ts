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
