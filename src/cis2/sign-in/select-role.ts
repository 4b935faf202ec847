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
  type SigningIn,
} from "./journey.ts";
import { positionsInRequest, refuseOtherRoles, selectRole } from "./role-selection.ts";

/**
 * With scope selectedrole, after authenticating: the person chooses one of their current
 * positions (the rule that asks is needsRoleSelection, the choice is kept by selectRole). A
 * person signing in afresh chooses in the interaction they signed in with (afterSignIn); one
 * whose session asks for a role later (single sign-on into another service) in an interaction
 * of the select_role prompt.
 */
export function roleSelection(app: FastifyInstance, context: SignInContext): void {
  app.post<{ Params: Params; Body: Form }>(`${context.base}/:uid/role`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const uuid = choosingRole(interaction);
    if (!uuid) throw InvalidInputError.field("role", "no role is being chosen");
    try {
      return await chooseRole(context, request, reply, interaction, uuid, request.body?.role ?? "");
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return showRoles(context, request, reply, interaction, uuid, error.problems[0]?.message);
    }
  });
}

/** Who is choosing a role in this interaction, if anyone is. */
export function choosingRole(interaction: Interaction): string | undefined {
  if (interaction.prompt.name === "select_role") return interaction.session?.accountId;
  if (interaction.prompt.name === "login" && !interaction.session && asksForRole(interaction))
    return signedInWith(interaction);
  return undefined;
}

const signedInWith = (interaction: Interaction) =>
  (interaction.result as { login?: { accountId?: string } } | undefined)?.login?.accountId;

const asksForRole = (interaction: Interaction) =>
  String(interaction.params.scope ?? "")
    .split(" ")
    .includes("selectedrole");

/**
 * The answer to the step that signed someone in, with no session before: where the role would be
 * asked for, a person with several positions is asked here, and the choice goes back to the
 * provider with the sign-in. That is one interaction and one resume where the select_role prompt
 * takes two of each. Anyone else goes on to `location`, the resume (where one position is chosen
 * without asking).
 */
export async function afterSignIn(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  uuid: string,
  location: string,
) {
  if (interaction.session || !asksForRole(interaction)) return reply.redirect(location, 303);
  // Counted when they said who they are; a smartcard may say so itself, and then they are read.
  const identified = (interaction.result as { identified?: SigningIn } | undefined)?.identified;
  if (identified?.uuid === uuid && (identified.positions ?? 0) < 2) return reply.redirect(location, 303);
  await readAccount(context.db, context.lists, uuid, undefined);
  const positions = await positionsInRequest(context.db, context.lists, uuid);
  if (positions.length < 2) return reply.redirect(location, 303);
  return showRoles(context, request, reply, interaction, uuid);
}

/**
 * Keeps the choice, then on to the resume. In a session, the choice and its hand-over to the
 * interaction are one commit; chosen with the sign-in, it goes to the resume in the interaction's
 * result and is kept there, with the session it is chosen for (needsRoleSelection).
 */
async function chooseRole(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  uuid: string,
  roleProfileId: string,
) {
  const { db, lists } = context;
  // The account read with the interaction keeps the positions the choice is checked against.
  const session = interaction.session;
  await readAccount(db, lists, uuid, session?.uid);
  if (!session) {
    refuseOtherRoles(await positionsInRequest(db, lists, uuid), roleProfileId);
    return reply.redirect(await handOn(context, request, reply, interaction, { roleProfileId }), 303);
  }
  const location = await inOneCommit(db, async () => {
    await selectRole(
      db,
      { kind: "person", id: uuid, source: "CIS2", correlationId: interaction.uid },
      lists,
      { sessionUid: session.uid, uuid, roleProfileId },
    );
    return context.provider().interactionResult(request.raw, reply.raw, { select_role: {} });
  });
  return reply.redirect(location, 303);
}

/** The interaction's result as it stands (the sign-in made with it), with the role if one was chosen. */
function handOn(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  chosen?: { roleProfileId: string },
) {
  const result = { ...interaction.result, ...(chosen && { select_role: chosen }) };
  return context
    .provider()
    .interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
}

/** The role page; one position is chosen without asking. */
export async function showRoles(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  uuid: string,
  error?: string,
) {
  const { db, lists } = context;
  // The person with their positions in one query; the positions stay in the request's scope.
  const person = (await readAccount(db, lists, uuid, interaction.session?.uid))?.person;
  const positions = await positionsInRequest(db, lists, uuid);
  if (positions.length === 1 && positions[0])
    return chooseRole(context, request, reply, interaction, uuid, positions[0].roleProfileId);
  // Their positions ended since they were asked: on to the resume, where the rule is asked again.
  if (positions.length === 0) return reply.redirect(await handOn(context, request, reply, interaction), 303);
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
