#!/usr/bin/env node
// Validates glTF/GLB files with the Khronos glTF validator (npm package `gltf-validator`) and
// prints one JSON line per file: {"file", "numErrors", "numWarnings", "numInfos", "messages"}.
// Exit status: 0 when no file has errors, 1 otherwise, 2 when the validator is not installed.
//
// The validator is looked up in $SPROUT_GLTF_VALIDATOR_DIR (an `npm install --prefix` folder),
// then ~/.cache/sprout/npm; scripts/test installs it there:
//   npm install --prefix ~/.cache/sprout/npm gltf-validator@2.0.0-dev.3.10
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const dirs = [process.env.SPROUT_GLTF_VALIDATOR_DIR, join(homedir(), '.cache', 'sprout', 'npm')]
  .filter(Boolean);
let validator = null;
for (const dir of dirs) {
  try {
    validator = createRequire(join(dir, 'package.json'))('gltf-validator');
    break;
  } catch {
    // try the next folder
  }
}
if (!validator) {
  console.error(`gltf-validator not found in ${dirs.join(', ')}`);
  process.exit(2);
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), {
    uri: file,
    maxIssues: 100,
  });
  const issues = report.issues;
  failed ||= issues.numErrors > 0;
  console.log(JSON.stringify({
    file,
    validatorVersion: report.validatorVersion,
    numErrors: issues.numErrors,
    numWarnings: issues.numWarnings,
    numInfos: issues.numInfos,
    messages: issues.messages,
  }));
}
process.exit(failed ? 1 : 0);
