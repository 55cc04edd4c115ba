/** The participants' workspace: links, the montage and its vote, upload, and the people. */
import { useState } from 'react';
import { api, montageUrl } from '../../api/client';
import type { MosaicEvent } from '../../api/types';
import { PHASE_LABEL, canSeeMontage } from '../../lib/event-rules';
import { recoveryUrlOf } from '../../lib/recovery';
import { LinkBox } from '../../components/LinkBox';
import { InviteLink } from './InviteLink';
import { Participants } from './Participants';
import { PhotoUpload } from './PhotoUpload';
import { VotePanel } from './VotePanel';
import { WaitingSites } from './WaitingSites';

export function EventWorkspace({
  event,
  onChange,
}: {
  event: MosaicEvent;
  onChange: (event: MosaicEvent) => void;
}) {
  const recoveryUrl = recoveryUrlOf(window.localStorage, event.id);
  const [removed, setRemoved] = useState<string | null>(null);
  return (
    <div className="event">
      <header className="event-head">
        <div>
          <h1>{event.title}</h1>
          <p className="muted small">
            Round {event.round} · started at {event.origin}
            {event.me.name && <> · you are {event.me.name}</>}
          </p>
        </div>
        <span className={`phase phase-${event.phase}`} data-testid="phase">
          {PHASE_LABEL[event.phase]}
        </span>
      </header>
      <WaitingSites event={event} />
      <InviteLink event={event} removed={removed} onChange={onChange} />
      {recoveryUrl && (
        <LinkBox
          id="recovery-url"
          secret
          label="Your personal link"
          url={recoveryUrl}
          note="Keep it to yourself: it brings you back to this event as yourself on another phone or browser, with your photos and your vote."
        />
      )}
      <div className="event-layout">
        <section className="card montage-card" aria-label="Montage">
          <div className="montage-head">
            <h2>Montage</h2>
            <span className="badge" data-testid="montage-version">
              {event.montageVersion === 0 ? 'no photo yet' : `version ${event.montageVersion}`}
            </span>
          </div>
          <Montage event={event} />
          <VotePanel event={event} onChange={onChange} />
        </section>
        <div className="event-side">
          <PhotoUpload event={event} onChange={onChange} />
          <Participants
            event={event}
            onRemoved={(name) => {
              setRemoved(name);
              void api.event(event.id).then(onChange, () => undefined);
            }}
          />
        </div>
      </div>
    </div>
  );
}

function Montage({ event }: { event: MosaicEvent }) {
  if (event.montageVersion === 0) {
    return <div className="montage-empty muted">The montage appears with the first photo.</div>;
  }
  if (!canSeeMontage(event)) {
    return (
      <div className="montage-empty muted">
        Add a photo to see the montage ({event.photos.length} so far).
      </div>
    );
  }
  return (
    <img
      key={event.montageVersion}
      className="montage"
      src={montageUrl(event.id, event.montageVersion)}
      alt={`Montage of “${event.title}”, version ${event.montageVersion}`}
    />
  );
}
