import { type Agent, type AgentLog, AgentRefusal, type CardStatus } from "./agent.ts";
import type { Cis1Session, ServiceClient } from "./service-client.ts";

/**
 * The agent's Ticket API for CIS1 applications (docs/cis1-ticket-api.md): `getTicket` signs the
 * holder in with the card when there is no session (the passcode and, with several positions,
 * the role are given on the agent's own page while the call waits), `getTicketNoAuth` only
 * returns a session that exists. The SSO token lives only in memory, and only while the card
 * that made it stays in the reader, signed in; the service ends it when the card is removed.
 */
export type Ticket = {
  ticket: string;
  uid: string;
  roleProfileId: string | null;
  cardSerial: string;
  expiresAt: string;
};

export type Tickets = ReturnType<typeof ticketAgent>;

type Held = Cis1Session & { cardSerial: string };

const pollMilliseconds = 200;
export const defaultWaitSeconds = 120;

export function ticketAgent(options: {
  agent: Agent;
  service: Pick<ServiceClient, "challenge" | "startCis1Session" | "chooseCis1Role" | "isCis1TokenValid">;
  log: AgentLog;
}) {
  const { agent, service, log } = options;
  let held: Held | undefined;
  let signingIn: Promise<Held> | undefined;

  /** A reader that fails (its module lost with the card) holds no card, and so no session. */
  function cardStatus(): CardStatus {
    try {
      return agent.status();
    } catch (error) {
      log("card-unreadable", { error: (error as Error).message });
      return { present: false };
    }
  }

  /** The session, if its card is still in the reader and signed in; otherwise it is forgotten. */
  function current(): Held | undefined {
    const status = cardStatus();
    if (held && !(status.present && status.signedIn && status.cardSerial === held.cardSerial)) {
      log("ticket-forgotten", { cardSerial: held.cardSerial });
      held = undefined;
    }
    return held;
  }

  async function getTicket(waitSeconds = defaultWaitSeconds): Promise<Ticket> {
    const existing = current();
    if (existing && !existing.roleRequired && (await service.isCis1TokenValid(existing.token)))
      return ticketOf(existing);
    if (existing && !existing.roleRequired) held = undefined;
    const deadline = Date.now() + waitSeconds * 1000;
    signingIn ??= signIn(deadline).finally(() => {
      signingIn = undefined;
    });
    return ticketOf(await signingIn);
  }

  /** Waits for the passcode on the agent's page, starts the session, then waits for the role. */
  async function signIn(deadline: number): Promise<Held> {
    if (!current()) {
      log("ticket-sign-in-waiting");
      const ready = await until(deadline, () => {
        const status = cardStatus();
        return status.present && status.issued && !status.locked && status.signedIn;
      });
      if (!ready)
        throw new AgentRefusal(
          408,
          "No smartcard sign-in: insert your smartcard and enter its passcode in the smartcard agent",
        );
      const { challenge } = await service.challenge();
      const signed = agent.signChallenge(challenge);
      const started = await service.startCis1Session(signed.cardSerial, {
        certificateChain: [signed.certificate],
        challenge,
        signature: signed.signature,
      });
      held = { ...started, cardSerial: signed.cardSerial };
      log("ticket-session-started", { cardSerial: signed.cardSerial, roleRequired: started.roleRequired });
    }
    const session = held as Held;
    if (
      session.roleRequired &&
      !(await until(deadline, () => current() !== session || !session.roleRequired))
    )
      throw new AgentRefusal(
        408,
        "No role chosen: choose the role you are working in, in the smartcard agent",
      );
    if (current() !== session) throw new AgentRefusal(409, "The smartcard was removed during sign-in");
    return session;
  }

  function getTicketNoAuth(): Promise<Ticket> {
    return noAuth().then(ticketOf);
  }

  async function noAuth(): Promise<Held> {
    const session = current();
    if (!session || session.roleRequired || !(await service.isCis1TokenValid(session.token)))
      throw new AgentRefusal(404, "There is no smartcard session: call getTicket to sign in");
    return session;
  }

  /** OpenAM's answer for the token the agent holds (or the one an application names). */
  async function isTokenValid(token?: string): Promise<boolean> {
    const named = token ?? current()?.token;
    return named !== undefined && (await service.isCis1TokenValid(named));
  }

  /** The holder's choice on the agent's page, sent to the service for the waiting session. */
  async function selectRole(roleProfileId: string): Promise<string> {
    const session = current();
    if (!session?.roleRequired) throw new AgentRefusal(409, "There is no role to choose now");
    const role = session.roles.find((candidate) => candidate.roleProfileId === roleProfileId);
    if (!role) throw new AgentRefusal(400, "Select one of your roles");
    await service.chooseCis1Role(session.token, roleProfileId);
    session.selectedRole = roleProfileId;
    session.roleRequired = false;
    log("ticket-role-selected", { cardSerial: session.cardSerial, roleProfileId });
    return `You are working as ${role.jobRole} at ${role.organisation}. Return to your application.`;
  }

  /** What the agent's page shows of the session: the role choice while one is awaited. */
  function pageState(): { choosing: Cis1Session["roles"] } | { workingAs: string } | undefined {
    const session = current();
    if (!session) return undefined;
    if (session.roleRequired) return { choosing: session.roles };
    const role = session.roles.find((candidate) => candidate.roleProfileId === session.selectedRole);
    return { workingAs: role ? `${role.jobRole} at ${role.organisation}` : "no role" };
  }

  return { getTicket, getTicketNoAuth, isTokenValid, selectRole, pageState };
}

function ticketOf(session: Held): Ticket {
  return {
    ticket: session.token,
    uid: session.holder,
    roleProfileId: session.selectedRole,
    cardSerial: session.cardSerial,
    expiresAt: session.expiresAt,
  };
}

async function until(deadline: number, done: () => boolean): Promise<boolean> {
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMilliseconds));
  }
  return true;
}
