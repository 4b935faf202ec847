import type { FastifyInstance, FastifyRequest } from "fastify";
import { ForbiddenError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { decide } from "../../ra-policy/policy.ts";
import { odsCodes } from "../../rbac/ods/ods-codes.ts";
import {
  findOrganisations,
  type OrganisationRecord,
  organisationRecord,
  searchLimit,
} from "../../rbac/organisation-search.ts";
import { longDate } from "../../web/wording.ts";
import { addLocalOrganisation, correctOrganisationName } from "../local-organisations.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, formOf } from "./form-actions.ts";

const labels: Record<string, string> = {
  odsCode: "Organisation code",
  name: "Name",
  type: "Type",
  parentOdsCode: "Parent organisation code",
  "address.lines": "Address",
  reason: "Reason",
};

/** The organisation types a local organisation may have: ODS's role names, codes beside them. */
const typeChoices = Object.entries(odsCodes.roles)
  .map(([code, name]) => ({ code, name }))
  .sort((a, b) => a.name.localeCompare(b.name));

/** An organisation as the pages show it: ODS's capitals kept, dates in the NHS style. */
function shown(organisation: OrganisationRecord) {
  return {
    ...organisation,
    opened: longDate(organisation.openDate),
    closed: longDate(organisation.closeDate),
    changed: longDate(organisation.updatedAt),
    sourceName: organisation.source === "ods" ? "Organisation Data Service" : "Added in CIM",
  };
}

/** A parent that is not recorded is the form's field to correct, not a missing page. */
function parentProblem(error: unknown): unknown {
  if (error instanceof NotFoundError && error.message.startsWith("parentOdsCode:"))
    return InvalidInputError.field("parentOdsCode", error.message.replace(/^parentOdsCode: n/, "N"));
  return error;
}

/**
 * The organisations themselves, for national RA managers (organisation.manage): find one, add a
 * local organisation ODS does not know yet, correct a name with a reason. Others are refused
 * before any page shows; the domain functions authorise and audit each change again.
 */
export function registerOrganisationRoutes(app: FastifyInstance, cim: Cim): void {
  const requireNational = async (request: FastifyRequest) => {
    const decision = await decide(cim.db, signedIn(request).person.uuid, "organisation.manage", {});
    if (!decision.allowed) throw new ForbiddenError(decision.reason);
  };

  app.get("/organisations", async (request, reply) => {
    await requireNational(request);
    const query = String((request.query as Record<string, unknown>).q ?? "").trim();
    const found = query ? await findOrganisations(cim.db, query) : [];
    return renderCimPage(request, reply, "organisations.njk", {
      pageTitle: "Organisations",
      query,
      searched: query.length > 0,
      organisations: found.map(shown),
      more: found.length === searchLimit,
    });
  });

  const newContext = async () => ({ pageTitle: "Add a local organisation", types: typeChoices });

  app.get("/organisations/new", async (request, reply) => {
    await requireNational(request);
    return renderCimPage(request, reply, "organisation-new.njk", { values: {}, ...(await newContext()) });
  });

  app.post("/organisations/new", async (request, reply) => {
    await requireNational(request);
    const form = formOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        try {
          const organisation = await addLocalOrganisation(cim.db, actorOf(request), {
            ...commonOf(request),
            odsCode: form.odsCode,
            name: form.name,
            type: form.type,
            parentOdsCode: form.parentOdsCode || undefined,
            address: {
              lines: [form.addressLine1, form.addressLine2].filter((line): line is string => Boolean(line)),
              city: form.city || undefined,
              postcode: form.postcode || undefined,
            },
          });
          return `/cim/organisations/${encodeURIComponent(organisation.odsCode)}?done=organisation-added`;
        } catch (error) {
          throw parentProblem(error);
        }
      },
      { view: "organisation-new.njk", context: newContext, labels, fieldOf: addressField },
    );
  });

  const recordContext = async (request: FastifyRequest) => {
    const { odsCode } = request.params as { odsCode: string };
    const organisation = shown(await organisationRecord(cim.db, odsCode.toUpperCase()));
    const parent = organisation.parentOdsCode
      ? await organisationRecord(cim.db, organisation.parentOdsCode).catch(() => undefined)
      : undefined;
    return { pageTitle: organisation.name, organisation, parent };
  };

  app.get("/organisations/:odsCode", async (request, reply) => {
    await requireNational(request);
    return renderCimPage(request, reply, "organisation.njk", {
      values: {},
      ...(await recordContext(request)),
    });
  });

  app.post("/organisations/:odsCode/name", async (request, reply) => {
    await requireNational(request);
    const { odsCode } = request.params as { odsCode: string };
    const form = formOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        const organisation = await correctOrganisationName(cim.db, actorOf(request), odsCode, {
          ...commonOf(request),
          name: form.name,
        });
        return `/cim/organisations/${encodeURIComponent(organisation.odsCode)}?done=organisation-renamed`;
      },
      { view: "organisation.njk", context: () => recordContext(request), labels },
    );
  });
}

/** The address's problem shows beside its first line. */
function addressField(field: string): string {
  return field === "address.lines" ? "addressLine1" : field;
}
