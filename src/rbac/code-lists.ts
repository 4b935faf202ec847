import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import { takeStartUpLock } from "../store/start-up-lock.ts";

/**
 * The national RBAC code lists: staff groups and sub-groups, job roles, activities with their
 * inclusions, the baseline activities of each job role, and areas of work. They are data files
 * in rbac/data, loaded into the database by `careid migrate` and read into memory once, as they
 * change only when a new release of the national lists is deployed.
 */
export type CodeListFiles = {
  staffGroups: {
    code: string;
    name: string;
    demo: boolean;
    subGroups: { code: string; name: string; demo?: boolean }[];
  }[];
  jobRoles: { code: string; name: string; staffGroup: string; subGroup: string }[];
  activities: { code: string; name: string; includes: string[]; demo: boolean }[];
  baseline: Record<string, string[]>;
  areasOfWork: { code: string; names: string[]; demo: boolean }[];
};

export type JobRole = { code: string; name: string; staffGroup: string; subGroup: string };

export type CodeLists = {
  staffGroups: Map<string, string>;
  subGroups: Map<string, string>;
  jobRoles: Map<string, JobRole>;
  activities: Map<string, { name: string; includes: string[] }>;
  baseline: Map<string, string[]>;
  areasOfWork: Map<string, string[]>;
};

const dataFiles = {
  staffGroups: "staff-groups.json",
  jobRoles: "job-roles.json",
  activities: "activities.json",
  baseline: "baseline.json",
  areasOfWork: "areas-of-work.json",
} as const;

function readDataFile(name: string): string {
  return readFileSync(new URL(`./data/${name}`, import.meta.url), "utf8");
}

export function readCodeListFiles(): { files: CodeListFiles; digest: string } {
  const hash = createHash("sha256");
  const entries = Object.entries(dataFiles).map(([key, name]) => {
    const text = readDataFile(name);
    hash.update(name).update(text);
    return [key, JSON.parse(text)];
  });
  return { files: Object.fromEntries(entries) as CodeListFiles, digest: hash.digest("hex") };
}

/**
 * Brings the database's code lists up to the files' version. Codes are added or renamed, never
 * deleted: positions granted under a retired code must still read back.
 */
export async function syncCodeLists(queryable: Queryable, actor: Actor): Promise<boolean> {
  const { files, digest } = readCodeListFiles();
  return inTransaction(queryable, async (tx) => {
    await takeStartUpLock(tx);
    const loaded = await tx
      .selectFrom("reference_data_versions")
      .select("digest")
      .where("name", "=", "rbac-code-lists")
      .executeTakeFirst();
    if (loaded?.digest === digest) return false;
    const staffGroups = files.staffGroups.map(({ code, name, demo }) => ({ code, name, demo }));
    const subGroups = files.staffGroups.flatMap((group) =>
      group.subGroups.map((sub) => ({
        code: sub.code,
        name: sub.name,
        staff_group_code: group.code,
        demo: sub.demo ?? group.demo,
      })),
    );
    const jobRoles = files.jobRoles.map((role) => ({
      code: role.code,
      name: role.name,
      staff_group_code: role.staffGroup,
      sub_group_code: role.subGroup,
    }));
    const activities = files.activities.map(({ code, name, demo }) => ({ code, name, demo }));
    await upsert(tx, "staff_groups", staffGroups, ["name", "demo"]);
    await upsert(tx, "sub_groups", subGroups, ["name", "demo", "staff_group_code"]);
    await upsert(tx, "job_roles", jobRoles, ["name", "staff_group_code", "sub_group_code"]);
    await upsert(tx, "activities", activities, ["name", "demo"]);
    await upsert(tx, "areas_of_work", files.areasOfWork, ["names", "demo"]);
    await tx.deleteFrom("activity_inclusions").execute();
    await tx.deleteFrom("baseline_activities").execute();
    const inclusions = files.activities.flatMap((activity) =>
      activity.includes.map((included) => ({ activity_code: activity.code, included_code: included })),
    );
    const baseline = Object.entries(files.baseline).flatMap(([role, codes]) =>
      codes.map((code) => ({ job_role_code: role, activity_code: code })),
    );
    if (inclusions.length > 0) await tx.insertInto("activity_inclusions").values(inclusions).execute();
    if (baseline.length > 0) await tx.insertInto("baseline_activities").values(baseline).execute();
    await tx
      .insertInto("reference_data_versions")
      .values({ name: "rbac-code-lists", digest })
      .onConflict((conflict) => conflict.column("name").doUpdateSet({ digest, loaded_at: new Date() }))
      .execute();
    await recordEvent(tx, actor, {
      action: "rbac.code-lists.loaded",
      subject: { type: "reference-data", id: "rbac-code-lists" },
      before: loaded ? { digest: loaded.digest } : undefined,
      after: {
        digest,
        jobRoles: jobRoles.length,
        activities: activities.length,
        areasOfWork: files.areasOfWork.length,
      },
    });
    return true;
  });
}

async function upsert<
  Table extends "staff_groups" | "sub_groups" | "job_roles" | "activities" | "areas_of_work",
>(queryable: Queryable, table: Table, rows: Record<string, unknown>[], updated: string[]): Promise<void> {
  if (rows.length === 0) return;
  await queryable
    .insertInto(table)
    .values(rows as never)
    .onConflict((conflict) =>
      conflict
        .column("code" as never)
        .doUpdateSet(
          Object.fromEntries(updated.map((column) => [column, sql.ref(`excluded.${column}`)])) as never,
        ),
    )
    .execute();
}

export async function readCodeLists(queryable: Queryable): Promise<CodeLists> {
  const [staffGroups, subGroups, jobRoles, activities, inclusions, baseline, areas] = await Promise.all([
    queryable.selectFrom("staff_groups").select(["code", "name"]).execute(),
    queryable.selectFrom("sub_groups").select(["code", "name"]).execute(),
    queryable.selectFrom("job_roles").selectAll().execute(),
    queryable.selectFrom("activities").select(["code", "name"]).execute(),
    queryable.selectFrom("activity_inclusions").selectAll().execute(),
    queryable.selectFrom("baseline_activities").selectAll().execute(),
    queryable.selectFrom("areas_of_work").select(["code", "names"]).execute(),
  ]);
  return {
    staffGroups: new Map(staffGroups.map((group) => [group.code, group.name])),
    subGroups: new Map(subGroups.map((group) => [group.code, group.name])),
    jobRoles: new Map(
      jobRoles.map((role) => [
        role.code,
        {
          code: role.code,
          name: role.name,
          staffGroup: role.staff_group_code,
          subGroup: role.sub_group_code,
        },
      ]),
    ),
    activities: new Map(
      activities.map((activity) => [
        activity.code,
        {
          name: activity.name,
          includes: inclusions
            .filter((row) => row.activity_code === activity.code)
            .map((row) => row.included_code),
        },
      ]),
    ),
    baseline: groupBy(
      baseline,
      (row) => row.job_role_code,
      (row) => row.activity_code,
    ),
    areasOfWork: new Map(areas.map((area) => [area.code, area.names])),
  };
}

function groupBy<Row>(
  rows: Row[],
  key: (row: Row) => string,
  value: (row: Row) => string,
): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const row of rows) groups.set(key(row), [...(groups.get(key(row)) ?? []), value(row)]);
  return groups;
}
