import { describe, expect, test } from 'vitest';
import { dayLabel, groupByDay, localDay, monthIndex, monthLabel, pictureDate } from './timeline';

const pic = (id: string, createdAt: string, takenAt?: string) =>
  takenAt === undefined ? { id, createdAt } : { id, createdAt, takenAt };

describe('localDay', () => {
  test('keeps the day a camera wrote, whatever its offset', () => {
    expect(localDay('2022-07-14T23:30:00+02:00', 'UTC')).toBe('2022-07-14');
    expect(localDay('2022-07-14T00:30:00-05:00', 'Asia/Tokyo')).toBe('2022-07-14');
    expect(localDay('2022-07-14T18:03:00', 'UTC')).toBe('2022-07-14');
  });

  test('shows a UTC time in the viewer’s zone', () => {
    expect(localDay('2026-11-30T23:30:00.000Z', 'UTC')).toBe('2026-11-30');
    expect(localDay('2026-11-30T23:30:00.000Z', 'Europe/Paris')).toBe('2026-12-01');
    expect(localDay('2026-11-30T02:00:00.000Z', 'America/New_York')).toBe('2026-11-29');
  });
});

describe('groupByDay', () => {
  test('uses the date taken when there is one, else the upload time', () => {
    expect(pictureDate(pic('a', '2026-11-30T10:00:00Z', '2022-01-02T03:04:05'))).toBe(
      '2022-01-02T03:04:05',
    );
    expect(pictureDate(pic('a', '2026-11-30T10:00:00Z'))).toBe('2026-11-30T10:00:00Z');
  });

  test('makes one section per run of the same day, in the list’s order', () => {
    const items = [
      pic('a', '2026-11-30T10:00:00Z'),
      pic('b', '2026-11-30T09:00:00Z'),
      pic('c', '2026-11-29T09:00:00Z', '2022-07-14T18:00:00+02:00'),
      pic('d', '2026-11-28T09:00:00Z'),
    ];
    const sections = groupByDay(items, 'UTC');
    expect(sections.map((s) => [s.day, s.month, s.items.map((i) => i.id).join('')])).toEqual([
      ['2026-11-30', '2026-11', 'ab'],
      ['2022-07-14', '2022-07', 'c'],
      ['2026-11-28', '2026-11', 'd'],
    ]);
    // Every picture lands in exactly one section, order kept.
    expect(sections.flatMap((s) => s.items)).toEqual(items);
  });

  test('no pictures, no sections', () => {
    expect(groupByDay([], 'UTC')).toEqual([]);
  });
});

describe('monthIndex', () => {
  test('years and months newest first with their counts', () => {
    const sections = groupByDay(
      [
        pic('a', '2026-11-30T10:00:00Z'),
        pic('b', '2026-11-02T10:00:00Z'),
        pic('c', '2026-03-01T10:00:00Z'),
        pic('d', '2026-01-01T10:00:00Z', '2024-12-24T20:00:00'),
        pic('e', '2025-12-31T10:00:00Z'),
      ],
      'UTC',
    );
    expect(monthIndex(sections)).toEqual([
      {
        year: '2026',
        months: [
          { month: '2026-11', count: 2 },
          { month: '2026-03', count: 1 },
        ],
      },
      { year: '2025', months: [{ month: '2025-12', count: 1 }] },
      { year: '2024', months: [{ month: '2024-12', count: 1 }] },
    ]);
  });
});

describe('labels', () => {
  test('days relative to today, the year only when it differs', () => {
    expect(dayLabel('2026-11-30', '2026-11-30')).toBe('Today');
    expect(dayLabel('2026-11-29', '2026-11-30')).toBe('Yesterday');
    expect(dayLabel('2026-12-31', '2027-01-01')).toBe('Yesterday');
    expect(dayLabel('2026-11-02', '2026-11-30')).toBe('Mon, Nov 2');
    expect(dayLabel('2022-07-14', '2026-11-30')).toBe('Thu, Jul 14, 2022');
    expect(monthLabel('2026-11')).toBe('November 2026');
  });
});
