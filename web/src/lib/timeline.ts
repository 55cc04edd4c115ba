/**
 * The timeline's grouping: pictures under day headers, days under months, and the year/month
 * index the jump list and the scrubber show. A picture's date is when it was taken (`takenAt`,
 * from EXIF, once the server reads it) and otherwise when it was added (`createdAt`).
 */

export interface Dated {
  readonly id: string;
  readonly createdAt: string;
  readonly takenAt?: string | null | undefined;
}

export interface DaySection<T> {
  /** `YYYY-MM-DD`, the calendar day the pictures belong to. */
  readonly day: string;
  /** `YYYY-MM`. */
  readonly month: string;
  readonly items: T[];
}

export interface MonthEntry {
  /** `YYYY-MM`. */
  readonly month: string;
  readonly count: number;
}

export interface YearEntry {
  readonly year: string;
  readonly months: MonthEntry[];
}

export const pictureDate = (p: Dated): string => p.takenAt ?? p.createdAt;

const WITH_OFFSET = /^(\d{4}-\d{2}-\d{2})T[\d:.]+([+-]\d{2}:?\d{2})$/;
const WITHOUT_ZONE = /^(\d{4}-\d{2}-\d{2})(T[\d:.]+)?$/;

/**
 * The calendar day of an ISO time. A time written with its own offset (a camera's local time,
 * `2022-07-14T18:03:00+02:00`) or with no zone at all stays on the day it was written with —
 * the day where it was taken; a UTC time (`…Z`, upload times) is shown in the viewer's zone.
 */
export function localDay(iso: string, timeZone?: string): string {
  const written = WITH_OFFSET.exec(iso) ?? WITHOUT_ZONE.exec(iso);
  if (written?.[1]) return written[1];
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '0000-00-00';
  const parts = new Intl.DateTimeFormat('en-CA', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    ...(timeZone ? { timeZone } : {}),
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/**
 * Consecutive pictures of the same day become one section, in the list's order (the server's
 * order: newest first). A day met again after another day (possible while the server sorts by
 * upload time and the dates are taken times) starts a new section rather than reordering the
 * list, so paging and live inserts never move what is on screen.
 */
export function groupByDay<T extends Dated>(
  items: readonly T[],
  timeZone?: string,
): DaySection<T>[] {
  const sections: { day: string; month: string; items: T[] }[] = [];
  let current: { day: string; month: string; items: T[] } | undefined;
  for (const item of items) {
    const day = localDay(pictureDate(item), timeZone);
    if (current?.day !== day) {
      current = { day, month: day.slice(0, 7), items: [] };
      sections.push(current);
    }
    current.items.push(item);
  }
  return sections;
}

/** Years and months (newest first, as the sections come) with how many pictures each holds. */
export function monthIndex<T>(sections: readonly DaySection<T>[]): YearEntry[] {
  const counts = new Map<string, number>();
  for (const s of sections) counts.set(s.month, (counts.get(s.month) ?? 0) + s.items.length);
  const months = [...counts.keys()].sort().reverse();
  const years: YearEntry[] = [];
  for (const month of months) {
    const year = month.slice(0, 4);
    let entry = years.at(-1);
    if (entry?.year !== year) {
      entry = { year, months: [] };
      years.push(entry);
    }
    entry.months.push({ month, count: counts.get(month) ?? 0 });
  }
  return years;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

export function monthName(month: string): string {
  return MONTHS[Number(month.slice(5, 7)) - 1] ?? month;
}

/** "November 2026". */
export function monthLabel(month: string): string {
  return `${monthName(month)} ${month.slice(0, 4)}`;
}

/** "Today", "Yesterday", "Mon, Nov 30", and the year when it is not `today`'s. */
export function dayLabel(day: string, today: string): string {
  if (day === today) return 'Today';
  if (day === addDays(today, -1)) return 'Yesterday';
  const [y, m, d] = day.split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined) return day;
  const weekday = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()] ?? '';
  const base = `${weekday}, ${monthName(day).slice(0, 3)} ${d}`;
  return day.slice(0, 4) === today.slice(0, 4) ? base : `${base}, ${y}`;
}

function addDays(day: string, n: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + n);
  return date.toISOString().slice(0, 10);
}
