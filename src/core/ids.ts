/** Picture ids and blob names are SHA-256 digests in lower-case hex. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(value: string): boolean {
  return SHA256_HEX.test(value);
}
