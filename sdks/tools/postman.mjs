// Writes the Postman collection of an OpenAPI document with openapi-to-postmanv2, the same for
// the same document: the converter fakes example values with Math.random and gives items random
// ids, so random numbers come from a fixed seed and the ids (Postman makes new ones on import)
// are dropped.
//   node postman.mjs <node_modules folder> <openapi.json> <collection.json>
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [modules, input, output] = process.argv.slice(2);

// mulberry32: a small seeded generator, enough for example values.
let seed = 20261207;
Math.random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const require = createRequire(join(modules, "noop.js"));
const converter = require("openapi-to-postmanv2");
const randomIds = new Set(["id", "_postman_id"]);

function stable(value) {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !randomIds.has(key))
        .map(([key, inner]) => [key, stable(inner)]),
    );
  }
  return value;
}

converter.convert(
  { type: "string", data: readFileSync(input, "utf8") },
  { folderStrategy: "Tags", parametersResolution: "Example" },
  (error, result) => {
    if (error || !result.result) {
      console.error(error ?? result.reason);
      process.exit(1);
    }
    const collection = stable(result.output[0].data);
    writeFileSync(output, `${JSON.stringify(collection, null, 2)}\n`);
  },
);
