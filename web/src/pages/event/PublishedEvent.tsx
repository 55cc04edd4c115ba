/**
 * The public page of a published event: the montage, to look at and to keep. "All events"
 * only for someone signed in: for a guest who joined by invite without an account, or a
 * visitor, it led to a sign-in form.
 */
import { montageUrl } from '../../api/client';
import { useAuth } from '../../auth';
import type { MosaicEvent } from '../../api/types';
import { DownloadIcon } from '../../components/icons';
import { formatDate } from '../../lib/format';
import { paths } from '../../lib/routes';
import { Link } from '../../router';

export function PublishedEvent({ event }: { event: MosaicEvent }) {
  const { auth } = useAuth();
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
      <p className="title-row">
        <a
          className="btn btn-primary"
          href={montageUrl(event.id, event.montageVersion)}
          download={`${fileName(event.title)}.jpg`}
        >
          <DownloadIcon /> Download the montage
        </a>
        {auth.status === 'signed-in' && (
          <Link to={paths.events} className="btn">
            All events
          </Link>
        )}
      </p>
    </article>
  );
}

/**
 * The title as a file name: no characters a file system refuses (a title has no control
 * characters: the server refuses them), 100 characters at most.
 */
function fileName(title: string): string {
  const safe = title
    .replace(/[\\/:*?"<>|]+/g, ' ')
    .trim()
    .slice(0, 100);
  return safe === '' ? 'montage' : safe;
}
