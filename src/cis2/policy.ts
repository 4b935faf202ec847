import { errors, interactionPolicy, type KoaContextWithOIDC } from "oidc-provider";
import type { CodeLists } from "../rbac/code-lists.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import type { Db } from "../store/database.ts";
import { parseAcrValues } from "./assurance.ts";
import { selectedRoleFor } from "./role-selection.ts";

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

export async function needsRoleSelection(
  db: Db,
  lists: CodeLists,
  ctx: KoaContextWithOIDC,
): Promise<boolean> {
  const { oidc } = ctx;
  const accountId = oidc.session?.accountId;
  if (!accountId || !oidc.requestParamScopes.has("selectedrole")) return Check.NO_NEED_TO_PROMPT;
  const positions = await positionsOfPerson(db, lists, accountId);
  if (positions.length === 0) return Check.NO_NEED_TO_PROMPT;
  const selected = oidc.session?.uid ? await selectedRoleFor(db, oidc.session.uid, accountId) : undefined;
  return positions.some((position) => position.roleProfileId === selected)
    ? Check.NO_NEED_TO_PROMPT
    : Check.REQUEST_PROMPT;
}
