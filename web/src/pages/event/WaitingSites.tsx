import type { MosaicEvent } from '../../api/types';
import { useNow } from '../../hooks';
import { formatAgo, formatTime } from '../../lib/format';

/**
 * Which sites the event waits for, and since when: while it is being set up (a site was down
 * when it was created), or while the votes of a round are gathered from every site.
 */
export function WaitingSites({ event }: { event: MosaicEvent }) {
  const now = useNow(5000, true);
  const waiting = (event.sites ?? []).filter((s) => s.state === 'waiting');
  if (waiting.length === 0) return null;
  const since = (iso: string | null) =>
    iso === null ? '' : ` since ${formatTime(iso)} (${formatAgo(iso, now)})`;
  const what =
    event.phase === 'creating'
      ? 'Photos can be added once every site has the event.'
      : 'The result is announced once every site has answered.';
  return (
    <div className="waiting-sites" role="status" data-testid="waiting-sites">
      <p>
        <strong>
          {event.phase === 'creating' ? 'Setting up the event' : 'Counting the votes'}:
        </strong>{' '}
        waiting for{' '}
        {waiting.map((s, i) => (
          <span key={s.name}>
            {i > 0 && (i === waiting.length - 1 ? ' and ' : ', ')}
            site <strong>{s.name}</strong>
            {since(s.since)}
          </span>
        ))}
        .
      </p>
      <p className="muted small">
        {what} Nothing is lost meanwhile: it carries on by itself when the site is back.
      </p>
    </div>
  );
}
