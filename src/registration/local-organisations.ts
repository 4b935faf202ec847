import type { Actor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import { roleName } from "../rbac/ods/ods-codes.ts";
import {
  createOrganisation,
  getOrganisation,
  type NewOrganisation,
  type Organisation,
} from "../rbac/organisations.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import { type ActionCommon, authorised, recordAction, requiredReason } from "./acting.ts";

/**
 * What a national RA manager does to the organisations themselves (organisation.manage, which
 * only a national holding allows): add a local organisation ODS does not know yet, and correct an
 * organisation's name. Both audited as the RA acting in their position.
 */
export async function addLocalOrganisation(
  queryable: Queryable,
  actor: Actor,
  input: NewOrganisation & ActionCommon,
): Promise<Organisation> {
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "organisation.manage", {}, input);
    // ODS's name for the role, as an import would record it; the API sends only the code.
    const typeName = input.typeName ?? roleName(String(input.type ?? ""));
    const organisation = await createOrganisation(tx, acting, { ...input, typeName });
    return organisation;
  });
}

/**
 * Corrects an organisation's name, with the reason on the record. An ODS organisation's next
 * import brings ODS's name back if ODS still differs: the correction is for names ODS has not
 * caught up with.
 */
export async function correctOrganisationName(
  queryable: Queryable,
  actor: Actor,
  odsCode: string,
  input: ActionCommon & { name?: unknown },
): Promise<Organisation> {
  const name = typeof input.name === "string" ? input.name.trim().replace(/\s+/g, " ") : "";
  if (name.length === 0 || name.length > 200)
    throw InvalidInputError.field("name", "is required (up to 200 characters)");
  requiredReason(input, "to correct a name");
  return inTransaction(queryable, async (tx) => {
    const before = await getOrganisation(tx, String(odsCode ?? "").toUpperCase());
    const { acting } = await authorised(tx, actor, "organisation.manage", { ods: before.odsCode }, input);
    await tx
      .updateTable("organisations")
      .set({ name, record_digest: null, updated_at: new Date() })
      .where("ods_code", "=", before.odsCode)
      .execute();
    await recordAction(
      tx,
      acting,
      {
        action: "organisation.renamed",
        subject: { type: "organisation", id: before.odsCode },
        before: { name: before.name },
        after: { name },
      },
      input,
    );
    return { ...before, name };
  });
}
