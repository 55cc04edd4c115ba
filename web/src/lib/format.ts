/** Small display helpers. */
export { formatSize } from './upload-queue';

/** "just now", "5 min ago", "3 h ago", "2 d ago", or the date for older times. */
export function formatAgo(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'unknown';
  const s = Math.round((now - t) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86_400) return `${Math.floor(s / 86_400)} d ago`;
  return formatDay(new Date(t).toISOString());
}

/** A moment, as every page shows it: "Dec 7, 2026, 7:36 AM" (in the viewer's locale and zone). */
export function formatDate(iso: string, locale?: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A day, in the same style as `formatDate`: "Jan 6, 2027" (an expiry, a purge). */
export function formatDay(iso: string, locale?: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleDateString(locale, { dateStyle: 'medium' });
}

/** The time of day ("14:05"), with the date when it is not today. */
export function formatTime(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const sameDay = d.toDateString() === new Date(now).toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const TAKEN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * When a picture was taken, as the camera's clock showed it where it was taken (a photo taken
 * at 10:15 in Denver reads 10:15 in Paris too), followed by its offset when known:
 * "Aug 21, 2017, 10:15 AM (UTC−06:00)".
 */
export function formatTaken(takenAt: string, locale?: string): string {
  const m = TAKEN.exec(takenAt);
  if (!m?.[1]) return formatDate(takenAt);
  const wall = new Date(`${m[1]}Z`);
  const text = wall.toLocaleString(locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'UTC',
  });
  const zone = m[2];
  if (zone === undefined) return text;
  return `${text} (UTC${zone === 'Z' ? '' : zone.replace('-', '\u2212')})`;
}
