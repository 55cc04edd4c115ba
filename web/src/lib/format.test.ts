import { describe, expect, test } from 'vitest';
import { formatTaken } from './format';

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
