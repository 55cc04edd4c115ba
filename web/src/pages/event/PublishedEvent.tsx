/** The public page of a published event. */
import { montageUrl } from '../../api/client';
import type { MosaicEvent } from '../../api/types';
import { formatDate } from '../../lib/format';

export function PublishedEvent({ event }: { event: MosaicEvent }) {
  return (
    <article className="published">
      <p className="phase phase-published">Published</p>
      <h1>{event.title}</h1>
      <p className="muted">
        {event.participants.map((p) => p.name).join(', ') || 'Nobody'}
        {event.publishedAt && <> · {formatDate(event.publishedAt)}</>}
      </p>
      <img
        className="montage montage-published"
        src={montageUrl(event.id, event.montageVersion)}
        alt={`Montage of “${event.title}”`}
      />
    </article>
  );
}
