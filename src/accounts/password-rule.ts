/**
 * The rule for a password being set (a new account's, a change, a reset, the seeded admin's):
 * one place, used by the API's schema (http/schemas.ts) and by the CLI without loading it.
 */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
export const PASSWORD_TOO_SHORT = `A password has at least ${MIN_PASSWORD_LENGTH} characters.`;
export const PASSWORD_TOO_LONG = `A password has at most ${MAX_PASSWORD_LENGTH} characters.`;

/** What is wrong with a new password, or null when it may be used. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return PASSWORD_TOO_SHORT;
  if (password.length > MAX_PASSWORD_LENGTH) return PASSWORD_TOO_LONG;
  return null;
}
