/** Adding photos to the event: one multipart upload after another, with progress. */
import { useState } from 'react';
import { sendMultipart } from '../../api/upload';
import type { MosaicEvent } from '../../api/types';
import { ErrorNote, ProgressBar, messageOf } from '../../components/common';
import { addedSoFar, uploadBlocked } from '../../lib/event-rules';

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

  /** Where a batch of picked photos is: the one uploading (1-based) and how many. */
  const [batch, setBatch] = useState<{ at: number; of: number } | null>(null);

  /**
   * Sends one photo; resolves whether it was added (a refusal is shown and stops a batch).
   * `which`: the photo's place in a batch of several ("Photo 2 of 5 (beach.jpg)").
   */
  const send = async (file: File, which: string | null): Promise<boolean> => {
    const said = (why: string) => (which === null ? why : `${which} was not added: ${why}`);
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
      if (status === 201) {
        onChange(body as MosaicEvent);
        return true;
      }
      const why =
        status === 413
          ? 'This photo is too large.'
          : status === 415
            ? 'This file is not an image the montage can use.'
            : uploadRefusal(status, body);
      setError(said(why));
    } catch (e) {
      setError(said(messageOf(e)));
    } finally {
      setProgress(null);
    }
    return false;
  };

  /** Each picked photo in turn (each is a new montage version at every site). */
  const sendAll = async (files: readonly File[]) => {
    for (const [i, file] of files.entries()) {
      setBatch({ at: i + 1, of: files.length });
      const which = files.length > 1 ? `Photo ${i + 1} of ${files.length} (${file.name})` : null;
      if (!(await send(file, which))) break;
    }
    setBatch(null);
  };

  return (
    <section className="card" aria-label="Add a photo">
      <h2>Your photos</h2>
      <p className="muted small">
        {event.me.submitted
          ? `${addedSoFar(event.me.photos)}${blocked ? '' : ' Add another?'}`
          : 'Add one or more photos: pick several at once if you like.'}
      </p>
      <label className={blocked || batch !== null ? 'btn btn-disabled' : 'btn btn-primary'}>
        {batch === null
          ? 'Add photos'
          : batch.of > 1
            ? `Uploading ${batch.at} of ${batch.of}…`
            : 'Uploading…'}
        <input
          className="visually-hidden"
          type="file"
          accept="image/*"
          multiple
          disabled={blocked !== null || batch !== null}
          data-testid="event-file-input"
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = '';
            if (files.length > 0) void sendAll(files);
          }}
        />
      </label>
      {blocked && <p className="muted small">{blocked}</p>}
      {progress !== null && <ProgressBar value={progress} label="Photo upload" />}
      {error && <ErrorNote error={error} />}
    </section>
  );
}
