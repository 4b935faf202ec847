import { readFileSync } from "node:fs";
import { ForbiddenError } from "../errors.ts";
import type { PersonStatus } from "../people/people.ts";
import type { Registration } from "../people/validation.ts";
import { type RaHolding, type RaRole, reachOf, rolesCovering } from "../ra-policy/policy.ts";
import type { Queryable } from "../store/database.ts";
import { todayIso } from "./acting.ts";
import type { Authenticator } from "./authenticators.ts";
import type { CardSummary } from "./smartcards.ts";

export type ProfileField =
  | "uuid"
  | "title"
  | "givenName"
  | "middleNames"
  | "familyName"
  | "currentPositions"
  | "status"
  | "dateOfBirth"
  | "niNumber"
  | "email"
  | "mobile"
  | "identityAssuranceLevel"
  | "identityEvidence"
  | "registrations"
  | "registeringOdsCode"
  | "positions"
  | "authenticators"
  | "smartcards"
  | "history";

/** What a profile can be searched by; each criterion is a field (data/profile-fields.json). */
export type SearchCriterion = "name" | "uuid" | "odsCode" | "email" | "niNumber" | "dateOfBirth";

type FieldsFile = {
  fields: ProfileField[];
  everyoneSignedIn: ProfileField[];
  self: ProfileField[];
  raRoles: Record<RaRole, ProfileField[]>;
  searchBy: Record<SearchCriterion, ProfileField>;
};

const fieldsFile: FieldsFile = JSON.parse(
  readFileSync(new URL("./data/profile-fields.json", import.meta.url), "utf8"),
);

export const profileFields: readonly ProfileField[] = fieldsFile.fields;

/** Who looks at a profile: the person themselves or not, and the RA roles whose scope covers them. */
export type Audience = { self: boolean; roles: readonly RaRole[] };

/** A position as a profile shows it; "current" is judged by its status and dates. */
type PositionEntry = { status: string; startDate: string; endDate: string | null };

export type HistoryEntry = {
  at: Date;
  action: string;
  actorId: string | null;
  actorRoleId: string | null;
  reason: string | null;
  source: string;
};

/** A profile, or the part of one a page, answer or report row holds, keyed by field. */
export type ProfileView<Position extends PositionEntry = PositionEntry> = {
  uuid: string;
  title?: string | null;
  givenName?: string;
  middleNames?: string | null;
  familyName?: string;
  status?: PersonStatus;
  dateOfBirth?: string | null;
  niNumber?: string | null;
  email?: string | null;
  mobile?: string | null;
  identityAssuranceLevel?: number;
  identityEvidence?: Record<string, unknown>;
  registrations?: Registration[];
  registeringOdsCode?: string | null;
  /** Past and present; an audience that sees only current positions gets those alone. */
  positions?: Position[];
  authenticators?: Authenticator[];
  smartcards?: CardSummary[];
  history?: HistoryEntry[];
};

/** The fields an audience sees: everyone's, their own record's, and each covering role's. */
export function fieldsSeenBy(audience: Audience): ReadonlySet<ProfileField> {
  return new Set([
    ...fieldsFile.everyoneSignedIn,
    ...(audience.self ? fieldsFile.self : []),
    ...audience.roles.flatMap((role) => fieldsFile.raRoles[role] ?? []),
  ]);
}

function isCurrent(position: PositionEntry, today: string): boolean {
  return (
    position.status === "active" &&
    position.startDate <= today &&
    (position.endDate === null || position.endDate >= today)
  );
}

/**
 * The one projection of a profile for an audience, used by the CIM pages, the CIM API and the
 * CSV reports: a field the audience may not see is absent (never blanked), and so is any key
 * that is not a known field, so that a new field stays hidden until the data names who sees it.
 */
export function projectProfile<View extends ProfileView>(audience: Audience, profile: View): Partial<View> {
  const seen = fieldsSeenBy(audience);
  const today = todayIso();
  const projected: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(profile)) {
    if (key === "positions" && !seen.has("positions")) {
      if (seen.has("currentPositions") && Array.isArray(value))
        projected[key] = (value as PositionEntry[]).filter((position) => isCurrent(position, today));
      continue;
    }
    if (seen.has(key as ProfileField)) projected[key] = value;
  }
  return projected as Partial<View>;
}

/** Each person's audience when this viewer looks at them. */
export async function audiencesFor(
  queryable: Queryable,
  viewerUuid: string,
  uuids: readonly string[],
): Promise<Map<string, Audience>> {
  const roles = await rolesCovering(queryable, viewerUuid, uuids);
  if (!roles) throw new ForbiddenError("Only a person with an active Care Identity profile may do this");
  return new Map(
    [...roles].map(([uuid, covering]) => [uuid, { self: uuid === viewerUuid, roles: covering }]),
  );
}

const criterionNames: Record<SearchCriterion, string> = {
  name: "name",
  uuid: "UUID",
  odsCode: "organisation",
  email: "email address",
  niNumber: "National Insurance number",
  dateOfBirth: "date of birth",
};

/** The RA roles that see every one of these fields wherever their scope covers a person. */
function rolesSeeing(fields: readonly ProfileField[]): RaRole[] {
  return (Object.keys(fieldsFile.raRoles) as RaRole[]).filter((role) =>
    fields.every((field) => fieldsFile.raRoles[role].includes(field)),
  );
}

/** The search criteria a viewer may use: those whose field everyone, or one of their roles, sees. */
export function criteriaFor(holdings: readonly RaHolding[]): SearchCriterion[] {
  const held = new Set(holdings.map((holding) => holding.role));
  return (Object.keys(fieldsFile.searchBy) as SearchCriterion[]).filter((criterion) => {
    const field = fieldsFile.searchBy[criterion];
    return fieldsFile.everyoneSignedIn.includes(field) || rolesSeeing([field]).some((role) => held.has(role));
  });
}

/**
 * Where a search by these criteria may find people: everywhere ("*") when every criterion is a
 * field everyone sees; otherwise the organisations (and those below) of the viewer's roles that
 * see every such field. Refused, naming the criterion, when no role of the viewer's sees it.
 */
export async function searchReach(
  queryable: Queryable,
  viewerUuid: string,
  criteria: readonly SearchCriterion[],
): Promise<string[]> {
  const everyone = new Set(fieldsFile.everyoneSignedIn);
  const restricted = criteria
    .map((criterion) => fieldsFile.searchBy[criterion])
    .filter((field) => !everyone.has(field));
  if (restricted.length === 0) return ["*"];
  const reach = await reachOf(queryable, viewerUuid, rolesSeeing(restricted));
  if (reach.length === 0) {
    const refused = criteria.find((criterion) => !everyone.has(fieldsFile.searchBy[criterion]));
    throw new ForbiddenError(
      `Only RA staff whose role covers a person may search by ${criterionNames[refused as SearchCriterion]}`,
    );
  }
  return reach;
}
