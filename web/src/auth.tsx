/**
 * Who is signed in, learned from GET /api/auth/session (the session cookie is HttpOnly: the
 * app never reads it), which answers a signed-out visitor with no user rather than a 401 that
 * the browser would log as an error on every signed-out page. Any 401 from a page sends the app back to the sign-in form, which then says
 * the session ended (a password changed or reset, the account disabled, signed out elsewhere).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { api, ApiError } from './api/client';
import type { User } from './api/types';

export type AuthState =
  | { readonly status: 'loading' }
  /** `ended`: signed out by the server (a 401 while signed in), not by the person. */
  | { readonly status: 'signed-out'; readonly ended?: boolean }
  | { readonly status: 'signed-in'; readonly user: User };

interface AuthContextValue {
  readonly auth: AuthState;
  readonly signIn: (username: string, password: string) => Promise<void>;
  readonly signOut: () => Promise<void>;
  /** Call with any error from the API: a 401 means the session is gone. */
  readonly handleError: (error: unknown) => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [auth, setAuth] = useState<AuthState>({ status: 'loading' });

  useEffect(() => {
    let cancelled = false;
    api.session().then(
      (user) => {
        if (!cancelled) setAuth(user ? { status: 'signed-in', user } : { status: 'signed-out' });
      },
      () => {
        if (!cancelled) setAuth({ status: 'signed-out' });
      },
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    const user = await api.login(username, password);
    setAuth({ status: 'signed-in', user });
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setAuth({ status: 'signed-out' });
    }
  }, []);

  const handleError = useCallback((error: unknown) => {
    if (error instanceof ApiError && error.status === 401) {
      setAuth((was) => ({ status: 'signed-out', ended: was.status === 'signed-in' }));
    }
  }, []);

  const value = useMemo(
    () => ({ auth, signIn, signOut, handleError }),
    [auth, signIn, signOut, handleError],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}
