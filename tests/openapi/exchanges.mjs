// Check the requests and answers a test module recorded against an OpenAPI
// 3.0 document, with Ajv as the JSON Schema validator:
//   node exchanges.mjs openapi.json exchanges.json
// Every request the API accepted (2xx) must be one the document allows: its
// JSON body valid against the operation's requestBody schema, its query
// parameters declared, the required ones present.  Every answer's JSON body
// must be valid against the schema of its status.  Prints a summary as
// JSON; exit 1 with the failures when one rule is broken.
import { readFileSync } from "node:fs";
import Ajv from "ajv";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const seen = JSON.parse(readFileSync(process.argv[3], "utf8"));
const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new Map();

// A $ref into the document, followed.
function deref(x) {
  while (x && x.$ref) {
    x = x.$ref.slice(2).split("/").reduce((o, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  }
  return x;
}

// Validate v against a schema of the document (its refs resolve against the document's root).
function check(schema, v) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile({ allOf: [schema], components: doc.components }));
  const f = compiled.get(key);
  return f(v) ? null : f.errors;
}

function jsonSchemaOf(content) {
  const c = content && content["application/json"];
  return c ? c.schema : undefined;
}

const failures = [];
const stats = { requests_checked: 0, answers_checked: 0, refused_and_invalid: 0 };
for (const x of seen) {
  const item = doc.paths[x.template];
  const op = item && item[x.method.toLowerCase()];
  if (!op) continue;
  const where = `${x.method} ${x.path}?${x.query} -> ${x.status}`;
  // the request
  const problems = [];
  const params = [...(item.parameters || []), ...(op.parameters || [])].map(deref)
    .filter((p) => p.in === "query");
  const q = new URLSearchParams(x.query);
  for (const p of params) {
    const vals = q.getAll(p.name);
    if (p.required && vals.length === 0) problems.push(`query ${p.name} missing`);
    for (const v of vals) {
      const err = check(p.schema || {}, v);
      if (err) problems.push(`query ${p.name}: ${JSON.stringify(err)}`);
    }
  }
  for (const name of q.keys()) {
    if (!params.some((p) => p.name === name)) problems.push(`query ${name} not declared`);
  }
  if (op.requestBody) {
    const rb = deref(op.requestBody);
    const schema = jsonSchemaOf(rb.content);
    let body;
    if (!(x.request_type || "").startsWith("application/json")) problems.push("body is not application/json");
    else {
      try { body = JSON.parse(x.request_body); } catch { problems.push("body is not JSON"); }
      if (body !== undefined && schema) {
        const err = check(schema, body);
        if (err) problems.push(`body: ${JSON.stringify(err)}`);
      }
    }
  }
  if (x.status >= 200 && x.status < 300) {
    stats.requests_checked++;
    if (problems.length) failures.push({ accepted_but_not_allowed: where, problems, body: x.request_body });
  } else if (x.status >= 400 && x.status < 500 && problems.length) {
    stats.refused_and_invalid++;
  }
  // the answer
  const resp = deref(op.responses[String(x.status)]);
  const schema = resp && jsonSchemaOf(resp.content);
  if (schema) {
    stats.answers_checked++;
    let body;
    try { body = JSON.parse(x.response_body); } catch {
      failures.push({ answer_not_json: where, body: x.response_body });
      continue;
    }
    const err = check(schema, body);
    if (err) failures.push({ answer_not_as_documented: where, errors: err, body });
  }
}
console.log(JSON.stringify(stats));
if (failures.length) {
  console.error(JSON.stringify(failures, null, 1));
  process.exit(1);
}
