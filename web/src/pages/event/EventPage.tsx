/**
 * One event, at /e/:id: the invite page (?invite=… lets a person join with a name), the
 * participants' workspace (upload, the current montage and its version, who has voted, the
 * voting countdown, accept/reject), and the public page once the montage is published.
 * It polls GET /api/events/:id every 2 s.
 */
import { useCallback, useState } from 'react';
import { ApiError, api } from '../../api/client';
import type { MosaicEvent } from '../../api/types';
import { EmptyState, Spinner, messageOf } from '../../components/common';
import { EventsIcon } from '../../components/icons';
import { usePolling } from '../../hooks';
import { isFull, isMember } from '../../lib/event-rules';
import { keepRecoveryUrl } from '../../lib/recovery';
import { navigate, useLocation } from '../../router';
import { JoinCard } from './JoinCard';
import { PublishedEvent } from './PublishedEvent';
import { EventWorkspace } from './Workspace';

const POLL_MS = 2000;

type Load =
  | { readonly state: 'loading' }
  | { readonly state: 'ok'; readonly event: MosaicEvent }
  | {
      readonly state: 'error';
      readonly status: number;
      readonly code: string;
      readonly message: string;
    };

export function EventPage({ id }: { id: string }) {
  const { search, pathname } = useLocation();
  const invite = search.get('invite');
  const recover = search.get('recover');
  const [load, setLoad] = useState<Load>({ state: 'loading' });

  const refresh = useCallback(async () => {
    try {
      // A recovery link restores the participant (sets the cookie) before anything else.
      const event =
        recover !== null ? await api.recoverEvent(id, recover) : await api.event(id, invite);
      if (recover !== null) {
        keepRecoveryUrl(window.localStorage, id, window.location.href);
        navigate(pathname, { replace: true });
      }
      setLoad({ state: 'ok', event });
    } catch (e) {
      setLoad((current) =>
        // A passing network failure keeps what is shown; a refusal replaces it.
        current.state === 'ok' && e instanceof ApiError && e.status === 0
          ? current
          : {
              state: 'error',
              status: e instanceof ApiError ? e.status : 0,
              code: e instanceof ApiError ? e.code : '',
              message: messageOf(e),
            },
      );
    }
  }, [id, invite, recover, pathname]);

  const published = load.state === 'ok' && load.event.phase === 'published';
  usePolling(refresh, POLL_MS, !published);

  const joined = (event: MosaicEvent) => {
    if (event.recoveryUrl) keepRecoveryUrl(window.localStorage, event.id, event.recoveryUrl);
    setLoad({ state: 'ok', event });
    // The invite has done its job: the participant cookie now identifies this person.
    navigate(pathname, { replace: true });
  };

  if (load.state === 'loading') return <Spinner label="Loading the event…" />;
  if (load.state === 'error') {
    // The organiser replaced this link (or it is mistyped): say so rather than offer to join.
    if (invite !== null && load.code === 'invite_invalid') {
      return (
        <EmptyState title="This invite link no longer works" icon={<EventsIcon />}>
          <p className="muted" data-testid="invite-invalid">
            {load.message}
          </p>
        </EmptyState>
      );
    }
    if (invite !== null) {
      return <JoinCard id={id} invite={invite} title={null} full={false} onJoined={joined} />;
    }
    return (
      <EmptyState
        title={
          recover !== null
            ? 'This personal link did not work'
            : load.status === 404
              ? 'No such event'
              : 'This event is private'
        }
        icon={<EventsIcon />}
      >
        <p className="muted">
          {recover !== null
            ? load.message
            : load.status === 403
              ? 'Open the invite link you were sent to join it.'
              : load.status === 404
                ? 'The link may be mistyped, or the event is not known at this node yet.'
                : load.message}
        </p>
      </EmptyState>
    );
  }

  const event = load.event;
  if (event.phase === 'published') return <PublishedEvent event={event} />;
  if (!isMember(event) && invite !== null) {
    return (
      <JoinCard
        id={id}
        invite={invite}
        title={event.title}
        full={isFull(event)}
        onJoined={joined}
      />
    );
  }
  return (
    <EventWorkspace
      event={event}
      onChange={(e) => {
        setLoad({ state: 'ok', event: e });
      }}
    />
  );
}
