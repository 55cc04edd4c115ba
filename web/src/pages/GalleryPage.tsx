/**
 * The gallery: a square grid of thumbnails, newest first, paged by cursor as the end comes
 * into view, filtered by category and searched in title and description. Changes at any node
 * arrive over server-sent events and refresh what is shown, without a reload.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, thumbUrl } from '../api/client';
import type { Picture } from '../api/types';
import { useAuth } from '../auth';
import { EmptyState, ErrorNote, messageOf } from '../components/common';
import { GalleryIcon, SearchIcon } from '../components/icons';
import { useDebounced, useLiveUpdates } from '../hooks';
import { paths } from '../lib/routes';
import { Link, navigate, useLocation } from '../router';

const PAGE = 48;
const MAX_REFRESH = 200;

interface ListState {
  readonly items: Picture[];
  readonly nextCursor: string | null;
  readonly loading: boolean;
  readonly error: string | null;
  /** The first page has arrived (before that: skeleton tiles). */
  readonly loaded: boolean;
}

const initial: ListState = {
  items: [],
  nextCursor: null,
  loading: true,
  error: null,
  loaded: false,
};

export function GalleryPage() {
  const { handleError } = useAuth();
  const { search } = useLocation();
  const category = search.get('category') ?? '';
  const q = search.get('q') ?? '';

  const [text, setText] = useState(q);
  const debounced = useDebounced(text, 250);
  const [list, setList] = useState<ListState>(initial);
  const [categories, setCategories] = useState<string[]>([]);
  const generation = useRef(0);
  const itemsCount = useRef(0);
  itemsCount.current = list.items.length;

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

  const learnCategories = useCallback((items: readonly Picture[]) => {
    setCategories((known) => {
      const next = new Set(known);
      for (const p of items) if (p.category) next.add(p.category);
      return next.size === known.length ? known : [...next].sort((a, b) => a.localeCompare(b));
    });
  }, []);

  /** Loads from the start again; `keep` pictures at least as many as are shown (live refresh). */
  const reload = useCallback(
    async (keep: number) => {
      const mine = ++generation.current;
      setList((s) => ({ ...s, loading: true, error: null }));
      try {
        const limit = Math.min(MAX_REFRESH, Math.max(PAGE, keep));
        const page = await api.pictures({ category, q, limit });
        if (mine !== generation.current) return;
        learnCategories(page.items);
        setList({
          items: page.items,
          nextCursor: page.nextCursor,
          loading: false,
          error: null,
          loaded: true,
        });
      } catch (error) {
        if (mine !== generation.current) return;
        handleError(error);
        setList((s) => ({ ...s, loading: false, loaded: true, error: messageOf(error) }));
      }
    },
    [category, q, handleError, learnCategories],
  );

  useEffect(() => {
    setList(initial);
    void reload(PAGE);
  }, [reload]);

  const loadMore = useCallback(async () => {
    if (list.loading || list.nextCursor === null) return;
    const mine = ++generation.current;
    setList((s) => ({ ...s, loading: true, error: null }));
    try {
      const page = await api.pictures({ category, q, limit: PAGE, cursor: list.nextCursor });
      if (mine !== generation.current) return;
      learnCategories(page.items);
      setList((s) => ({
        items: dedupe([...s.items, ...page.items]),
        nextCursor: page.nextCursor,
        loading: false,
        error: null,
        loaded: true,
      }));
    } catch (error) {
      if (mine !== generation.current) return;
      handleError(error);
      setList((s) => ({ ...s, loading: false, error: messageOf(error) }));
    }
  }, [list.loading, list.nextCursor, category, q, handleError, learnCategories]);

  const live = useLiveUpdates(() => void reload(itemsCount.current));

  // Infinite scroll: load the next page when the end of the grid comes near.
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || list.nextCursor === null) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) void loadMore();
      },
      { rootMargin: '600px 0px' },
    );
    observer.observe(el);
    return () => {
      observer.disconnect();
    };
  }, [loadMore, list.nextCursor]);

  const chips = category && !categories.includes(category) ? [...categories, category] : categories;
  const filtering = category !== '' || q !== '';

  return (
    <div className="gallery">
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
      <nav className="chips" aria-label="Categories">
        <Link
          to={galleryHref('', q)}
          className={category === '' ? 'chip chip-on' : 'chip'}
          aria-current={category === '' ? 'true' : undefined}
        >
          All
        </Link>
        {chips.map((c) => (
          <Link
            key={c}
            to={galleryHref(c, q)}
            className={category === c ? 'chip chip-on' : 'chip'}
            aria-current={category === c ? 'true' : undefined}
          >
            {c}
          </Link>
        ))}
      </nav>

      {list.error && (
        <ErrorNote error={list.error} onRetry={() => void reload(itemsCount.current)} />
      )}

      {!list.loaded ? (
        <div className="grid" aria-busy="true" aria-label="Loading pictures">
          {Array.from({ length: 12 }, (_, i) => (
            <div key={i} className="tile tile-skeleton" />
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
        <ul className="grid" aria-label="Pictures">
          {list.items.map((p) => (
            <li key={p.id}>
              <Link
                to={paths.picture(p.id)}
                className="tile"
                data-testid="tile"
                aria-label={p.category ? `${p.title} (${p.category})` : p.title}
              >
                <img src={thumbUrl(p.id)} alt={p.title} loading="lazy" decoding="async" />
                <span className="tile-caption">
                  <span className="tile-title">{p.title}</span>
                  {p.category && <span className="tile-category">{p.category}</span>}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}

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

const liveTitle = {
  live: 'New pictures from every node appear as they arrive',
  connecting: 'Connecting to live updates',
  offline: 'Live updates interrupted; reconnecting',
} as const;

function galleryHref(category: string, q: string): string {
  const params = new URLSearchParams();
  if (category) params.set('category', category);
  if (q) params.set('q', q);
  const query = params.toString();
  return query ? `/?${query}` : '/';
}

function dedupe(items: Picture[]): Picture[] {
  const seen = new Set<string>();
  return items.filter((p) => (seen.has(p.id) ? false : (seen.add(p.id), true)));
}
