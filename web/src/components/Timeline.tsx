/**
 * The gallery's body: pictures under month and day headers, each day a block of justified
 * rows (every tile keeps its picture's aspect ratio). Titles show on hover or focus; a check on
 * each tile selects it (shift for a range), and so does a long press on a phone.
 *
 * Only the days near the viewport have tiles: every day keeps its section and headers (the
 * month ids the jump list scrolls to), but a day further than `NEAR_MARGIN` from the screen has
 * an empty list of its justified height instead of its tiles, so the page is as tall as the whole
 * list and scrolling stays exact while the DOM holds a few screens of tiles (one
 * IntersectionObserver over the days' lists says which are near). A day holding the focused tile,
 * or the picture the viewer returns to (`keep`), keeps its tiles.
 */
import {
  memo,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type MouseEvent,
  type TouchEvent,
} from 'react';
import { thumbUrl } from '../api/client';
import type { Picture } from '../api/types';
import { pictureHref } from '../gallery-memory';
import { aspectOf, justify, rowOptionsFor, type Box, type RowOptions } from '../lib/justify';
import { dayLabel, groupByDay, localDay, monthLabel } from '../lib/timeline';
import { Link } from '../router';
import { CheckIcon } from './icons';

const LONG_PRESS_MS = 450;
/** Days within this much of the viewport (above and below) have their tiles. */
const NEAR_MARGIN = '200% 0px';
/** Before the observer has answered: the first days, down to this many screen heights. */
const FIRST_SCREENS = 3;
const MOVE_CANCELS_PX = 10;

export interface TileActions {
  /** A click on the check, or on a tile while selecting; `range` with shift. */
  readonly onSelect: (id: string, range: boolean) => void;
  /** A tile is about to open in the viewer. */
  readonly onOpen: (id: string) => void;
}

export function Timeline({
  items,
  width,
  selected,
  context,
  actions,
  keep = null,
}: {
  items: readonly Picture[];
  width: number;
  selected: ReadonlySet<string>;
  context: { category: string; q: string; album?: string };
  actions: TileActions;
  /** A picture whose day has its tiles wherever it is (the one the viewer comes back to). */
  keep?: string | null;
}) {
  // A day whose pictures did not change keeps its array: its rows are not laid out again and
  // its section is not redrawn when a page is appended or another day changes.
  const previous = useRef(new Map<string, Picture[]>());
  const sections = useMemo(() => {
    const before = previous.current;
    const now = new Map<string, Picture[]>();
    const seen = new Map<string, number>();
    const keyed = groupByDay(items).map((section) => {
      // A section's key is its day (and how many times that day came before): a picture
      // inserted at its top must not remount the section and reload every thumbnail in it.
      const nth = seen.get(section.day) ?? 0;
      seen.set(section.day, nth + 1);
      const key = `${section.day}:${nth}`;
      const old = before.get(key);
      const same =
        old !== undefined &&
        old.length === section.items.length &&
        old.every((p, i) => p === section.items[i]);
      const kept = same ? old : section.items;
      now.set(key, kept);
      return { ...section, key, items: kept };
    });
    previous.current = now;
    return keyed;
  }, [items]);
  const today = localDay(new Date().toISOString());
  const rowOptions = useMemo(() => rowOptionsFor(width), [width]);
  const selecting = selected.size > 0;

  // The day holding the focused tile: its tiles stay (focus is not lost to a scroll).
  const [focused, setFocused] = useState<string | null>(null);
  // One observer for every day's list; each day holds whether it is near in its own state, so
  // a scroll redraws only the days that come near or go away, not the whole timeline.
  const observer = useRef<IntersectionObserver | null>(null);
  const watched = useRef(new Map<Element, (near: boolean) => void>());
  useEffect(() => {
    const io = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) watched.current.get(entry.target)?.(entry.isIntersecting);
      },
      { rootMargin: NEAR_MARGIN },
    );
    observer.current = io;
    for (const el of watched.current.keys()) io.observe(el);
    return () => {
      io.disconnect();
      observer.current = null;
    };
  }, []);
  const watch = useCallback((el: Element, setNear: (near: boolean) => void) => {
    watched.current.set(el, setNear);
    observer.current?.observe(el);
    return () => {
      watched.current.delete(el);
      observer.current?.unobserve(el);
    };
  }, []);

  let month = '';
  // A day mounts with its tiles if it is among the first few screens (a gallery opens at its
  // top), until the observer says otherwise; one opened deeper, by the viewer's return, keeps
  // that picture's day.
  let firstHeight = FIRST_SCREENS * window.innerHeight;
  return (
    <div
      className="timeline"
      data-testid="timeline"
      // How many pictures it lists: most days far from the screen have no tiles (see above).
      data-pictures={items.length}
      onFocus={(e) => {
        const day = (e.target as Element).closest<HTMLElement>('[data-key]')?.dataset['key'];
        if (day) setFocused(day);
      }}
    >
      {sections.map((section) => {
        const newMonth = section.month !== month;
        month = section.month;
        const key = section.key;
        const first = firstHeight > 0;
        firstHeight -= roughHeight(section.items.length, width);
        const pinned =
          key === focused || (keep !== null && section.items.some((p) => p.id === keep));
        return (
          <DaySection
            key={key}
            sectionKey={key}
            first={first}
            pinned={pinned}
            watch={watch}
            day={section.day}
            title={dayLabel(section.day, today)}
            monthTitle={newMonth ? monthLabel(section.month) : null}
            monthId={newMonth ? `month-${section.month}` : undefined}
            items={section.items}
            rowOptions={rowOptions}
            selected={selected}
            selecting={selecting}
            category={context.category}
            q={context.q}
            album={context.album ?? ''}
            actions={actions}
          />
        );
      })}
    </div>
  );
}

