import { describe, expect, it } from 'vitest';
import { isNetworkError } from './network-errors.js';

/** An error as Node's net module makes it (code, syscall, errno). */
function sysError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code} 10.0.0.1:5432`), { code, syscall });
}

describe('isNetworkError', () => {
  it('takes the codes of a peer that is down, gone or unreachable', () => {
    expect(isNetworkError(sysError('ECONNREFUSED', 'connect'))).toBe(true);
    expect(isNetworkError(sysError('ECONNRESET', 'read'))).toBe(true);
    expect(isNetworkError(sysError('EPIPE', 'write'))).toBe(true);
    expect(isNetworkError(sysError('ENOTFOUND', 'getaddrinfo'))).toBe(true);
  });

  it('takes any failure to connect: a blackhole route (EINVAL), a prohibit route (EACCES)', () => {
    expect(isNetworkError(sysError('EINVAL', 'connect'))).toBe(true);
    expect(isNetworkError(sysError('EACCES', 'connect'))).toBe(true);
    expect(isNetworkError(sysError('EADDRNOTAVAIL', 'connect'))).toBe(true);
  });

  it('leaves the same codes from other calls, and anything else, alone', () => {
    expect(isNetworkError(sysError('EINVAL', 'write'))).toBe(false);
    expect(isNetworkError(sysError('EACCES', 'open'))).toBe(false);
    expect(isNetworkError(new Error('connect EINVAL'))).toBe(false);
    expect(isNetworkError({ code: 23505 })).toBe(false);
    expect(isNetworkError('ECONNREFUSED')).toBe(false);
    expect(isNetworkError(null)).toBe(false);
  });
});
