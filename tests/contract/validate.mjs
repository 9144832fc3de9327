// Holds the server to its contract: every answer the integration tests received (one JSON line
// each, written by tests/support/test_env.cpp under CITYGUARD_CONTRACT_DIR) must be one that
// docs/openapi.json allows: a declared operation, a declared status (or its 4XX/5XX range), the
// declared content type, and a JSON body valid against the response schema (Ajv, JSON Schema
// 2020-12 as OpenAPI 3.1 uses). Dashboard files are not part of the API and are skipped; an
// unknown /api/ path may only answer 404/405 with the error body.
//   node validate.mjs DIR      exit status 1 when any answer breaks the contract
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const doc = JSON.parse(readFileSync(join(here, "../../docs/openapi.json"), "utf8"));
const dir = process.argv[2];
if (!dir) throw new Error("usage: node validate.mjs DIR");

const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
ajv.addSchema({ $id: "openapi", components: doc.components }, "openapi");
const compiled = new Map();
function validator(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) {
    // Schemas refer to #/components/...: resolve them inside the document's components.
    const text = key.replaceAll('"#/components/', '"openapi#/components/');
    compiled.set(key, ajv.compile(JSON.parse(text)));
  }
  return compiled.get(key);
}
function resolve(obj) {
  while (obj && obj.$ref) obj = obj.$ref.split("/").slice(1).reduce((o, k) => o[k], doc);
  return obj;
}

// Templates with fewer parameters first, so /resources/nearby wins over /resources/{id}.
const templates = Object.keys(doc.paths)
  .map((p) => ({ path: p, parts: p.split("/"), params: (p.match(/\{/g) || []).length }))
  .sort((a, b) => a.params - b.params);
// The most literal template that matches the path and has the method (PUT /resources/nearby is
// PUT /resources/{id}, which refuses the reserved id), else the most literal that matches at all.
function findPath(path, method) {
  const parts = path.split("/");
  const matching = templates.filter((t) => t.parts.length === parts.length &&
    t.parts.every((s, i) => (s.startsWith("{") ? parts[i].length > 0 : s === parts[i])));
  const withMethod = matching.find((t) => doc.paths[t.path][method]);
  return (withMethod || matching[0] || {}).path || null;
}

const errorSchema = doc.components.schemas.Error;
const failures = [];
const seen = new Map();
let checked = 0, skipped = 0;
function fail(x, why) {
  if (failures.length < 50) failures.push(`${x.method} ${x.target} -> ${x.status}: ${why}\n    body: ${String(x.body).slice(0, 300)}`);
  else failures.push(null);
}
function checkJson(x, schema) {
  let body;
  try { body = JSON.parse(x.body); } catch { return fail(x, "the body is not JSON"); }
  const v = validator(schema);
  if (!v(body)) fail(x, "does not match the schema: " + ajv.errorsText(v.errors));
}

for (const file of readdirSync(dir).filter((f) => f.endsWith(".jsonl"))) {
  for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
    if (!line.trim()) continue;
    const x = JSON.parse(line);
    let path;
    try { path = decodeURIComponent(new URL(x.target, "http://h").pathname); } catch { path = x.target; }
    const api = path.startsWith("/api/") || ["/healthz", "/readyz", "/metrics"].includes(path);
    if (!api || path === "/api/v1/feed") { skipped++; continue; }  // dashboard files; the WebSocket feed (AsyncAPI)
    checked++;
    const isJson = (x.content_type || "").startsWith("application/json");
    const template = findPath(path, x.method.toLowerCase());
    const operation = template && doc.paths[template][x.method.toLowerCase()];
    if (!operation) {
      // No such operation: only the error answers of the router are allowed.
      if (![400, 401, 404, 405, 413, 431, 503].includes(x.status)) fail(x, "an answer for an operation the contract does not have");
      else if (isJson) checkJson(x, errorSchema);
      continue;
    }
    const key = `${x.method.toUpperCase()} ${template}`;
    seen.set(key, (seen.get(key) || 0) + 1);
    const declared = operation.responses[String(x.status)] || operation.responses[`${String(x.status)[0]}XX`] || operation.responses.default;
    if (!declared) { fail(x, "a status the contract does not declare for this operation"); continue; }
    const response = resolve(declared);
    if (!response.content) {
      if (x.body.length > 0) fail(x, "a body where the contract declares none");
      continue;
    }
    const type = (x.content_type || "").split(";")[0].trim();
    const media = response.content[type];
    if (!media) { fail(x, `content type '${x.content_type}', declared: ${Object.keys(response.content).join(", ")}`); continue; }
    if (type === "application/json") checkJson(x, media.schema);
    if ((x.status === 503 || x.status === 429) && !x.retry_after) fail(x, "a 503 or 429 without Retry-After");
  }
}

const operations = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
const untested = operations.filter((o) => !seen.has(o));
console.log(`contract: ${checked} answers checked against docs/openapi.json (${skipped} dashboard/feed skipped), ` +
            `${operations.length - untested.length}/${operations.length} operations exercised`);
if (untested.length) console.log("not exercised by any test: " + untested.join(", "));
if (failures.length) {
  console.log(`\n${failures.length} answer(s) break the contract:`);
  for (const f of failures.filter(Boolean)) console.log("  " + f);
  process.exit(1);
}
