import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { classAttributes, type SdsObjectClass, sdsAttributeNames, sdsObjectClasses } from "./attributes.ts";
import { organisationSource } from "./organisation-entries.ts";
import { orgPersonSource, personSource } from "./people-entries.ts";
import { accreditedSystemSource, messagingEndpointSource } from "./service-entries.ts";
import type { EntrySource } from "./source.ts";

// sds.schema is what slapd loads; attributes.ts's table is what this server publishes and
// matches by. The two must name the same attributes and classes, so both servers answer alike.
const schema = readFileSync(new URL("./sds.schema", import.meta.url), "utf8");

function list(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .replace(/[()]/g, "")
    .split("$")
    .map((name) => name.trim())
    .filter(Boolean);
}

test("sds.schema defines exactly the SDS attributes the server matches", () => {
  const defined = [...schema.matchAll(/^attributetype \(\s*\S+\s+NAME '([^']+)'/gm)].map((match) => match[1]);
  assert.deepEqual([...defined].sort(), [...sdsAttributeNames].sort());
});

test("sds.schema's object classes must and may have what attributes.ts says", () => {
  const classes = [
    ...schema.matchAll(
      /^objectclass \(\s*\S+\s+NAME '([^']+)'[\s\S]*?MUST (\([^)]*\)|\S+)\s+MAY (\([^)]*\)|\S+)/gm,
    ),
  ].map((match) => ({ name: match[1], must: list(match[2]), may: list(match[3]) }));
  assert.deepEqual(
    classes.map((entry) => entry.name),
    Object.keys(sdsObjectClasses),
  );
  for (const entry of classes) {
    const expected = sdsObjectClasses[entry.name as SdsObjectClass];
    assert.deepEqual(entry.must, [...expected.must], `${entry.name} MUST`);
    assert.deepEqual(entry.may, [...expected.may], `${entry.name} MAY`);
  }
});

test("every entry source publishes only what its object class allows", () => {
  const sources: EntrySource[] = [
    personSource,
    orgPersonSource,
    organisationSource,
    accreditedSystemSource,
    messagingEndpointSource,
  ];
  for (const source of sources) {
    const objectClass = source.objectClasses.find((name) => name in sdsObjectClasses) as SdsObjectClass;
    assert.ok(objectClass, `${source.name} has an SDS object class`);
    const allowed = classAttributes(objectClass);
    const extra = source.attributes.filter((name) => !allowed.includes(name));
    assert.deepEqual(extra, [], `${source.name} publishes attributes ${objectClass} does not allow`);
  }
});
