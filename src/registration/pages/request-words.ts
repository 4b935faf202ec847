import type { RegistrationAction } from "../../ra-policy/policy.ts";
import { longDate } from "../../web/wording.ts";
import type { RegistrationRequest } from "../requests.ts";
import type { Names } from "./names.ts";

/** What a request asks for, as its approver reads it. */
const actionWords: Partial<Record<RegistrationAction, string>> = {
  "position.assign": "Assign a position",
  "position.edit-dates": "Change the dates of a position",
  "position.remove": "Remove a position",
  "profile.change-details": "Change personal details",
  "profile.close": "Close the profile",
  "profile.reopen": "Reopen the profile",
};

export function requestedAction(action: string): string {
  return actionWords[action as RegistrationAction] ?? action;
}

/** The labels the request's details have on the forms they came from. */
const detailLabels: Record<string, string> = {
  startDate: "Start date",
  endDate: "End date",
  assignmentId: "Assignment",
  title: "Title",
  givenName: "Given name",
  middleNames: "Middle names",
  familyName: "Family name",
  dateOfBirth: "Date of birth",
  niNumber: "National Insurance number",
  email: "Email address",
  mobile: "Mobile",
};

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

function valueWords(field: string, value: unknown): string {
  if (value === null || value === undefined || value === "")
    return field === "endDate" ? "No end date" : "None";
  if (typeof value === "string" && isoDate.test(value)) return longDate(value);
  if (Array.isArray(value)) return value.map((item) => valueWords(field, item)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A request's details as rows of the summary list: labels, not field names; dates in words. */
export function requestDetailRows(request: RegistrationRequest): { key: string; value: string }[] {
  const details = { ...request.details };
  // A change of details carries its changes in one object: each is a row of its own.
  const changes =
    details.changes && typeof details.changes === "object"
      ? (details.changes as Record<string, unknown>)
      : {};
  delete details.changes;
  // In the order of the forms' labels (start before end), then anything else.
  const order = Object.keys(detailLabels);
  const rank = (field: string) => (order.includes(field) ? order.indexOf(field) : order.length);
  const entries = [...Object.entries(details), ...Object.entries(changes)];
  return entries
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([field, value]) => ({
      key: detailLabels[field] ?? field,
      value: valueWords(field, value),
    }));
}

/** "Assign a position: Ward nurse at Riverside General (RZZ)", one line for a worklist row. */
export function requestSummary(request: RegistrationRequest, names: Names): string {
  const what = requestedAction(request.action);
  if (!request.positionDefinitionId) return what;
  return `${what}: ${names.definition(request.positionDefinitionId)} at ${names.organisation(request.odsCode)}`;
}

/** The codes a list of requests needs named. */
export function codesOfRequests(requests: RegistrationRequest[]) {
  return {
    people: requests.flatMap((request) => [request.subjectUuid, request.requestedBy, request.decidedBy]),
    organisations: requests.map((request) => request.odsCode),
    definitions: requests.map((request) => request.positionDefinitionId),
  };
}
