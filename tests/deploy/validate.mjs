// Validates every object in the Kubernetes manifests of a directory against
// the API's OpenAPI schema, as bundled with kubernetes-models (no network):
// wrong types, missing required fields and unknown enum values fail.
//
//   node validate.mjs DIR
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const models = {
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "v1/Service": "kubernetes-models/v1/Service",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "autoscaling/v2/HorizontalPodAutoscaler":
    "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
};

const dir = process.argv[2];
let failed = 0, checked = 0;
for (const name of readdirSync(dir).sort()) {
  if (!name.endsWith(".yaml") || name === "kustomization.yaml") continue;
  for (const doc of parseAllDocuments(readFileSync(join(dir, name), "utf8"))) {
    if (doc.errors.length) {
      console.log(`FAIL ${name}: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const obj = doc.toJSON();
    if (obj === null) continue;
    const kind = `${obj.apiVersion}/${obj.kind}`;
    const path = models[kind];
    if (path === undefined) {
      console.log(`FAIL ${name}: no schema here for ${kind}`);
      failed++;
      continue;
    }
    const mod = await import(path);
    try {
      new mod[obj.kind](obj).validate();
      checked++;
    } catch (e) {
      console.log(`FAIL ${name}: ${kind}: ${e.message}`);
      failed++;
    }
  }
}
if (checked === 0) {
  console.log("FAIL: no objects found");
  failed++;
}
console.log(failed ? `k8s schemas: ${failed} failed` : `k8s schemas: ${checked} objects ok`);
process.exit(failed ? 1 : 0);
