import { expect, test } from 'vitest';
import { canChange } from './permissions';

test('the owner and admins may change a picture, nobody else', () => {
  const picture = { owner: 'ann' };
  expect(canChange({ username: 'ann', role: 'user' }, picture)).toBe(true);
  expect(canChange({ username: 'root', role: 'admin' }, picture)).toBe(true);
  expect(canChange({ username: 'bob', role: 'user' }, picture)).toBe(false);
  expect(canChange(null, picture)).toBe(false);
});
