import type { CodeLists, JobRole } from "./code-lists.ts";

/**
 * A job role as national systems show it: codes and names of staff group, sub-group and
 * job role joined with colons, each name in double quotes, e.g.
 * S8000:G8000:R8001 and "Clinical":"Clinical Provision":"Nurse Access Role".
 */
export type QualifiedJobRole = { code: string; name: string; jobRoleCode: string; jobRoleName: string };

export function qualifyJobRole(lists: CodeLists, role: JobRole): QualifiedJobRole {
  const names = [lists.staffGroups.get(role.staffGroup), lists.subGroups.get(role.subGroup), role.name];
  return {
    code: `${role.staffGroup}:${role.subGroup}:${role.code}`,
    name: names.map((name) => `"${name ?? ""}"`).join(":"),
    jobRoleCode: role.code,
    jobRoleName: role.name,
  };
}

/**
 * The activities a position grants: the job role's baseline plus any an RA added, each with
 * every activity it includes, transitively (B0825 Amend Patient Demographics brings B0820 View
 * Patient Demographics). Sorted by code so equal sets compare equal.
 */
export function effectiveActivities(
  lists: CodeLists,
  jobRoleCode: string,
  added: readonly string[],
): string[] {
  const granted = new Set<string>();
  const pending = [...(lists.baseline.get(jobRoleCode) ?? []), ...added];
  while (pending.length > 0) {
    const code = pending.pop() as string;
    if (granted.has(code)) continue;
    granted.add(code);
    pending.push(...(lists.activities.get(code)?.includes ?? []));
  }
  return [...granted].sort();
}
