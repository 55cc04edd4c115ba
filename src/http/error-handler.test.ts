import { describe, expect, it } from 'vitest';
import { validationMessage } from './error-handler.js';

describe('validationMessage', () => {
  it('shows our own sentences as they are, without internals', () => {
    expect(validationMessage([{ instancePath: '/title', message: 'A title is required.' }])).toBe(
      'A title is required.',
    );
  });

  it('names the field of a generic validator message', () => {
    expect(
      validationMessage([{ instancePath: '/votingSeconds', message: 'Too small: expected >=1' }]),
    ).toBe('The field "votingSeconds" is not valid: Too small: expected >=1.');
  });

  it('says each thing once', () => {
    const twice = { instancePath: '/name', message: 'A name is required.' };
    expect(validationMessage([twice, twice])).toBe('A name is required.');
  });
});
