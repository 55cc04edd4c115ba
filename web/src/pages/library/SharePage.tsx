/**
 * What a share link opens, for anyone who has it (no account): a shared album's pictures in
 * justified rows, a viewer (arrow keys, Esc) and a download button; a shared picture opens
 * large at once, fit to the screen with its title (a grid of one tile said nothing). It
 * uses only `/api/s/:id/…`, which serves nothing but the shared pictures; a password-protected
 * link asks for its password first. A revoked or expired link says so.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../../api/client';
import {
  library,
  shareFileUrl,
  shareThumbUrl,
  type SharedPicture,
  type SharedView,
} from '../../api/library';
import { ErrorNote, messageOf, Spinner } from '../../components/common';
import { Field, FormOutcome, useSubmit } from '../../components/form';
import { CloseIcon, DownloadIcon, Logo, NextIcon, PrevIcon } from '../../components/icons';
import { ZoomStage } from '../../components/ZoomStage';
import { useWidth } from '../../hooks';
import { aspectOf, justify, rowOptionsFor } from '../../lib/justify';
import { formatDay } from '../../lib/format';

type State =
  | { readonly status: 'loading' }
  | { readonly status: 'gone' }
  /** The address is not a share link at all (mistyped, cut short): retrying cannot help. */
  | { readonly status: 'invalid' }
  | { readonly status: 'error'; readonly message: string }
  | { readonly status: 'locked'; readonly view: SharedView }
  | { readonly status: 'open'; readonly view: SharedView; readonly items: SharedPicture[] };

/** A link to one picture that is there: shown large at once (an album's, or none, a grid). */
function single(open: Extract<State, { status: 'open' }>): boolean {
  return open.view.target === 'picture' && open.items.length > 0;
}

export function SharePage({ id }: { id: string }) {
  const [state, setState] = useState<State>({ status: 'loading' });
  const [viewing, setViewing] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      const view = await library.shared(id);
      if (view.locked) {
        setState({ status: 'locked', view });
        return;
      }
      const items: SharedPicture[] = [];
      let cursor: string | null = null;
      do {
        const page = await library.sharedPictures(id, cursor);
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null && items.length < 2000);
      setState({ status: 'open', view, items });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setState({ status: 'gone' });
      else if (e instanceof ApiError && e.status === 400) setState({ status: 'invalid' });
      else setState({ status: 'error', message: messageOf(e) });
    }
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <div className="share-shell">
      <header className="share-top">
        <span className="brand">
          <Logo />
          <span>Mosaic</span>
        </span>
        <span className="muted small">Shared with you</span>
      </header>
      <main id="main" className="page share-page">
        {state.status === 'loading' && <Spinner />}
        {state.status === 'gone' && (
          <div className="empty">
            <h1>This link no longer works</h1>
            <p className="muted">It was revoked or has expired. Ask the person who sent it.</p>
          </div>
        )}
        {state.status === 'invalid' && (
          <div className="empty">
            <h1>This is not a share link</h1>
            <p className="muted">
              The address is incomplete or mistyped. Check the link you were sent, or ask for it
              again.
            </p>
          </div>
        )}
        {state.status === 'error' && (
          <ErrorNote error={state.message} onRetry={() => void load()} />
        )}
        {state.status === 'locked' && (
          <Unlock id={id} target={state.view.target} onUnlocked={() => void load()} />
        )}
        {state.status === 'open' && single(state) && (
          <SharedViewer
            shareId={id}
            items={state.items.slice(0, 1)}
            index={0}
            note={state.view.expiresAt && `Link valid until ${formatDay(state.view.expiresAt)}`}
          />
        )}
        {state.status === 'open' && !single(state) && (
          <>
            <div className="share-head">
              <h1>{state.view.title || 'Shared picture'}</h1>
              {state.view.desc && <p className="album-desc">{state.view.desc}</p>}
              <p className="muted small">
                {state.items.length} {state.items.length === 1 ? 'picture' : 'pictures'}
                {state.view.expiresAt && ` · link valid until ${formatDay(state.view.expiresAt)}`}
              </p>
            </div>
            <SharedGrid shareId={id} items={state.items} onOpen={setViewing} />
            {viewing !== null && state.items[viewing] && (
              <SharedViewer
                shareId={id}
                items={state.items}
                index={viewing}
                onMove={setViewing}
                onClose={() => {
                  setViewing(null);
                }}
              />
            )}
          </>
        )}
      </main>
    </div>
  );
}

