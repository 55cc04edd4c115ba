/**
 * The gallery: a timeline of justified rows under day and month headers, newest first, paged
 * by cursor as the end comes into view, filtered by category and searched in title and
 * description, with a year/month jump. Changes at any node arrive over server-sent events and
 * are folded in picture by picture (no reload of what is shown). Pictures can be selected for
 * bulk actions. What is shown is remembered while the viewer is open, so that Esc comes back
 * to the same place.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Timeline as TimelineIndex } from '../api/types';
import { useAuth } from '../auth';
import { canChange } from '../lib/permissions';
import { EmptyState, ErrorNote } from '../components/common';
import { GalleryIcon, SearchIcon } from '../components/icons';
import { JumpList } from '../components/JumpList';
import { SelectionBar } from '../components/SelectionBar';
import { Timeline, type TileActions } from '../components/Timeline';
import { galleryHref, recall, remember } from '../gallery-memory';
import { useDebounced, useWidth } from '../hooks';
import { foldChanges } from '../lib/gallery-list';
import { paths } from '../lib/routes';
import { emptySelection, keepOnly, selectRange, toggle, type Selection } from '../lib/selection';
import { groupByDay, monthIndex, type YearEntry } from '../lib/timeline';
import { Link, navigate, useLocation } from '../router';
import { useGalleryIndex } from './useGalleryIndex';
import { useGalleryList } from './useGalleryList';

/** A jump to a month not loaded yet pages on until it is, at most this many pages. */
const MAX_JUMP_PAGES = 40;

