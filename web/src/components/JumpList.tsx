/**
 * The year/month jump: a scrubber down the right edge on a desktop (years, and a mark per
 * month with pictures), a drop-down list on a phone. Months come from `GET /api/timeline`
 * when the server has it, else from the pictures loaded so far.
 */
import type { YearEntry } from '../lib/timeline';
import { monthLabel, monthName } from '../lib/timeline';

export function JumpList({
  years,
  current,
  onJump,
}: {
  years: readonly YearEntry[];
  current: string | null;
  onJump: (month: string) => void;
}) {
  if (years.length === 0) return null;
  return (
    <>
      <nav className="scrubber" aria-label="Jump to a month">
        <ol>
          {years.map((y) => (
            <li key={y.year}>
              <span className="scrubber-year">{y.year}</span>
              <ol>
                {y.months.map((m) => (
                  <li key={m.month}>
                    <button
                      type="button"
                      className={m.month === current ? 'scrubber-month current' : 'scrubber-month'}
                      onClick={() => {
                        onJump(m.month);
                      }}
                      title={`${monthLabel(m.month)} · ${m.count}`}
                      aria-label={monthLabel(m.month)}
                      aria-current={m.month === current ? 'true' : undefined}
                    >
                      <span>{monthName(m.month).slice(0, 3)}</span>
                    </button>
                  </li>
                ))}
              </ol>
            </li>
          ))}
        </ol>
      </nav>
      <label className="jump-select">
        <span className="visually-hidden">Jump to a month</span>
        <select
          value={current ?? ''}
          onChange={(e) => {
            if (e.target.value) onJump(e.target.value);
          }}
        >
          {current === null && <option value="">Jump to…</option>}
          {years.map((y) => (
            <optgroup key={y.year} label={y.year}>
              {y.months.map((m) => (
                <option key={m.month} value={m.month}>
                  {monthName(m.month).slice(0, 3)} {y.year} · {m.count}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </label>
    </>
  );
}
