import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { settings } from "../src/config.ts";
import { commands } from "../src/main.ts";

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
