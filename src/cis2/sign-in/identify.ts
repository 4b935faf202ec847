import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { methods } from "../../assurance/methods.ts";
import { type HeldFlags, heldFlags, methodsHeld } from "../../authenticators/held.ts";
import { signInCounters, takeAttemptReading } from "../../authenticators/throttle.ts";
import { type OfferedCredential, offeredCredentials } from "../../authenticators/webauthn/authentication.ts";
import { currentPositionCount } from "../../rbac/positions.ts";
import type { Queryable } from "../../store/database.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";
import { interactionColumn, rememberInteraction } from "../adapter.ts";
import { methodsOfUnknown, signInAccount } from "../unknown-identifiers.ts";
import { refuseSignIn, usableMethods } from "./complete.ts";
import {
  acceptedMethods,
  acceptsSmartcard,
  type Form,
  interactionFor,
  journeyActor,
  type Params,
  page,
  pageOfMethod,
  rawOf,
  renderPage,
  type SignInContext,
  type SigningIn,
  tooManyAttempts,
} from "./journey.ts";
import { askForSecurityKey } from "./security-key.ts";

/**
 * Known and unknown identifiers get the same answer: an unknown one goes on as someone holding
 * what methodsOfUnknown says, and fails later as a wrong guess does. Only an empty field is
 * an error here.
 */
export function identify(app: FastifyInstance, context: SignInContext): void {
  const { db, developmentLogin, base } = context;
  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/identify`, async (request, reply) => {
    const { uid } = request.params;
    const identifier = (request.body?.identifier ?? "").trim();
    // The person and the interaction are read in the throttle's statement: two round trips fewer.
    // So the attempt is counted before the interaction is checked: one posted to an expired
    // sign-in counts against its address too.
    const { attempt, rows } = await takeAttemptReading(
      db,
      journeyActor({ uid }, undefined),
      signInCounters.identify(request.ip),
      identifier ? personAndInteraction(db, identifier, uid) : undefined,
    );
    const [read] = rows as Array<NamedPerson | undefined>;
    if (read) rememberInteraction(uid, read.interaction);
    const interaction = await interactionFor(context.provider(), request, reply);
    if (!attempt.allowed) return tooManyAttempts(context, reply, interaction, attempt, "");
    if (!identifier)
      return renderPage(
        reply,
        "identify.njk",
        page(interaction, "Sign in with your Care Identity", {
          smartcard: acceptsSmartcard(context, interaction),
          error: "Enter your UUID or email address",
        }),
        400,
      );
    const person = read?.uuid ? (read as NamedPerson & { uuid: string }) : undefined;
    const account = signInAccount(identifier, person?.uuid);
    const usable = usableMethods(
      interaction,
      person ? methodsHeld(person, developmentLogin) : methodsOfUnknown(developmentLogin),
      developmentLogin,
    );
    if (usable.length === 0) {
      const location = await refuseSignIn(context.provider(), db, rawOf(request, reply), interaction, {
        error: "access_denied",
        description:
          "the requested authentication assurance cannot be met by an authenticator this user holds",
        uuid: person?.uuid,
      });
      // The service still hears the OAuth error; the person first reads what to do about it.
      return renderPage(
        reply,
        "needs-stronger.njk",
        page(interaction, "You need a stronger way to sign in to this service", {
          accepted: [
            ...new Set(acceptedMethods(context, interaction).map((method) => methods[method].label)),
          ],
          returnTo: location,
        }),
        403,
      );
    }
    const signingIn: SigningIn = { identifier, uuid: person?.uuid, account, positions: person?.positions };
    const next = usable.length === 1 && usable[0] ? pageOfMethod[usable[0]] : "method";
    // The security-key page is this step's answer rather than a redirect to it: one request, one
    // read and one write of the interaction fewer per sign-in, as who was identified and the
    // page's challenge are saved together (merged with the last submission, as below). The
    // address stays .../identify, so a refresh sends the identifier again, which is harmless:
    // it identifies again and issues a new challenge.
    if (next === "security-key")
      return askForSecurityKey(
        context,
        request,
        reply,
        interaction,
        { ...interaction.lastSubmission, identified: signingIn },
        { held: person?.offered ?? [] },
      );
    await context
      .provider()
      .interactionResult(
        request.raw,
        reply.raw,
        { identified: signingIn },
        { mergeWithLastSubmission: true },
      );
    return reply.redirect(`${base}/${interaction.uid}/${next}`, 303);
  });
}

type NamedPerson = {
  uuid: string | null;
  offered: OfferedCredential[];
  positions: number;
  interaction: Parameters<typeof rememberInteraction>[1];
} & HeldFlags;

/**
 * The active Care Identity a sign-in identifier names, with what it holds: its UUID, or its email
 * address in any case. Suspended and closed identities name no one here, so they sign in as an
 * unknown does. One row, whether or not anyone is named, with the interaction beside it: a query
 * for the identify step's throttle to make in its statement.
 */
function personAndInteraction(db: Queryable, identifier: string, uid: string) {
  const named = isCareIdentifier(identifier)
    ? sql`people.uuid = ${identifier}`
    : sql`lower(people.email) = ${identifier.toLowerCase()}`;
  // With the credentials a security-key page would offer, so that page needs no read of its own,
  // and the count of positions that says whether a role will be asked for with the sign-in.
  const uuid = sql.ref<string>("people.uuid");
  return sql<NamedPerson>`
    SELECT people.uuid, ${heldFlags(uuid)}, ${offeredCredentials(uuid)} AS offered,
      ${currentPositionCount(db, uuid)} AS positions, ${interactionColumn(uid)} AS interaction
    FROM (SELECT) AS one LEFT JOIN people ON people.status = 'active' AND ${named}`;
}
