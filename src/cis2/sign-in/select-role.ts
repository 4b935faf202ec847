import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInputError } from "../../errors.ts";
import { readAccount } from "../account-read.ts";
import { inOneCommit } from "../authorization-writes.ts";
import {
  type Form,
  type Interaction,
  interactionFor,
  type Params,
  page,
  renderPage,
  type SignInContext,
} from "./journey.ts";
import { positionsInRequest, selectRole } from "./role-selection.ts";

/**
 * With scope selectedrole, after authenticating: the person chooses one of their current
 * positions (the rule that asks is needsRoleSelection, the choice is kept by selectRole).
 */
export function roleSelection(app: FastifyInstance, context: SignInContext): void {
  app.post<{ Params: Params; Body: Form }>(`${context.base}/:uid/role`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    if (interaction.prompt.name !== "select_role" || !interaction.session)
      throw InvalidInputError.field("role", "no role is being chosen");
    try {
      return await chooseRole(context, request, reply, interaction, request.body?.role ?? "");
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return showRoles(context, request, reply, interaction, error.problems[0]?.message);
    }
  });
}

/** Keeps the choice and hands it to the interaction, in one commit; then on to the resume. */
async function chooseRole(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  roleProfileId: string,
) {
  const session = interaction.session;
  if (!session?.accountId) throw InvalidInputError.field("role", "sign in first");
  // The account read with the interaction keeps the positions the choice is checked against.
  await readAccount(context.db, context.lists, session.accountId, session.uid);
  const location = await inOneCommit(context.db, async () => {
    await selectRole(
      context.db,
      { kind: "person", id: session.accountId as string, source: "CIS2", correlationId: interaction.uid },
      context.lists,
      { sessionUid: session.uid, uuid: session.accountId as string, roleProfileId },
    );
    return context.provider().interactionResult(request.raw, reply.raw, { select_role: {} });
  });
  return reply.redirect(location, 303);
}

/** The role page; one position is chosen without asking. */
export async function showRoles(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  error?: string,
) {
  const { db, lists } = context;
  const uuid = interaction.session?.accountId as string;
  // The person with their positions in one query; the positions stay in the request's scope.
  const person = (await readAccount(db, lists, uuid, interaction.session?.uid))?.person;
  const positions = await positionsInRequest(db, lists, uuid);
  if (positions.length === 1 && positions[0])
    return chooseRole(context, request, reply, interaction, positions[0].roleProfileId);
  const search = String((request.query as Form)?.search ?? "")
    .trim()
    .toLowerCase();
  const shown = search
    ? positions.filter((position) =>
        `${position.jobRole.jobRoleName} ${position.organisationName} ${position.odsCode} ${position.workgroups.map((workgroup) => workgroup.name).join(" ")}`
          .toLowerCase()
          .includes(search),
      )
    : positions;
  return renderPage(
    reply,
    "select-role.njk",
    page(interaction, "Select your role", {
      items: shown.map((position) => ({
        value: position.roleProfileId,
        text: `${position.jobRole.jobRoleName} at ${position.organisationName} (${position.odsCode})`,
        hint: {
          text: [
            position.workgroups.length > 0
              ? `Workgroups: ${position.workgroups.map((workgroup) => workgroup.name).join(", ")}.`
              : "",
            activitiesInWords(position.activities),
          ]
            .join(" ")
            .trim(),
        },
      })),
      total: positions.length,
      personName: person && [person.title, person.givenName, person.familyName].filter(Boolean).join(" "),
      searchable: positions.length > 5,
      search,
      error,
    }),
    error ? 400 : 200,
  );
}

/** What a role lets its holder do, in a few words: the first activities by name and how many more. */
function activitiesInWords(activities: { name: string }[]): string {
  if (activities.length === 0) return "";
  const shown = activities.slice(0, 3).map((activity) => activity.name);
  const more = activities.length - shown.length;
  return `Activities: ${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}.`;
}
