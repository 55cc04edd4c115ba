/** Adding a photo to the event (a multipart upload with progress). */
import { useState } from 'react';
import { sendMultipart } from '../../api/upload';
import type { MosaicEvent } from '../../api/types';
import { ErrorNote, ProgressBar, messageOf } from '../../components/common';
import { uploadBlocked } from '../../lib/event-rules';

/** The server's own sentence for a refused upload (its error shape), else a plain one. */
function uploadRefusal(status: number, body: unknown): string {
  const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
  if (typeof message === 'string' && message.length > 0) return message;
  if (status === 409) return 'Photos cannot be added right now: try again in a moment.';
  if (status === 0) return 'The node could not be reached: check the connection and try again.';
  return 'The photo was not added: try again in a moment.';
}

export function PhotoUpload({
  event,
  onChange,
}: {
  event: MosaicEvent;
  onChange: (event: MosaicEvent) => void;
}) {
  const blocked = uploadBlocked(event);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const send = async (file: File) => {
    setError(null);
    setProgress(0);
    const form = new FormData();
    form.append('file', file, file.name);
    try {
      const { status, body } = await sendMultipart(
        `/api/events/${encodeURIComponent(event.id)}/photos`,
        form,
        setProgress,
      ).promise;
      if (status === 201) onChange(body as MosaicEvent);
      else if (status === 413) setError('This photo is too large.');
      else if (status === 415) setError('This file is not an image the montage can use.');
      else setError(uploadRefusal(status, body));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setProgress(null);
    }
  };

  return (
    <section className="card" aria-label="Add a photo">
      <h2>Your photos</h2>
      <p className="muted small">
        {event.me.submitted
          ? blocked
            ? 'You have added a photo.'
            : 'You have added a photo. Add another?'
          : 'Add one or more photos.'}
      </p>
      <label className={blocked || progress !== null ? 'btn btn-disabled' : 'btn btn-primary'}>
        {progress === null ? 'Add a photo' : 'Uploading…'}
        <input
          className="visually-hidden"
          type="file"
          accept="image/*"
          disabled={blocked !== null || progress !== null}
          data-testid="event-file-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) void send(file);
          }}
        />
      </label>
      {blocked && <p className="muted small">{blocked}</p>}
      {progress !== null && <ProgressBar value={progress} label="Photo upload" />}
      {error && <ErrorNote error={error} />}
    </section>
  );
}
