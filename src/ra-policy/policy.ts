import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { ForbiddenError } from "../errors.ts";
import { findPersonSummary } from "../people/people.ts";
import { organisationLineage, organisationsBelow } from "../rbac/organisations.ts";
import type { Queryable } from "../store/database.ts";

/**
 * The Registration Authority policy: who may do which RA action to whom (ra-roles.json), the
 * four-eyes rule (fourEyes), where an actor's RA roles reach, and decide(), which every action
 * asks. Its own folder, below registration, apply and authenticators, because each of them asks
 * it (a card action as much as a profile change). Over 400 lines because the rule is read as a
 * whole: a reader checking why an action is allowed or refused should find every condition here.
 */

export type RegistrationAction =
  | "profile.find"
  | "profile.create"
  | "profile.change-details"
  | "profile.change-own-contact"
  | "profile.close"
  | "profile.reopen"
  | "smartcard.issue"
  | "smartcard.repair"
  | "smartcard.clear"
  | "smartcard.cancel"
  | "smartcard.renew-expired"
  | "smartcard.unlock"
  | "smartcard.renew-near-expiry"
  | "authenticator.issue"
  | "authenticator.remove"
  | "authenticator.register-own"
  | "position.assign"
  | "position.edit-dates"
  | "position.remove"
  | "position.define"
  | "position.choose-sponsor-assignable"
  | "request.decide"
  | "position.batch-assign"
  | "workgroup.manage"
  | "organisation.manage"
  | "report.run"
  | "apply.invite"
  | "apply.review";

export type RaRole = "RAM" | "RAA_ADVANCED" | "RAA" | "SPONSOR" | "ID_CHECKER" | "LSA";

export type ReportKind =
  | "users"
  | "requests"
  | "positions"
  | "authenticators"
  | "smartcards"
  | "applications";

export type Decision =
  | {
      allowed: true;
      /** OPERATOR: the operator at the command line, for the few actions acting.ts grants them. */
      role: RaRole | "SELF" | "SIGNED_IN" | "OPERATOR";
      /** The role profile id of the position the actor acts in. */
      position?: string;
      /** Allowed only as a request for an approver, not as a direct change. */
      byRequest?: boolean;
    }
  | { allowed: false; reason: string };

/** A person (their organisations count), an organisation (ODS), a position definition, a report. */
export type PolicyTarget = { uuid?: string; ods?: string; positionDefinition?: string; report?: ReportKind };

type Holder = { role: RaRole; rank: number; jobRoles: string[]; activities: string[]; national?: boolean };
type Capability = {
  direct: RaRole[];
  whenAssignable?: RaRole[];
  byRequest?: RaRole[];
  reports?: Partial<Record<RaRole, ReportKind[]>>;
  /** Only a national holding (R5072) may: changes to the organisations themselves. */
  nationalOnly?: boolean;
};
type RaRolesFile = {
  holders: Holder[];
  everyoneSignedIn: RegistrationAction[];
  self: RegistrationAction[];
  actions: Partial<Record<RegistrationAction, Capability>>;
};

const raRoles: RaRolesFile = JSON.parse(
  readFileSync(new URL("./data/ra-roles.json", import.meta.url), "utf8"),
);

export const registrationActions: readonly RegistrationAction[] = [
  ...raRoles.everyoneSignedIn,
  ...raRoles.self,
  ...(Object.keys(raRoles.actions) as RegistrationAction[]),
];

export const raRoleNames: Record<RaRole, string> = {
  RAM: "RA manager",
  RAA_ADVANCED: "advanced RA agent",
  RAA: "RA agent",
  SPONSOR: "sponsor",
  ID_CHECKER: "RA ID checker",
  LSA: "local smartcard administrator",
};

/**
 * What the four-eyes rule says to an action done to oneself; absent where it allows it (finding,
 * changing one's own contact details). Deciding a request has two cases of its own below.
 */
const notOnYourself: Partial<Record<RegistrationAction, string>> = {
  "position.assign": "Nobody may grant or change their own positions",
  "position.edit-dates": "Nobody may grant or change their own positions",
  "position.remove": "Nobody may grant or change their own positions",
  "position.batch-assign": "Nobody may grant a position to themselves",
  "profile.close": "Nobody may close or reopen their own profile",
  "profile.reopen": "Nobody may close or reopen their own profile",
};

