import { sql } from "kysely";
import { errors, interactionPolicy, type KoaContextWithOIDC } from "oidc-provider";
import { aalOf, isMethod, methodsAccepted, parseAcrValues } from "../assurance/methods.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Db } from "../store/database.ts";
import { holdWrite } from "./authorization-writes.ts";
import { lifetimes } from "./lifetimes.ts";
import { requestedClasses } from "./sign-in/complete.ts";
import { needsRoleSelection } from "./sign-in/role-selection.ts";

const { Check, Prompt } = interactionPolicy;

/**
 * When a sign-in needs the user: oidc-provider's login and consent prompts (consent is always
 * pre-approved, see preApprovedGrant), plus two of CIS2's rules. Malformed `acr_values` end the
 * request with invalid_request before anyone is asked anything; and with scope `selectedrole` a
 * user with positions chooses one, once per session.
 */
export function cis2Policy(db: Db, lists: CodeLists, developmentLogin: boolean) {
  const policy = interactionPolicy.base();
  policy.get("login")?.checks.add(
    new Check("acr_values", "acr_values must name CIS2 assurance classes", (ctx: KoaContextWithOIDC) => {
      const requested = ctx.oidc.params?.acr_values;
      const { unknown } = parseAcrValues(
        typeof requested === "string" ? requested : undefined,
        developmentLogin,
      );
      if (unknown.length > 0) throw new errors.InvalidRequest(`unsupported acr_values: ${unknown.join(" ")}`);
      return Check.NO_NEED_TO_PROMPT;
    }),
    0,
  );
  policy
    .get("login")
    ?.checks.add(
      new Check(
        "session_limits",
        "the session has been idle or open too long for its assurance level",
        (ctx: KoaContextWithOIDC) => sessionOverLimit(db, ctx),
      ),
    );
  policy
    .get("login")
    ?.checks.add(
      new Check(
        "assurance_too_low",
        "the session's authentication does not meet the requested assurance",
        (ctx: KoaContextWithOIDC) => sessionBelowRequestedAssurance(ctx, developmentLogin),
      ),
    );
  policy.add(
    new Prompt(
      { name: "select_role", requestable: false },
      new Check(
        "role_not_selected",
        "a role must be selected for scope selectedrole",
        async (ctx: KoaContextWithOIDC) => needsRoleSelection(db, lists, ctx),
      ),
    ),
    1,
  );
  return policy;
}

/**
 * NIST SP 800-63B session limits by the assurance of the authentication that made the session:
 * re-authenticate after 12 hours whatever happens, or after 15 (AAL3) or 30 (AAL2) minutes
 * without use. Every authorization request in the session counts as use.
 */
export async function sessionOverLimit(db: Db, ctx: KoaContextWithOIDC, now = new Date()): Promise<boolean> {
  const session = ctx.oidc.session;
  if (!session?.accountId || !session.uid) return Check.NO_NEED_TO_PROMPT;
  const loginTs = (session as unknown as { loginTs?: number }).loginTs;
  const method = session.amr?.[0];
  const idleSeconds = lifetimes.idleByAal[isMethod(method) ? aalOf(method) : 1] ?? lifetimes.idleByAal[1];
  const justAuthenticated = Boolean(ctx.oidc.result?.login);
  const tooOld = loginTs !== undefined && now.getTime() - loginTs * 1000 > lifetimes.session * 1000;
  if (tooOld && !justAuthenticated) return Check.REQUEST_PROMPT;
  // Idle is judged on the last use recorded, or on the login when none is; a session still in
  // use is marked used now. One statement does both: it writes a row only when the session is
  // not idle (or has just authenticated), and says whether it did.
  const idleBefore = new Date(now.getTime() - (idleSeconds as number) * 1000);
  const loggedInRecently = (loginTs ?? 0) * 1000 >= idleBefore.getTime();
  const use = sql`
    INSERT INTO cis2_session_activity (session_uid, last_used_at)
    SELECT ${session.uid}::text, ${now}::timestamptz
    WHERE ${justAuthenticated || loggedInRecently}::boolean
       OR EXISTS (SELECT 1 FROM cis2_session_activity WHERE session_uid = ${session.uid}::text)
    ON CONFLICT (session_uid) DO UPDATE SET last_used_at = excluded.last_used_at
    WHERE ${justAuthenticated}::boolean OR cis2_session_activity.last_used_at >= ${idleBefore}::timestamptz
    RETURNING session_uid
  `;
  // A session just authenticated is in use whatever was recorded, so the statement writes without
  // needing to be asked: it is made with the rest of the sign-in's end, in that commit.
  if (justAuthenticated && holdWrite(use)) return Check.NO_NEED_TO_PROMPT;
  const { rows } = await use.execute(db);
  if (rows.length === 0) return Check.REQUEST_PROMPT;
  return Check.NO_NEED_TO_PROMPT;
}

/**
 * Step-up: a session made with a method the request's assurance classes do not accept (an AAL2
 * session meeting a request for AAL3_ANY) is not reused; the user authenticates again.
 */
export function sessionBelowRequestedAssurance(ctx: KoaContextWithOIDC, developmentLogin: boolean): boolean {
  const session = ctx.oidc.session;
  if (!session?.accountId || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
  const accepted = methodsAccepted(requestedClasses(ctx.oidc, developmentLogin));
  const method = session.amr?.[0];
  return isMethod(method) && accepted.includes(method) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
}
