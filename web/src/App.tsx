/**
 * The shell: top bar (bottom tab bar on a phone), the sign-in gate, the live feed (one
 * `/api/stream` for the whole signed-in session, which the pages share), and the current page.
 */
import type { ReactNode } from 'react';
import { useAuth } from './auth';
import { AccountMenu } from './components/AccountMenu';
import { Spinner } from './components/common';
import {
  AlbumIcon,
  ClusterIcon,
  EventsIcon,
  GalleryIcon,
  Logo,
  SignOutIcon,
  UploadIcon,
} from './components/icons';
import { LiveFeedProvider } from './live';
import { matchRoute, needsAccount, paths, type Route } from './lib/routes';
import { ClusterPage } from './pages/ClusterPage';
import { EventPage } from './pages/event/EventPage';
import { EventsPage } from './pages/EventsPage';
import { GalleryPage } from './pages/GalleryPage';
import { SelectHint } from './components/SelectHint';
import { AccountPage } from './pages/library/AccountPage';
import { AlbumPage } from './pages/library/AlbumPage';
import { AlbumsPage } from './pages/library/AlbumsPage';
import { SharePage } from './pages/library/SharePage';
import { TrashPage } from './pages/library/TrashPage';
import { LoginPage } from './pages/LoginPage';
import { PicturePage } from './pages/PicturePage';
import { UploadPage } from './pages/UploadPage';
import { Link, useLocation } from './router';

const TABS: { to: string; label: string; icon: ReactNode; pages: Route['page'][] }[] = [
  { to: paths.gallery, label: 'Gallery', icon: <GalleryIcon />, pages: ['gallery', 'picture'] },
  { to: paths.albums, label: 'Albums', icon: <AlbumIcon />, pages: ['albums', 'album'] },
  { to: paths.upload, label: 'Upload', icon: <UploadIcon />, pages: ['upload'] },
  { to: paths.events, label: 'Events', icon: <EventsIcon />, pages: ['events', 'event'] },
  { to: paths.cluster, label: 'Cluster', icon: <ClusterIcon />, pages: ['cluster'] },
];

export function App() {
  const { auth, signOut } = useAuth();
  const { pathname } = useLocation();
  const route = matchRoute(pathname);

  // A share link is a page of its own: nothing of the library around it, account or not (so it
  // does not wait to learn who is signed in).
  if (route.page === 'share') return <SharePage key={route.id} id={route.id} />;
  if (auth.status === 'loading') {
    return (
      <main className="page page-center">
        <Spinner />
      </main>
    );
  }
  const signedIn = auth.status === 'signed-in';
  if (!signedIn && needsAccount(route)) return <LoginPage />;

  return (
    <LiveFeedProvider enabled={signedIn}>
      <div className="shell">
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="topbar">
          <Link to={signedIn ? paths.gallery : pathname} className="brand" aria-label="Mosaic home">
            <Logo />
            <span>Mosaic</span>
          </Link>
          {signedIn && (
            <nav className="tabs" aria-label="Main">
              {TABS.map((tab) => {
                const current = tab.pages.includes(route.page);
                return (
                  <Link
                    key={tab.to}
                    to={tab.to}
                    className={current ? 'tab tab-current' : 'tab'}
                    aria-current={current ? 'page' : undefined}
                  >
                    {tab.icon}
                    <span>{tab.label}</span>
                  </Link>
                );
              })}
            </nav>
          )}
          <div className="topbar-end">
            {signedIn ? (
              <>
                <AccountMenu user={auth.user} pathname={pathname} />
                <button
                  type="button"
                  className="btn btn-ghost btn-icon"
                  onClick={() => void signOut()}
                  aria-label="Sign out"
                  title="Sign out"
                >
                  <SignOutIcon />
                </button>
              </>
            ) : (
              <Link to="/" className="btn btn-ghost btn-small">
                Sign in
              </Link>
            )}
          </div>
        </header>
        <main id="main" className="page" tabIndex={-1}>
          <Page route={route} />
        </main>
      </div>
    </LiveFeedProvider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'gallery':
      return (
        <>
          <SelectHint />
          <GalleryPage />
        </>
      );
    case 'upload':
      return <UploadPage />;
    case 'picture':
      return <PicturePage key={route.id} id={route.id} />;
    case 'events':
      return <EventsPage />;
    case 'event':
      return <EventPage key={route.id} id={route.id} />;
    case 'cluster':
      return <ClusterPage />;
    case 'albums':
      return <AlbumsPage />;
    case 'album':
      return <AlbumPage key={route.id} id={route.id} />;
    case 'trash':
      return <TrashPage />;
    case 'account':
      return <AccountPage />;
    case 'share':
      return <SharePage key={route.id} id={route.id} />;
    case 'not-found':
      return (
        <div className="empty">
          <h1>Page not found</h1>
          <Link to={paths.gallery} className="btn btn-primary">
            Back to the gallery
          </Link>
        </div>
      );
  }
}
