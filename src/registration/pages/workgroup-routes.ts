import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import { ForbiddenError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { authorityFor, decide } from "../../ra-policy/policy.ts";
import {
  getOrganisation,
  type Organisation,
  odsCodePattern,
  organisationsBelow,
} from "../../rbac/organisations.ts";
import { workgroupsAt } from "../../rbac/workgroups.ts";
import { listPositionDefinitions } from "../position-definitions.ts";
import {
  changeWorkgroup,
  defineWorkgroup,
  getWorkgroup,
  type WorkgroupInput,
} from "../workgroup-management.ts";
import { actorOf, type Cim, errorsFrom, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, formOf } from "./form-actions.ts";

const labels: Record<string, string> = {
  ods: "Organisation code",
  name: "Name",
  description: "Description",
  positionDefinitionIds: "Positions",
  reason: "Reason",
};

/** The most organisations the chooser lists; a national manager types a code instead. */
const chooserLimit = 500;

/** The checked boxes of a field that may be sent once, many times or not at all. */
function checkedValues(request: FastifyRequest, name: string): string[] {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.filter((item): item is string => typeof item === "string" && item !== "");
}

/**
 * Workgroups as an RA manager keeps them: the list at one of their organisations, a new one, a
 * change to one. The domain functions authorise (workgroup.manage) and audit each change.
 */
export function registerWorkgroupRoutes(app: FastifyInstance, cim: Cim): void {
  /** Where the user may manage workgroups: a list to choose from, or "*" for anywhere. */
  const managed = async (request: FastifyRequest) => {
    const { organisations } = await authorityFor(cim.db, signedIn(request).person.uuid, "workgroup.manage");
    if (organisations.includes("*") || organisations.length === 0)
      return { anywhere: organisations.includes("*"), choices: [] };
    const choices = await cim.db
      .selectFrom("organisations")
      .select(["ods_code as odsCode", "name"])
      .where(sql<boolean>`ods_code IN (${organisationsBelow(organisations)})`)
      .orderBy("name")
      .limit(chooserLimit)
      .execute();
    return { anywhere: false, choices };
  };

  /** The organisation asked for, or the first the user manages; checked as an ODS code. */
  const organisationOf = async (request: FastifyRequest, fallback: string | undefined) => {
    const asked = String((request.query as Record<string, unknown>).ods ?? "").toUpperCase();
    const odsCode = asked || fallback || signedIn(request).holdings[0]?.odsCode || "";
    if (!odsCodePattern.test(odsCode))
      throw InvalidInputError.field("ods", "must be 3 to 10 letters and digits, like RZZ");
    try {
      return await getOrganisation(cim.db, odsCode, "ods");
    } catch (error) {
      if (error instanceof NotFoundError)
        throw InvalidInputError.field("ods", `No organisation has ODS code ${odsCode}`);
      throw error;
    }
  };

  const definitionsAt = async (odsCode: string) =>
    (await listPositionDefinitions(cim.db, odsCode)).map((definition) => ({
      id: definition.id,
      name: definition.name,
    }));

  app.get("/workgroups", async (request, reply) => {
    const chooser = await managed(request);
    let organisation: Organisation;
    try {
      // By default where the user holds the RA manager's role, not a site below it.
      const own = signedIn(request).holdings.find((holding) => holding.role === "RAM")?.odsCode;
      organisation = await organisationOf(request, own ?? chooser.choices[0]?.odsCode);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      const asked = String((request.query as Record<string, unknown>).ods ?? "");
      return renderCimPage(
        request,
        reply,
        "workgroups.njk",
        { pageTitle: "Workgroups", chooser, asked, ...errorsFrom(error.problems, labels) },
        400,
      );
    }
    const [workgroups, definitions, mayManage] = await Promise.all([
      workgroupsAt(cim.db, organisation.odsCode),
      definitionsAt(organisation.odsCode),
      decide(cim.db, signedIn(request).person.uuid, "workgroup.manage", { ods: organisation.odsCode }),
    ]);
    const nameOf = new Map(definitions.map((definition) => [definition.id, definition.name]));
    return renderCimPage(request, reply, "workgroups.njk", {
      pageTitle: `Workgroups at ${organisation.name}`,
      organisation,
      chooser,
      workgroups: workgroups.map((workgroup) => ({
        ...workgroup,
        positions: workgroup.positionDefinitionIds.map((id) => ({ id, name: nameOf.get(id) ?? id })),
      })),
      mayManage: mayManage.allowed,
      refusal: mayManage.allowed ? undefined : mayManage.reason,
    });
  });

  const formContext = async (odsCode: string, workgroupId?: string) => {
    const organisation = await getOrganisation(cim.db, odsCode);
    return {
      pageTitle: workgroupId ? "Change a workgroup" : `Create a workgroup at ${organisation.name}`,
      organisation,
      workgroupId,
      definitions: await definitionsAt(odsCode),
    };
  };

  app.get("/workgroups/new", async (request, reply) => {
    const organisation = await organisationOf(request, undefined);
    // Refused before the form is filled in, not after.
    const decision = await decide(cim.db, signedIn(request).person.uuid, "workgroup.manage", {
      ods: organisation.odsCode,
    });
    if (!decision.allowed) throw new ForbiddenError(decision.reason);
    return renderCimPage(request, reply, "workgroup-form.njk", {
      values: {},
      checked: [],
      ...(await formContext(organisation.odsCode)),
    });
  });

  /** The form's workgroup saved; refused, the form again with its problems and what was typed. */
  const saveFromForm = (
    request: FastifyRequest,
    reply: FastifyReply,
    odsCode: string,
    workgroupId: string | undefined,
    done: string,
    save: (input: WorkgroupInput) => Promise<unknown>,
  ) => {
    const form = formOf(request);
    const checked = checkedValues(request, "positionDefinitionIds");
    return actOnForm(
      request,
      reply,
      async () => {
        await save({
          ...commonOf(request),
          name: form.name ?? "",
          description: form.description ?? "",
          positionDefinitionIds: checked,
        });
        return `/cim/workgroups?ods=${encodeURIComponent(odsCode)}&done=${done}`;
      },
      {
        view: "workgroup-form.njk",
        context: async () => ({ checked, ...(await formContext(odsCode, workgroupId)) }),
        labels,
      },
    );
  };

  app.post("/workgroups/new", async (request, reply) => {
    const organisation = await organisationOf(request, undefined);
    return saveFromForm(request, reply, organisation.odsCode, undefined, "workgroup-created", (input) =>
      defineWorkgroup(cim.db, actorOf(request), organisation.odsCode, input),
    );
  });

  app.get("/workgroups/:id", async (request, reply) => {
    const workgroup = await getWorkgroup(cim.db, (request.params as { id: string }).id);
    return renderCimPage(request, reply, "workgroup-form.njk", {
      values: { name: workgroup.name, description: workgroup.description },
      checked: workgroup.positionDefinitionIds,
      ...(await formContext(workgroup.odsCode, workgroup.id)),
    });
  });

  app.post("/workgroups/:id", async (request, reply) => {
    const workgroup = await getWorkgroup(cim.db, (request.params as { id: string }).id);
    return saveFromForm(request, reply, workgroup.odsCode, workgroup.id, "workgroup-changed", (input) =>
      changeWorkgroup(cim.db, actorOf(request), workgroup.id, input),
    );
  });
}