/** A locked link's form: nothing of what it opens is known before (the server says nothing). */
function Unlock({
  id,
  target,
  onUnlocked,
}: {
  id: string;
  target: 'picture' | 'album';
  onUnlocked: () => void;
}) {
  const [password, setPassword] = useState('');
  const form = useSubmit(async () => {
    await library.unlockShared(id, password);
    onUnlocked();
  });
  return (
    <form className="card share-unlock" {...form.formProps}>
      <h1>{target === 'picture' ? 'A shared picture' : 'Shared pictures'}</h1>
      <p className="muted">This link is protected by a password.</p>
      <Field
        label="Password"
        type="password"
        name="share-password"
        autoComplete="current-password"
        value={password}
        onValue={setPassword}
        required
      />
      <FormOutcome outcome={form.outcome} />
      <button type="submit" className="btn btn-primary btn-block">
        Open
      </button>
    </form>
  );
}

function SharedGrid({
  shareId,
  items,
  onOpen,
}: {
  shareId: string;
  items: readonly SharedPicture[];
  onOpen: (index: number) => void;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const rows = useMemo(
    () =>
      justify(
        items.map((p) => aspectOf(p.width, p.height)),
        rowOptionsFor(width),
      ),
    [items, width],
  );
  return (
    <div ref={ref} className="timeline-wrap">
      <ul className="rows" aria-label="Shared pictures" style={{ height: rows.height }}>
        {items.map((p, i) => {
          const box = rows.boxes[i];
          return box ? (
            <li
              key={p.id}
              className="cell"
              style={{ top: box.top, left: box.left, width: box.width, height: box.height }}
            >
              <button
                type="button"
                className="tile"
                data-testid="shared-tile"
                aria-label={p.title}
                onClick={() => {
                  onOpen(i);
                }}
              >
                <img
                  src={shareThumbUrl(shareId, p.id, 'small')}
                  alt={p.title}
                  loading="lazy"
                  decoding="async"
                  onLoad={(e) => {
                    e.currentTarget.classList.add('loaded');
                  }}
                />
                <span className="tile-caption">
                  <span className="tile-title">{p.title}</span>
                </span>
              </button>
            </li>
          ) : null;
        })}
      </ul>
    </div>
  );
}

function SharedViewer({
  shareId,
  items,
  index,
  onMove,
  onClose,
  note,
}: {
  shareId: string;
  items: readonly SharedPicture[];
  index: number;
  /** Absent for a link to one picture: nothing to walk, nothing to go back to. */
  onMove?: (index: number) => void;
  onClose?: () => void;
  /** A line under the picture (a single picture's link: until when it works). */
  note?: string | null;
}) {
  const picture = items[index];
  const [original, setOriginal] = useState(false);
  useEffect(() => {
    setOriginal(false);
  }, [index]);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose?.();
      if (event.key === 'ArrowLeft' && index > 0) onMove?.(index - 1);
      if (event.key === 'ArrowRight' && index < items.length - 1) onMove?.(index + 1);
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
    };
  }, [index, items.length, onMove, onClose]);
  if (!picture) return null;
  const single = onClose === undefined;
  return (
    <div
      className="viewer share-viewer"
      role={single ? 'region' : 'dialog'}
      aria-label={picture.title}
      data-testid="shared-viewer"
    >
      <div className="viewer-bar">
        {onClose && (
          <button
            type="button"
            className="btn btn-ghost btn-icon"
            onClick={onClose}
            aria-label="Close"
          >
            <CloseIcon />
          </button>
        )}
        {!single && (
          <span className="viewer-position">
            {index + 1} / {items.length}
          </span>
        )}
        {single ? (
          <h1 className="share-title">{picture.title || 'Shared picture'}</h1>
        ) : (
          <span className="share-title">{picture.title}</span>
        )}
        <a className="btn btn-small" href={shareFileUrl(shareId, picture.id, true)} download>
          <DownloadIcon /> Download
        </a>
      </div>
      <div className="viewer-main">
        <ZoomStage
          key={picture.id}
          src={
            original
              ? shareFileUrl(shareId, picture.id)
              : shareThumbUrl(shareId, picture.id, 'large')
          }
          alt={picture.title}
          aspect={aspectOf(picture.width, picture.height)}
          onSwipe={(direction) => {
            if (direction === 'next' && index < items.length - 1) onMove?.(index + 1);
            if (direction === 'prev' && index > 0) onMove?.(index - 1);
          }}
          onZoomChange={(scale) => {
            // Zoomed past 2x, the 1600 px preview runs out of detail: the original.
            if (scale >= 2) setOriginal(true);
          }}
        />
        {index > 0 && (
          <button
            type="button"
            className="viewer-nav viewer-prev"
            aria-label="Previous picture"
            onClick={() => {
              onMove?.(index - 1);
            }}
          >
            <PrevIcon />
          </button>
        )}
        {index < items.length - 1 && (
          <button
            type="button"
            className="viewer-nav viewer-next"
            aria-label="Next picture"
            onClick={() => {
              onMove?.(index + 1);
            }}
          >
            <NextIcon />
          </button>
        )}
      </div>
      {picture.desc && <p className="share-desc">{picture.desc}</p>}
      {note && <p className="share-desc small">{note}</p>}
    </div>
  );
}