/** A day's height before its rows are laid out: only to pick the first days to show. */
function roughHeight(count: number, width: number): number {
  const perRow = Math.max(1, Math.floor(width / 250));
  return 60 + Math.ceil(count / perRow) * 230;
}

const DaySection = memo(function DaySection({
  sectionKey,
  first,
  pinned,
  watch,
  day,
  title,
  monthTitle,
  monthId,
  items,
  rowOptions,
  selected,
  selecting,
  category,
  q,
  album,
  actions,
}: {
  sectionKey: string;
  /** Whether it mounts with its tiles (before the observer has said). */
  first: boolean;
  /** Whether it keeps its tiles wherever it is. */
  pinned: boolean;
  watch: (el: Element, setNear: (near: boolean) => void) => () => void;
  day: string;
  title: string;
  monthTitle: string | null;
  monthId: string | undefined;
  items: Picture[];
  rowOptions: RowOptions;
  selected: ReadonlySet<string>;
  selecting: boolean;
  category: string;
  q: string;
  album: string;
  actions: TileActions;
}) {
  const rows = useMemo(
    () =>
      justify(
        items.map((p) => aspectOf(p.width, p.height)),
        rowOptions,
      ),
    [items, rowOptions],
  );
  const [near, setNear] = useState(first);
  const list = useRef<HTMLUListElement>(null);
  useEffect(() => {
    const el = list.current;
    return el ? watch(el, setNear) : undefined;
  }, [watch]);
  const shown = near || pinned;
  return (
    <section className="day" data-day={day} id={monthId}>
      {monthTitle && <h2 className="month-head">{monthTitle}</h2>}
      <h3 className="day-head">{title}</h3>
      <ul
        ref={list}
        className="rows"
        aria-label={title}
        data-key={sectionKey}
        style={{ height: rows.height, containIntrinsicSize: `auto ${rows.height}px` }}
      >
        {(shown ? items : []).map((p, i) => {
          const box = rows.boxes[i];
          return box ? (
            <Tile
              key={p.id}
              picture={p}
              box={box}
              selected={selected.has(p.id)}
              selecting={selecting}
              href={pictureHref(p.id, category, q, album)}
              actions={actions}
            />
          ) : null;
        })}
      </ul>
    </section>
  );
});

