// Validate an OpenAPI document (a file) against the OpenAPI 3.x schema with
// an independent validator; exit 0 when valid, 1 with the errors printed.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.error(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
console.log(`valid OpenAPI ${validator.version}`);
