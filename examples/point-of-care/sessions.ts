import { randomBytes } from "node:crypto";
import type { PendingSignIn, SignedInUser } from "./cis2.ts";

/**
 * This app's own sessions, in memory: a browser holds only a random id in a signed cookie. A
 * sign-in in progress is kept for ten minutes; a session for at most twelve hours, and it ends
 * at once when CIS2 says, by back-channel logout, that the user's CIS2 session has ended.
 */
export type Session = { id: string; csrf: string; user: SignedInUser; started: number };

const pendingLifetime = 10 * 60_000;
const sessionLifetime = 12 * 60 * 60_000;

export class Sessions {
  private readonly pending = new Map<string, PendingSignIn & { until: number }>();
  private readonly sessions = new Map<string, Session>();

  /** How many sessions are live. */
  get size(): number {
    this.sweep();
    return this.sessions.size;
  }

  savePending(pending: PendingSignIn): string {
    this.sweep();
    const id = randomBytes(24).toString("base64url");
    this.pending.set(id, { ...pending, until: Date.now() + pendingLifetime });
    return id;
  }

  /** A pending sign-in, once only. */
  takePending(id: string | undefined): PendingSignIn | undefined {
    if (!id) return undefined;
    const pending = this.pending.get(id);
    this.pending.delete(id);
    return pending && pending.until > Date.now() ? pending : undefined;
  }

  start(user: SignedInUser): Session {
    const session = {
      id: randomBytes(24).toString("base64url"),
      csrf: randomBytes(24).toString("base64url"),
      user,
      started: Date.now(),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  find(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (session && session.started + sessionLifetime < Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends the sessions a logout token names: by CIS2 session id when it has one, else every session of the user. */
  endFor(sub: string | undefined, sid: string | undefined): number {
    let ended = 0;
    for (const [id, session] of this.sessions) {
      const sameUser = sub === undefined || session.user.sub === sub;
      const sameSession = sid === undefined || session.user.sid === sid;
      if (sameUser && sameSession) {
        this.sessions.delete(id);
        ended++;
      }
    }
    return ended;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, pending] of this.pending) if (pending.until < now) this.pending.delete(id);
    for (const [id, session] of this.sessions) {
      if (session.started + sessionLifetime < now) this.sessions.delete(id);
    }
  }
}
