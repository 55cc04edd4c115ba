/**
 * The account menu of the top bar: a disclosure (<details>) of two links, Account and Trash.
 * It closes as a person expects of a pop-up: on Esc (focus back on its button), on a click or
 * tap anywhere else, and when the page changes; before, it closed only through its own links
 * and stayed open over the page's corner.
 */
import { useEffect, useRef } from 'react';
import type { User } from '../api/types';
import { paths } from '../lib/routes';
import { Link } from '../router';

export function AccountMenu({ user, pathname }: { user: User; pathname: string }) {
  const ref = useRef<HTMLDetailsElement>(null);

  useEffect(() => {
    const menu = ref.current;
    if (!menu) return;
    const close = () => {
      menu.open = false;
    };
    const onPointer = (event: PointerEvent) => {
      if (menu.open && !menu.contains(event.target as Node)) close();
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || !menu.open) return;
      event.preventDefault();
      close();
      menu.querySelector('summary')?.focus();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, []);

  // A page change (a link followed, Back, a tab) closes it.
  useEffect(() => {
    if (ref.current) ref.current.open = false;
  }, [pathname]);

  return (
    <details className="account-menu" ref={ref}>
      <summary className="whoami" title={`Signed in as ${user.username}`} aria-label="Account menu">
        <span className="avatar" aria-hidden="true">
          {user.username.slice(0, 1).toUpperCase()}
        </span>
        <span className="whoami-name">{user.username}</span>
      </summary>
      <nav className="menu" aria-label="Account">
        <Link to={paths.account}>
          {user.role === 'admin' ? 'Account, people and links' : 'Password, links and tokens'}
        </Link>
        <Link to={paths.trash}>Trash</Link>
      </nav>
    </details>
  );
}