export function GalleryPage() {
  const { auth, handleError } = useAuth();
  const me = auth.status === 'signed-in' ? auth.user : null;
  const { search } = useLocation();
  const category = search.get('category') ?? '';
  const q = search.get('q') ?? '';
  const key = galleryHref(category, q);

  const [text, setText] = useState(q);
  const debounced = useDebounced(text, 250);
  // The month index and the categories come from the server, asked again on live changes.
  const { months: index, categories, refresh: refreshIndex } = useGalleryIndex(category, q);
  const { list, setList, reload, loadMore, live } = useGalleryList(category, q);
  const [selection, setSelection] = useState<Selection>(emptySelection);
  const [jump, setJump] = useState<{ month: string; pages: number } | null>(null);
  const [ref, width] = useWidth<HTMLDivElement>();
  // Another filter: another selection.
  useEffect(() => {
    setSelection(emptySelection);
  }, [key]);

  // A link (a chip, "Show everything", back) changed the search: show it in the box.
  useEffect(() => {
    setText((current) => (current.trim() === q ? current : q));
  }, [q]);

  // The search box writes the query string (so back and reload keep the search), only when
  // what was typed settles: a link that changed the query must not be overwritten.
  const typed = useRef(debounced);
  useEffect(() => {
    if (typed.current === debounced) return;
    typed.current = debounced;
    if (debounced.trim() !== q)
      navigate(galleryHref(category, debounced.trim()), { replace: true });
  }, [debounced, q, category]);

  // Infinite scroll: load the next page when the end of the timeline comes near. The observer
  // is made anew when a load ends: one that fired during a load (whose loadMore did nothing)
  // would not fire again while the end stays near, and the grid would stop there.
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || list.nextCursor === null || list.loading) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) void loadMore();
      },
      { rootMargin: '800px 0px' },
    );
    observer.observe(el);
    return () => {
      observer.disconnect();
    };
  }, [loadMore, list.nextCursor, list.loading]);

  useEffect(() => {
    const onScroll = () => {
      // navigate() scrolls to the top for the next page before this one unmounts: ignore it.
      if (window.location.pathname === '/') remember(key, { scrollY: window.scrollY });
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      window.removeEventListener('scroll', onScroll);
    };
  }, [key]);

  // Coming back from the viewer: the same scroll place, and the picture last viewed in view
  // (the timeline keeps that picture's tiles, wherever the observer says the screen is).
  const [returnTo] = useState(() => recall(key)?.lastViewed ?? null);
  const restored = useRef(false);
  useLayoutEffect(() => {
    if (restored.current || width === 0 || !list.loaded) return;
    restored.current = true;
    const memory = recall(key);
    if (!memory) return;
    if (memory.scrollY > 0) window.scrollTo(0, memory.scrollY);
    const last = memory.lastViewed;
    remember(key, { lastViewed: null });
    if (!last) return;
    const tile = document.querySelector(`[data-id="${CSS.escape(last)}"]`);
    if (!tile) return;
    const rect = tile.getBoundingClientRect();
    if (rect.bottom < 0 || rect.top > window.innerHeight) tile.scrollIntoView({ block: 'center' });
    tile.querySelector<HTMLElement>('.tile')?.focus({ preventScroll: true });
  }, [width, list.loaded, key]);

  // Selection: ids no longer shown leave it; Escape clears it, unless it closes a dialog (the
  // selection bar's "Add to album", "Set category", "Delete"): the selection stays for a retry.
  const order = useMemo(() => list.items.map((p) => p.id), [list.items]);
  useEffect(() => {
    setSelection((s) => keepOnly(s, new Set(order)));
  }, [order]);
  const selecting = selection.ids.size > 0;
  useEffect(() => {
    if (!selecting) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      if (document.querySelector('dialog[open]') !== null) return;
      setSelection(emptySelection);
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
    };
  }, [selecting]);

  const orderRef = useRef(order);
  orderRef.current = order;
  const actions: TileActions = useMemo(
    () => ({
      onSelect: (id, range) => {
        setSelection((s) => (range ? selectRange(s, orderRef.current, id) : toggle(s, id)));
      },
      onOpen: (id) => {
        remember(key, { scrollY: window.scrollY, lastViewed: id });
      },
    }),
    [key],
  );

  // The year/month jump: to a month loaded already, or paging on until it is.
  const sections = useMemo(() => groupByDay(list.items), [list.items]);
  const years: YearEntry[] = useMemo(
    () => (index ? indexYears(index) : monthIndex(sections)),
    [index, sections],
  );
  useEffect(() => {
    if (!jump) return;
    const target = document.getElementById(`month-${jump.month}`);
    if (target) {
      target.scrollIntoView({ block: 'start' });
      setJump(null);
    } else if (list.nextCursor !== null && jump.pages < MAX_JUMP_PAGES && !list.loading) {
      setJump({ month: jump.month, pages: jump.pages + 1 });
      void loadMore();
    } else if (list.nextCursor === null) {
      setJump(null);
    }
  }, [jump, list.items, list.nextCursor, list.loading, loadMore]);
  const [currentMonth, setCurrentMonth] = useState<string | null>(null);
  useEffect(() => {
    const onScroll = () => {
      const heads = document.querySelectorAll<HTMLElement>('.day[id^="month-"]');
      let month: string | null = null;
      for (const head of heads) {
        if (head.getBoundingClientRect().top > 120) break;
        month = head.id.slice(6);
      }
      setCurrentMonth(month ?? (heads[0]?.id.slice(6) || null));
    };
    onScroll();
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      window.removeEventListener('scroll', onScroll);
    };
  }, [sections]);

  // Every category of the library, and the one asked for even if it holds nothing (any more).
  const chips =
    category && !categories.some((c) => c.name === category)
      ? [...categories, { name: category, count: 0 }]
      : categories;
  const filtering = category !== '' || q !== '';
  const selectedIds = useMemo(() => [...selection.ids], [selection.ids]);
  const changeableIds = useMemo(() => {
    const byId = new Map(list.items.map((p) => [p.id, p]));
    return selectedIds.filter((id) => {
      const picture = byId.get(id);
      return picture !== undefined && canChange(me, picture);
    });
  }, [selectedIds, list.items, me]);

  return (
    <div className={selecting ? 'gallery gallery-selecting' : 'gallery'}>
      {selecting && (
        <SelectionBar
          ids={selectedIds}
          changeable={changeableIds}
          onClear={() => {
            setSelection(emptySelection);
          }}
          onDeleted={(ids) => {
            setList((s) => ({
              ...s,
              items: foldChanges(
                s.items,
                ids.map((id) => ({ id, picture: null })),
                { complete: true, matches: () => true },
              ),
            }));
          }}
          onUpdated={(pictures) => {
            refreshIndex();
            const done = new Set(pictures.map((p) => p.id));
            setList((s) => ({
              ...s,
              items: foldChanges(
                s.items,
                pictures.map((p) => ({ id: p.id, picture: p })),
                {
                  complete: s.nextCursor === null,
                  matches: (p) => !category || p.category === category,
                },
              ),
            }));
            setSelection((s) => ({
              ids: new Set([...s.ids].filter((id) => !done.has(id))),
              anchor: null,
            }));
          }}
          onError={handleError}
        />
      )}
      <div className="gallery-head">
        <div className="title-row">
          <h1>Gallery</h1>
          <span className={`live live-${live}`} title={liveTitle[live]}>
            <span className="live-dot" aria-hidden="true" />
            {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting' : 'Reconnecting'}
          </span>
        </div>
        <form
          className="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(galleryHref(category, text.trim()), { replace: true });
          }}
        >
          <SearchIcon />
          <input
            type="search"
            name="q"
            placeholder="Search titles and descriptions"
            aria-label="Search titles and descriptions"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
            }}
          />
        </form>
      </div>
      <div className="gallery-bar">
        <nav className="chips" aria-label="Categories">
          <Link
            to={galleryHref('', q)}
            className={category === '' ? 'chip chip-on' : 'chip'}
            aria-current={category === '' ? 'true' : undefined}
          >
            All
          </Link>
          {chips.map(({ name, count }) => (
            <Link
              key={name}
              to={galleryHref(name, q)}
              className={category === name ? 'chip chip-on' : 'chip'}
              aria-current={category === name ? 'true' : undefined}
              title={count === 1 ? '1 picture' : `${count} pictures`}
            >
              {name}
            </Link>
          ))}
        </nav>
        {list.items.length > 0 && (
          // The month list is many stops for the keyboard: this goes past it to the pictures.
          <a className="skip-link" href="#pictures">
            Skip to the pictures
          </a>
        )}
        {list.items.length > 0 && (
          <JumpList
            years={years}
            current={currentMonth}
            onJump={(month) => {
              setJump({ month, pages: 0 });
            }}
          />
        )}
      </div>

      {list.error && (
        <ErrorNote error={list.error} onRetry={() => void reload(list.items.length)} />
      )}

      <div ref={ref} className="timeline-wrap" id="pictures" tabIndex={-1}>
        {!list.loaded ? (
          <div className="skeleton" aria-busy="true" aria-label="Loading pictures">
            {skeletonWidths.map((w, i) => (
              <div key={i} className="tile-skeleton" style={{ flexGrow: w, flexBasis: w * 120 }} />
            ))}
          </div>
        ) : list.items.length === 0 && !list.error ? (
          filtering ? (
            <EmptyState title="Nothing matches" icon={<SearchIcon />}>
              <p className="muted">
                No picture {q ? <>mentions “{q}”</> : null}
                {q && category ? ' in ' : category ? 'in ' : null}
                {category ? <>“{category}”</> : null}.
              </p>
              <Link to={paths.gallery} className="btn">
                Show everything
              </Link>
            </EmptyState>
          ) : (
            <EmptyState title="No pictures yet" icon={<GalleryIcon />}>
              <p className="muted">Pictures uploaded at any node appear here.</p>
              <Link to={paths.upload} className="btn btn-primary">
                Upload pictures
              </Link>
            </EmptyState>
          )
        ) : (
          <Timeline
            items={list.items}
            width={width}
            selected={selection.ids}
            context={{ category, q }}
            actions={actions}
            keep={returnTo}
          />
        )}
      </div>

      <div ref={sentinel} className="sentinel" />
      {list.nextCursor !== null && (
        <div className="more">
          <button
            type="button"
            className="btn"
            onClick={() => void loadMore()}
            disabled={list.loading}
          >
            {list.loading ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
    </div>
  );
}

const skeletonWidths = [1.5, 1, 0.75, 1.33, 1, 1.5, 0.67, 1.2, 1, 1.78, 0.8, 1.33];

const liveTitle = {
  live: 'New pictures from every node appear as they arrive',
  connecting: 'Connecting to live updates',
  offline: 'Live updates interrupted; reconnecting',
} as const;

function indexYears(index: TimelineIndex): YearEntry[] {
  const years: YearEntry[] = [];
  for (const m of [...index.months].sort((a, b) => b.month.localeCompare(a.month))) {
    const year = m.month.slice(0, 4);
    let entry = years.at(-1);
    if (entry?.year !== year) {
      entry = { year, months: [] };
      years.push(entry);
    }
    entry.months.push(m);
  }
  return years;
}
