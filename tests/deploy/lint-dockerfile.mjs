// deploy/Dockerfile through an independent Dockerfile validator
// (dockerfile-utils, the checks of the Dockerfile language server): no
// error and no warning.  A broken Dockerfile is checked first, so a
// validator that finds nothing at all fails here instead of passing.
import { validate } from 'dockerfile-utils';
import { readFileSync } from 'node:fs';

const SEVERITY = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };

function problems(text) {
	return validate(text).filter((d) => d.severity === 1 || d.severity === 2);
}

const broken = 'FROM debian:bookworm-slim AS\nRUNN true\nEXPOSE port\nUSER\n';
if (problems(broken).length < 3) {
	console.error('the Dockerfile validator found too little in a broken file');
	process.exit(1);
}
const path = process.argv[2];
const found = problems(readFileSync(path, 'utf8'));
for (const d of found)
	console.error(`${path}:${d.range.start.line + 1}: ${SEVERITY[d.severity]}: ${d.message}`);
if (found.length > 0)
	process.exit(1);
console.log(`${path}: no problems`);