/** One RA action as the four-eyes rule sees it. */
export type FourEyesCase = {
  action: RegistrationAction;
  actorUuid: string;
  /** The person the action changes, or the person a request is about. */
  subjectUuid?: string;
  /** Who made the request, when the action decides one. */
  requestedBy?: string | null;
  /** The highest RA rank the action grants, and the rank the actor acts with. */
  grants?: { rank: number; actorRank: number; actorRole?: RaRole };
};

/**
 * The four-eyes rule: a second person is needed to change one's own positions or profile, to
 * decide a request one made or one about oneself, and to grant an RA role at or above one's own
 * rank. The refusal's reason, or undefined when the rule allows the action.
 */
export function fourEyes(check: FourEyesCase): string | undefined {
  const self = check.subjectUuid !== undefined && check.subjectUuid === check.actorUuid;
  if (check.action === "request.decide") {
    if (check.requestedBy === check.actorUuid) return "Nobody may approve or reject their own request";
    if (self) return "Nobody may decide a request about themselves";
  } else if (self && notOnYourself[check.action]) return notOnYourself[check.action];
  if (check.grants && check.grants.rank >= check.grants.actorRank) {
    const role = check.grants.actorRole;
    return `Nobody may grant an RA role at or above their own level${role ? ` (you act as ${raRoleNames[role]})` : ""}`;
  }
  return undefined;
}

/** One RA role the actor holds through one of their current positions. */
export type RaHolding = {
  role: RaRole;
  rank: number;
  odsCode: string;
  national: boolean;
  roleProfileId: string;
};

function holdersOf(jobRole: string, activities: readonly string[]): Holder[] {
  return raRoles.holders.filter(
    (holder) =>
      holder.jobRoles.includes(jobRole) ||
      holder.activities.some((activity) => activities.includes(activity)),
  );
}

/**
 * The highest RA rank an access (job role and activities, baseline included) would give: 0 for
 * none. Four-eyes compares it with the granter's own rank.
 */
