import { describe, expect, test } from 'vitest';
import { formatAgo, formatDate, formatDay, formatTaken } from './format';

describe('formatTaken', () => {
  test("shows the camera's local time, not the viewer's, with the offset when known", () => {
    expect(formatTaken('2017-08-21T10:15:30-06:00', 'en-US')).toBe(
      'Aug 21, 2017, 10:15 AM (UTC\u221206:00)',
    );
    expect(formatTaken('2021-06-01T17:20:00', 'en-US')).toBe('Jun 1, 2021, 5:20 PM');
    expect(formatTaken('2019-07-14T18:30:05.120+02:00', 'en-US')).toBe(
      'Jul 14, 2019, 6:30 PM (UTC+02:00)',
    );
  });
});

describe('formatDate and formatDay', () => {
  test("one style for moments and days alike, not the locale's numeric default", () => {
    // Midday UTC: the same calendar day in every zone the tests may run in.
    expect(formatDay('2027-01-06T12:00:00Z', 'en-US')).toBe('Jan 6, 2027');
    expect(formatDate('2026-12-07T12:00:00Z', 'en-US')).toMatch(
      /^Dec 7, 2026, \d{1,2}:\d{2}\s[AP]M$/,
    );
    expect(formatDay('not a date')).toBe('not a date');
  });

  test('formatAgo gives an old time as a day in that style', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    expect(formatAgo('2026-01-06T12:00:00Z', now)).toBe(formatDay('2026-01-06T12:00:00Z'));
    expect(formatAgo('2026-12-07T11:59:55Z', now)).toBe('just now');
  });
});