interface TileProps {
  readonly picture: Picture;
  readonly box: Box;
  readonly selected: boolean;
  readonly selecting: boolean;
  readonly href: string;
  readonly actions: TileActions;
}

const Tile = memo(function Tile({ picture, box, selected, selecting, href, actions }: TileProps) {
  const press = useRef<{ timer: ReturnType<typeof setTimeout>; x: number; y: number } | null>(null);
  const pressed = useRef(false);

  const onTouchStart = (event: TouchEvent) => {
    const touch = event.touches[0];
    if (!touch || event.touches.length > 1) return;
    pressed.current = false;
    const timer = setTimeout(() => {
      pressed.current = true;
      press.current = null;
      actions.onSelect(picture.id, false);
    }, LONG_PRESS_MS);
    press.current = { timer, x: touch.clientX, y: touch.clientY };
  };
  const cancelPress = () => {
    if (press.current) clearTimeout(press.current.timer);
    press.current = null;
  };
  const onTouchMove = (event: TouchEvent) => {
    const touch = event.touches[0];
    if (!press.current || !touch) return;
    if (
      Math.hypot(touch.clientX - press.current.x, touch.clientY - press.current.y) > MOVE_CANCELS_PX
    )
      cancelPress();
  };
  const onClick = (event: MouseEvent) => {
    if (pressed.current) {
      // The click that ends a long press must not open the picture.
      pressed.current = false;
      event.preventDefault();
      return;
    }
    if (selecting || event.shiftKey) {
      event.preventDefault();
      actions.onSelect(picture.id, event.shiftKey);
      return;
    }
    actions.onOpen(picture.id);
  };

  const label = picture.category ? `${picture.title} (${picture.category})` : picture.title;
  return (
    <li
      className={selected ? 'cell cell-selected' : selecting ? 'cell cell-selecting' : 'cell'}
      data-id={picture.id}
      style={{ top: box.top, left: box.left, width: box.width, height: box.height }}
    >
      <Link
        to={href}
        className="tile"
        data-testid="tile"
        aria-label={label}
        onClick={onClick}
        onTouchStart={onTouchStart}
        onTouchMove={onTouchMove}
        onTouchEnd={cancelPress}
        onTouchCancel={cancelPress}
        onContextMenu={(e) => {
          // A long press on a phone selects; no link menu on top of it.
          if (pressed.current || press.current) e.preventDefault();
        }}
        draggable={false}
      >
        <img
          src={thumbUrl(picture.id)}
          alt={picture.title}
          loading="lazy"
          decoding="async"
          ref={(img) => {
            // A tile mounted again as its day comes near has its thumbnail from the cache: shown
            // at once, without the fade in (a fade per tile made scrolling back cost more).
            if (img?.complete && img.naturalWidth > 0) img.classList.add('loaded');
          }}
          onLoad={(e) => {
            e.currentTarget.classList.add('loaded');
          }}
        />
        <span className="tile-caption">
          <span className="tile-title">{picture.title}</span>
          {picture.category && <span className="tile-category">{picture.category}</span>}
        </span>
      </Link>
      <button
        type="button"
        className="tile-check"
        aria-label={`Select ${picture.title}`}
        aria-pressed={selected}
        onClick={(e) => {
          actions.onSelect(picture.id, e.shiftKey);
        }}
      >
        <CheckIcon />
      </button>
    </li>
  );
}, sameTile);

/** A relayout makes new box objects: a tile whose place did not change is not redrawn. */
function sameTile(a: TileProps, b: TileProps): boolean {
  return (
    a.picture === b.picture &&
    a.selected === b.selected &&
    a.selecting === b.selecting &&
    a.href === b.href &&
    a.actions === b.actions &&
    a.box.top === b.box.top &&
    a.box.left === b.box.left &&
    a.box.width === b.box.width &&
    a.box.height === b.box.height
  );
}