function raRankOf(jobRole: string, activities: readonly string[]): number {
  return Math.max(0, ...holdersOf(jobRole, activities).map((holder) => holder.rank));
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * The RA roles a person holds today, highest rank first, or undefined when they have no active
 * profile. A role comes from a current position's job role or from an activity it carries
 * (added or in the job role's baseline).
 */
export async function raHoldings(queryable: Queryable, uuid: string): Promise<RaHolding[] | undefined> {
  if (!(await hasActiveProfile(queryable, uuid))) return undefined;
  return holdingsOf(queryable, uuid);
}

async function hasActiveProfile(queryable: Queryable, uuid: string): Promise<boolean> {
  return (await findPersonSummary(queryable, uuid))?.status === "active";
}

async function holdingsOf(queryable: Queryable, uuid: string): Promise<RaHolding[]> {
  const date = today();
  const positions = await queryable
    .selectFrom("positions as p")
    .select([
      "p.role_profile_id",
      "p.ods_code",
      "p.job_role_code",
      sql<
        string[]
      >`p.added_activity_codes || ARRAY(SELECT b.activity_code FROM baseline_activities b WHERE b.job_role_code = p.job_role_code)`.as(
        "activities",
      ),
    ])
    .where("p.uuid", "=", uuid)
    .where("p.status", "=", "active")
    .where("p.start_date", "<=", date)
    .where((eb) => eb.or([eb("p.end_date", "is", null), eb("p.end_date", ">=", date)]))
    .execute();
  const holdings = positions.flatMap((position) =>
    holdersOf(position.job_role_code, position.activities).map((holder) => ({
      role: holder.role,
      rank: holder.rank,
      odsCode: position.ods_code,
      national: holder.national === true,
      roleProfileId: position.role_profile_id,
    })),
  );
  return holdings.sort((a, b) => b.rank - a.rank || a.roleProfileId.localeCompare(b.roleProfileId));
}

/**
 * The organisations whose RA staff have authority over a person: those of their positions that
 * have not ended (all of them once the profile is closed, so it can be reopened), and the
 * organisation whose RA registered them.
 */
async function organisationsOfPerson(queryable: Queryable, uuid: string): Promise<string[]> {
  return (await organisationsOfPeople(queryable, [uuid])).get(uuid) ?? [];
}

/** organisationsOfPerson() for many people in one query. */
async function organisationsOfPeople(
  queryable: Queryable,
  uuids: readonly string[],
): Promise<Map<string, string[]>> {
  const result = await sql<{ uuid: string; ods_code: string }>`
    SELECT p.uuid, p.ods_code FROM positions p JOIN people person ON person.uuid = p.uuid
     WHERE p.uuid = ANY(${uuids}::text[]) AND (p.status = 'active' OR person.status = 'closed')
    UNION
    SELECT uuid, registering_ods_code FROM people
     WHERE uuid = ANY(${uuids}::text[]) AND registering_ods_code IS NOT NULL`.execute(queryable);
  const places = new Map<string, string[]>(uuids.map((uuid) => [uuid, []]));
  for (const row of result.rows) places.get(row.uuid)?.push(row.ods_code);
  for (const codes of places.values()) codes.sort();
  return places;
}

/**
 * The RA roles an actor holds whose scope covers each of these people, by the rule decide()
 * applies (a holding at one of the person's organisations or above it, or a national one); empty
 * for someone with no RA role; undefined when the actor has no active profile. What a viewer
 * sees of a profile follows from these roles.
 */
export async function rolesCovering(
  queryable: Queryable,
  actorUuid: string,
  uuids: readonly string[],
): Promise<Map<string, RaRole[]> | undefined> {
  const holdings = await raHoldings(queryable, actorUuid);
  if (!holdings) return undefined;
  const roles = new Map<string, RaRole[]>(uuids.map((uuid) => [uuid, []]));
  if (holdings.length === 0 || uuids.length === 0) return roles;
  const places = await organisationsOfPeople(queryable, uuids);
  const lineages = new Map<string, string[]>();
  for (const code of new Set([...places.values()].flat()))
    lineages.set(code, await organisationLineage(queryable, code));
  for (const [uuid, codes] of places) {
    const personLineages = codes.map((code) => lineages.get(code) ?? [code]);
    const covering = holdings.filter((holding) => covers(holding, personLineages));
    roles.set(uuid, [...new Set(covering.map((holding) => holding.role))]);
  }
  return roles;
}

/**
 * Where an actor's roles among these reach: the organisation codes of those holdings ("*" when
 * one is national). A search by a field only some roles see is confined to these and below.
 */
export async function reachOf(
  queryable: Queryable,
  actorUuid: string,
  roles: readonly RaRole[],
): Promise<string[]> {
  const holdings = ((await raHoldings(queryable, actorUuid)) ?? []).filter((holding) =>
    roles.includes(holding.role),
  );
  return holdings.some((holding) => holding.national)
    ? ["*"]
    : [...new Set(holdings.map((holding) => holding.odsCode))];
}

/**
 * A condition on a query over people: one of the person's organisations (as organisationsOfPerson
 * counts them) is among these or below them. "*" stands for all; none matches nobody.
 */
export function personWithin(organisations: string[]) {
  return sql<boolean>`(
    EXISTS (SELECT 1 FROM positions p
             WHERE p.uuid = people.uuid AND (p.status = 'active' OR people.status = 'closed')
               AND p.ods_code IN (${organisationsBelow(organisations)}))
    OR people.registering_ods_code IN (${organisationsBelow(organisations)}))`;
}

type Scope = { ods?: string; lineages: string[][]; definitionRank: number; assignableByActor: boolean };

async function scopeOf(
  queryable: Queryable,
  actorUuid: string,
  target: PolicyTarget,
): Promise<Scope | { refused: string }> {
  let ods = target.ods;
  let definitionRank = 0;
  let assignableByActor = false;
  if (target.positionDefinition) {
    const definition = await queryable
      .selectFrom("position_definitions")
      .select(["ods_code", "access_profiles"])
      .where("id", "=", target.positionDefinition)
      .executeTakeFirst();
    if (!definition) return { refused: `No position definition has id ${target.positionDefinition}` };
    if (ods && ods !== definition.ods_code)
      return {
        refused: `Position ${target.positionDefinition} is defined at ${definition.ods_code}, not ${ods}`,
      };
    ods = definition.ods_code;
    definitionRank = await definitionRaRank(queryable, definition.access_profiles);
    const assignable = await queryable
      .selectFrom("sponsor_assignable_positions")
      .select("sponsor_uuid")
      .where("position_definition_id", "=", target.positionDefinition)
      .where("sponsor_uuid", "=", actorUuid)
      .executeTakeFirst();
    assignableByActor = assignable !== undefined;
  }
  const places = ods ? [ods] : target.uuid ? await organisationsOfPerson(queryable, target.uuid) : undefined;
  const lineages = places
    ? await Promise.all(places.map((place) => organisationLineage(queryable, place)))
    : [["*"]];
  return { ods, lineages, definitionRank, assignableByActor };
}

/** The highest RA rank that assigning a position definition would give. */
export async function definitionRaRank(
  queryable: Queryable,
  accessProfiles: { jobRole: string; activities: string[] }[],
): Promise<number> {
  let rank = 0;
  for (const profile of accessProfiles) {
    const baseline = await queryable
      .selectFrom("baseline_activities")
      .select("activity_code")
      .where("job_role_code", "=", profile.jobRole)
      .execute();
    const activities = [...profile.activities, ...baseline.map((row) => row.activity_code)];
    rank = Math.max(rank, raRankOf(profile.jobRole, activities));
  }
  return rank;
}

function covers(holding: RaHolding, lineages: string[][]): boolean {
  return (
    holding.national || lineages.some((lineage) => lineage[0] === "*" || lineage.includes(holding.odsCode))
  );
}

/** How a role may do an action: directly, only as a request, or not at all. */
function wayFor(
  capability: Capability,
  role: RaRole,
  scope: Scope,
  report: ReportKind | undefined,
): "direct" | "request" | undefined {
  const reports = capability.reports?.[role];
  if (report && reports && !reports.includes(report)) return undefined;
  if (capability.direct.includes(role)) return "direct";
  if (capability.whenAssignable?.includes(role) && scope.assignableByActor) return "direct";
  if (capability.byRequest?.includes(role)) return "request";
  return undefined;
}

/** What deciding needs to know about an actor and a target, each loaded at most once. */
type Facts = {
  active: () => Promise<boolean>;
  holdings: () => Promise<RaHolding[]>;
  scope: () => Promise<Scope | { refused: string }>;
};

function factsAbout(queryable: Queryable, actorUuid: string, target: PolicyTarget): Facts {
  let active: Promise<boolean> | undefined;
  let holdings: Promise<RaHolding[]> | undefined;
  let scope: Promise<Scope | { refused: string }> | undefined;
  return {
    active: () => (active ??= hasActiveProfile(queryable, actorUuid)),
    holdings: () => (holdings ??= holdingsOf(queryable, actorUuid)),
    scope: () => (scope ??= scopeOf(queryable, actorUuid, target)),
  };
}

/** May this actor do this action to this target? */
export async function decide(
  queryable: Queryable,
  actorUuid: string,
  action: RegistrationAction,
  target: PolicyTarget,
): Promise<Decision> {
  return decideWith(factsAbout(queryable, actorUuid, target), actorUuid, action, target);
}

/** decide() for several actions on one target, loading the actor's holdings and the scope once. */
export async function decideEach(
  queryable: Queryable,
  actorUuid: string,
  actions: readonly RegistrationAction[],
  target: PolicyTarget,
): Promise<Decision[]> {
  const facts = factsAbout(queryable, actorUuid, target);
  const decisions: Decision[] = [];
  for (const action of actions) decisions.push(await decideWith(facts, actorUuid, action, target));
  return decisions;
}

async function decideWith(
  facts: Facts,
  actorUuid: string,
  action: RegistrationAction,
  target: PolicyTarget,
): Promise<Decision> {
  if (!registrationActions.includes(action)) return { allowed: false, reason: `Unknown action ${action}` };
  if (!(await facts.active()))
    return { allowed: false, reason: "Only a person with an active Care Identity profile may do this" };
  if (raRoles.everyoneSignedIn.includes(action)) return { allowed: true, role: "SIGNED_IN" };
  if (raRoles.self.includes(action)) {
    if (target.uuid && target.uuid !== actorUuid)
      return { allowed: false, reason: "This can only be done to your own profile" };
    return { allowed: true, role: "SELF" };
  }
  const holdings = await facts.holdings();
  const onYourself = fourEyes({ action, actorUuid, subjectUuid: target.uuid });
  if (onYourself) return { allowed: false, reason: onYourself };
  const capability = raRoles.actions[action] as Capability;
  const scope = await facts.scope();
  if ("refused" in scope) return { allowed: false, reason: scope.refused };
  const inScope = holdings.filter(
    (holding) => covers(holding, scope.lineages) && (!capability.nationalOnly || holding.national),
  );
  const granting = action === "position.assign" || action === "position.batch-assign";
  let byRequest: RaHolding | undefined;
  let tooLow: string | undefined;
  for (const holding of inScope) {
    let way = wayFor(capability, holding.role, scope, target.report);
    const grants = { rank: scope.definitionRank, actorRank: holding.rank, actorRole: holding.role };
    const rankRefusal = granting && way === "direct" ? fourEyes({ action, actorUuid, grants }) : undefined;
    if (rankRefusal) {
      tooLow ??= rankRefusal;
      way = capability.byRequest?.includes(holding.role) ? "request" : undefined;
    }
    if (!way) continue;
    if (way === "direct") return { allowed: true, role: holding.role, position: holding.roleProfileId };
    byRequest ??= holding;
  }
  if (byRequest)
    return { allowed: true, role: byRequest.role, position: byRequest.roleProfileId, byRequest: true };
  if (capability.nationalOnly)
    return { allowed: false, reason: "Only a national RA manager (R5072) may change organisations" };
  return {
    allowed: false,
    reason: refusal(action, holdings, inScope, tooLow, { ...target, ods: scope.ods }),
  };
}

function refusal(
  action: RegistrationAction,
  holdings: RaHolding[],
  inScope: RaHolding[],
  tooLow: string | undefined,
  target: PolicyTarget,
): string {
  if (tooLow) return tooLow;
  if (holdings.length > 0 && inScope.length === 0) {
    const where = target.ods ?? (target.uuid ? `the organisations of ${target.uuid}` : "this organisation");
    return `Your RA roles do not extend to ${where}`;
  }
  if (target.report && action === "report.run")
    return `Your RA roles do not allow the ${target.report} report`;
  return `Your RA roles do not allow ${action}`;
}

/**
 * Where an actor may do an action directly: the organisation codes of their holdings that allow
 * it ("*" for a national role), with the highest rank among them. Lists and reports use it to
 * show only what the actor may act on.
 */
export async function authorityFor(
  queryable: Queryable,
  actorUuid: string,
  action: RegistrationAction,
  report?: ReportKind,
): Promise<{ organisations: string[]; rank: number }> {
  const capability = raRoles.actions[action];
  const holdings = capability ? ((await raHoldings(queryable, actorUuid)) ?? []) : [];
  const allowing = holdings.filter((holding) => {
    if (!capability?.direct.includes(holding.role)) return false;
    const reports = capability.reports?.[holding.role];
    return !report || !reports || reports.includes(report);
  });
  const organisations = allowing.some((holding) => holding.national)
    ? ["*"]
    : [...new Set(allowing.map((holding) => holding.odsCode))];
  return { organisations, rank: Math.max(0, ...allowing.map((holding) => holding.rank)) };
}

/** decide(), throwing ForbiddenError with the reason when refused. */
export async function authorise(
  queryable: Queryable,
  actorUuid: string,
  action: RegistrationAction,
  target: PolicyTarget,
): Promise<Extract<Decision, { allowed: true }>> {
  const decision = await decide(queryable, actorUuid, action, target);
  if (!decision.allowed) throw new ForbiddenError(decision.reason);
  return decision;
}
