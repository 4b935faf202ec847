import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { settings } from "../src/config.ts";
import { commands } from "../src/main.ts";
import { alwaysNeeded, type Category, categories } from "./support/prerequisites.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

test("the README opens with the two-command quick start", () => {
  assert.match(readme, /npm install && npm start\nnpm test/);
});

test("the README documents every setting the service reads", () => {
  const missing = settings.map((setting) => setting.name).filter((name) => !readme.includes(`\`${name}\``));
  assert.deepEqual(missing, []);
});

test("the README documents every command of the CLI", () => {
  const missing = Object.keys(commands).filter((name) => !readme.includes(`careid ${name}`));
  assert.deepEqual(missing, []);
});

test("the README names each test category with the Debian packages the pretest installs for it", () => {
  const rows = [
    ["(always)", alwaysNeeded] as const,
    ...(Object.keys(categories) as Category[]).map(
      (name) => [`\`${name}\``, categories[name].needs] as const,
    ),
  ];
  for (const [name, needs] of rows) {
    const row = readme.split("\n").find((line) => line.startsWith(`| ${name} |`));
    assert.ok(row, `a row for ${name}`);
    const listed = [...(row.split("|")[2] ?? "").matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    assert.deepEqual(listed, [...new Set(needs.map((need) => need.debianPackage))], name);
  }
});
