/**
 * The gallery's body: pictures under month and day headers, each day a block of justified
 * rows (every tile keeps its picture's aspect ratio). Titles show on hover or focus; a check on
 * each tile selects it (shift for a range), and so does a long press on a phone.
 */
import { memo, useMemo, useRef, type MouseEvent, type TouchEvent } from 'react';
import { thumbUrl } from '../api/client';
import type { Picture } from '../api/types';
import { pictureHref } from '../gallery-memory';
import { aspectOf, justify, rowOptionsFor, type Box, type RowOptions } from '../lib/justify';
import { dayLabel, groupByDay, localDay, monthLabel } from '../lib/timeline';
import { Link } from '../router';
import { CheckIcon } from './icons';

const LONG_PRESS_MS = 450;
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
}: {
  items: readonly Picture[];
  width: number;
  selected: ReadonlySet<string>;
  context: { category: string; q: string; album?: string };
  actions: TileActions;
}) {
  const sections = useMemo(() => groupByDay(items), [items]);
  const today = localDay(new Date().toISOString());
  const rowOptions = useMemo(() => rowOptionsFor(width), [width]);
  const selecting = selected.size > 0;
  let month = '';
  // A section's key is its day (and how many times that day came before): a picture inserted
  // at its top must not remount the section and reload every thumbnail in it.
  const seen = new Map<string, number>();
  return (
    <div className="timeline" data-testid="timeline">
      {sections.map((section) => {
        const newMonth = section.month !== month;
        month = section.month;
        const nth = seen.get(section.day) ?? 0;
        seen.set(section.day, nth + 1);
        return (
          <DaySection
            key={`${section.day}:${nth}`}
            day={section.day}
            title={dayLabel(section.day, today)}
            monthTitle={newMonth ? monthLabel(section.month) : null}
            monthId={newMonth ? `month-${section.month}` : undefined}
            items={section.items}
            rowOptions={rowOptions}
            selected={selected}
            selecting={selecting}
            context={context}
            actions={actions}
          />
        );
      })}
    </div>
  );
}

function DaySection({
  day,
  title,
  monthTitle,
  monthId,
  items,
  rowOptions,
  selected,
  selecting,
  context,
  actions,
}: {
  day: string;
  title: string;
  monthTitle: string | null;
  monthId: string | undefined;
  items: Picture[];
  rowOptions: RowOptions;
  selected: ReadonlySet<string>;
  selecting: boolean;
  context: { category: string; q: string; album?: string };
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
  return (
    <section className="day" data-day={day} id={monthId}>
      {monthTitle && <h2 className="month-head">{monthTitle}</h2>}
      <h3 className="day-head">{title}</h3>
      <ul
        className="rows"
        aria-label={title}
        style={{ height: rows.height, containIntrinsicSize: `auto ${rows.height}px` }}
      >
        {items.map((p, i) => {
          const box = rows.boxes[i];
          return box ? (
            <Tile
              key={p.id}
              picture={p}
              box={box}
              selected={selected.has(p.id)}
              selecting={selecting}
              href={pictureHref(p.id, context.category, context.q, context.album)}
              actions={actions}
            />
          ) : null;
        })}
      </ul>
    </section>
  );
}

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
